import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import type { Ctx } from '../context.js'
import { workspaceServiceTables } from '../core/db/table.js'
import { planCreateWorkspace, planServiceFiles, type TemplateSet } from '../core/scaffold/plan.js'
import type { PlannedFile } from '../core/scaffold/render.js'
import type { Workspace } from '../core/workspace/model.js'
import { parseWorkspace } from '../core/workspace/parse.js'
import { UserError } from '../errors.js'
import { newDevSecretFile } from '../io/dotenv.js'
import { applyPlan } from '../io/fs.js'
import { EXAMPLES_DIR, loadTemplateSet } from '../io/templates.js'
import { printPlan } from '../ui/plan.js'

/** The systems `create-service --example` writes: each a folder of examples/ (docs/create-service.md). */
export const EXAMPLES: Record<string, string> = {
  ecommerce: "the course's shop: gateway, user, product, inventory, order (a saga), payment, notification",
}

/** The name every example's msvc.yaml and files use for the workspace: replaced by the real one. */
const EXAMPLE_NAME = 'shop'

export function checkExample(name: string): void {
  if (!Object.hasOwn(EXAMPLES, name))
    throw new UserError(
      `there is no example "${name}"`,
      `known: ${Object.entries(EXAMPLES)
        .map(([n, what]) => `${n} (${what})`)
        .join('; ')}`,
    )
}

/** The example's msvc.yaml with the workspace's name, and its model. */
export function exampleModel(example: string, wsName: string): { yaml: string; ws: Workspace } {
  const text = readFileSync(join(EXAMPLES_DIR, example, 'msvc.yaml'), 'utf8')
  const yaml = text.replace(/^name: .*$/m, `name: ${wsName}`)
  const parsed = parseWorkspace(yaml)
  if (!parsed.ok)
    throw new Error(
      `the example ${example} does not parse: ${parsed.problems.map((p) => p.message).join('; ')}`,
    )
  return { yaml, ws: parsed.workspace }
}

/**
 * The example's own files (its domain rules, their tests, the load scenario, the experiment, the
 * README), with `@shop/` (its packages' scope) renamed to the workspace's.
 */
export function exampleFiles(example: string, wsName: string): PlannedFile[] {
  const root = join(EXAMPLES_DIR, example, 'files')
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => {
      const full = join(e.parentPath, e.name)
      const text = readFileSync(full, 'utf8').replaceAll(`@${EXAMPLE_NAME}/`, `@${wsName}/`)
      return { path: relative(root, full).split('\\').join('/'), contents: text }
    })
    .sort((a, b) => a.path.localeCompare(b.path))
}

/**
 * Every file of the example's workspace: what create-service and `msvc sync` write for its model
 * (the workspace, each service, each postgres service's first migration, the development secret),
 * then the example's own files over the ones msvc writes once.
 */
export async function planExample(
  example: string,
  wsName: string,
  root: string,
  templates: TemplateSet,
  version: string,
): Promise<{ ws: Workspace; files: PlannedFile[] }> {
  const { yaml, ws } = exampleModel(example, wsName)
  const names = Object.keys(ws.services)
  const { planMigration } = await import('../io/db/migrations.js')
  const migrations = await Promise.all(
    names
      .filter((n) => ws.services[n]!.store === 'postgres')
      .map((n) =>
        planMigration(join(root, 'services', n), workspaceServiceTables(ws, n), `services/${n}`, 'init'),
      ),
  )
  const byPath = new Map<string, PlannedFile>()
  const generated = [
    ...planCreateWorkspace(ws, names[0]!, yaml, templates, version).files,
    ...names.slice(1).flatMap((n) => planServiceFiles(ws, n, templates, version)),
    ...migrations.flatMap((m) => m.files),
    newDevSecretFile(),
  ]
  for (const f of [...generated, ...exampleFiles(example, wsName)]) byPath.set(f.path, f)
  return { ws, files: [...byPath.values()] }
}

/** `create-service <dir> --example <name>`: the example's whole system, ready for npm install. */
export async function createExample(
  example: string,
  root: string,
  wsName: string,
  opts: { dryRun: boolean; force: boolean },
  ctx: Ctx,
): Promise<boolean> {
  checkExample(example)
  const templates = await loadTemplateSet(ctx.templatesDir)
  const { ws, files } = await planExample(example, wsName, root, templates, ctx.version)
  if (opts.dryRun) {
    printPlan(ctx.ui, { files })
    return false
  }
  const services = Object.keys(ws.services).length
  await ctx.ui.step(`Writing workspace ${wsName}: the ${example} example, ${services} services`, () =>
    applyPlan(root, { files }, { force: opts.force }),
  )
  const { generateAfterScaffold } = await import('./proto.js')
  await generateAfterScaffold(root, ws, ctx)
  return true
}
