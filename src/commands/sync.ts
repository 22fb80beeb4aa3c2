import { existsSync } from 'node:fs'
import { readdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Ctx } from '../context.js'
import { buildComposeStack, renderComposeYaml } from '../core/compose/build-stack.js'
import { migrationRisks } from '../core/db/migration-risks.js'
import { workspaceServiceTables } from '../core/db/table.js'
import { planServiceFiles, templateOf } from '../core/scaffold/plan.js'
import { templatePathPatterns, type PlannedFile } from '../core/scaffold/render.js'
import { isGeneratedText, missingOwnedMembers, planSync } from '../core/scaffold/sync-plan.js'
import { EXIT, ExitError } from '../errors.js'
import type { ClientsDiff } from '../io/proto/gen.js'
import {
  clientsInputKey,
  clientsOutputKey,
  clientsRecordPath,
  migrationsKey,
  migrationsRecordPath,
  readRecord,
  tablesKey,
  writeRecord,
} from '../io/sync-cache.js'
import { applyPlan } from '../io/fs.js'
import { loadTemplateSet } from '../io/templates.js'
import { loadWorkspace } from '../io/workspace.js'
import { COMPOSE_FILE, writeComposeFile } from '../runtime/docker-runtime.js'

export interface SyncCliOptions {
  check?: boolean
  json?: boolean
}

/** Folders of a service that hold no generated source: build output, dependencies, migrations. */
const NOT_SOURCE = new Set(['node_modules', 'dist', 'drizzle', 'coverage', '.git'])

/** Every file under services/<name> whose first line says it is generated, relative to root. */
async function generatedFilesOf(root: string, service: string): Promise<string[]> {
  const out: string[] = []
  const walk = async (rel: string) => {
    for (const e of await readdir(join(root, rel), { withFileTypes: true }).catch(() => [])) {
      const p = `${rel}/${e.name}`
      if (e.isDirectory()) {
        if (!NOT_SOURCE.has(e.name)) await walk(p)
      } else if (e.isFile()) {
        const head = await readFile(join(root, p), 'utf8').then(
          (t) => t.slice(0, 120),
          () => '',
        )
        if (isGeneratedText(head)) out.push(p)
      }
    }
  }
  await walk(`services/${service}`)
  return out
}

const text = (c: string | Uint8Array) => (typeof c === 'string' ? c : new TextDecoder().decode(c))

const readText = (path: string) => readFile(path, 'utf8').catch(() => undefined)

/**
 * `msvc sync`: every generated file re-derived from msvc.yaml (routes, RPCs, proto, schemas,
 * repositories, tests, compose), a migration for each postgres service whose tables changed, and
 * the clients of the protos; the user's files are created when missing and never overwritten, with
 * what they now lack printed. `--check` writes nothing and exits 2 when anything is out of step.
 */
export async function runSync(opts: SyncCliOptions, ctx: Ctx): Promise<void> {
  const t0 = performance.now()
  const { root, workspace } = await loadWorkspace(ctx.cwd)
  const templates = await loadTemplateSet(ctx.templatesDir)
  const services = Object.keys(workspace.services).sort()
  // drizzle-kit only for the postgres services whose tables or migrations changed since it last
  // found nothing to add, as each service's record says (src/io/sync-cache.ts)
  const postgres = services.filter((s) => workspace.services[s]!.store === 'postgres')
  const keys = await Promise.all(
    postgres.map(async (name) => ({
      name,
      tables: tablesKey(workspaceServiceTables(workspace, name), ctx.version),
      migrations: await migrationsKey(join(root, 'services', name, 'drizzle')),
      record: await readRecord(migrationsRecordPath(root, name)),
    })),
  )
  const toDiff = keys
    .filter((k) => !k.migrations || k.record?.input !== k.tables || k.record.output !== k.migrations)
    .map((k) => k.name)
  const migrationsModule = toDiff.length ? import('../io/db/migrations.js') : undefined
  // the clients of the protos as they are on disk, generated (protoc and its plugin, child
  // processes) while the services render: used as they are unless sync changes a proto
  const protoGen = import('../io/proto/gen.js')
  // ... unless neither the model, the protos nor the clients changed since the last sync
  const [clientsInput, clientsOutput, clientsRecord] = await Promise.all([
    clientsInputKey(root, workspace, ctx.version),
    clientsOutputKey(root),
    readRecord(clientsRecordPath(root)),
  ])
  const clientsCached = clientsRecord?.input === clientsInput && clientsRecord.output === clientsOutput
  const early = clientsCached
    ? Promise.resolve({
        ok: true as const,
        diff: { write: [], remove: [], create: [], handWritten: [] } as ClientsDiff,
      })
    : protoGen.then((g) => g.generateClients(root, workspace))
  early.catch(() => undefined)

  const rendered: PlannedFile[] = []
  const disk = new Map<string, string | undefined>()
  const generated: string[] = []
  const lacking: string[] = []
  await Promise.all(
    services.map(async (name) => {
      const files = planServiceFiles(workspace, name, templates, ctx.version)
      rendered.push(...files)
      const texts = await Promise.all(files.map((f) => readText(join(root, f.path))))
      files.forEach((f, i) => disk.set(f.path, texts[i]))
      generated.push(...(await generatedFilesOf(root, name)))
      lacking.push(...missingOwnedMembers(workspace, name, disk))
    }),
  )
  const templatePaths = services.flatMap((name) =>
    templatePathPatterns(templateOf(workspace, name, templates).files, `services/${name}`),
  )
  const plan = planSync(rendered, disk, generated, templatePaths)
  const migrations: PlannedFile[] = []
  if (migrationsModule) {
    const { planMigration } = await migrationsModule
    for (const name of toDiff) {
      const change = await planMigration(
        join(root, 'services', name),
        workspaceServiceTables(workspace, name),
        `services/${name}`,
        existsSync(join(root, 'services', name, 'drizzle')) ? 'sync' : 'init',
      )
      migrations.push(...change.files)
    }
  }
  const composePath = join(root, COMPOSE_FILE)
  const composeNow = await readText(composePath)
  const compose = renderComposeYaml(buildComposeStack(workspace))
  const composeStale = composeNow !== undefined && composeNow !== compose

  const { generateClients, isUpToDate, applyClientsDiff } = await protoGen
  const paths = (fs: PlannedFile[]) => fs.map((f) => f.path)
  const changes = {
    write: paths(plan.write).sort(),
    create: paths(plan.create).sort(),
    remove: plan.remove,
    migrations: paths(migrations).filter((p) => p.endsWith('.sql')),
    // what each new migration may do to stored rows, named before anyone applies it
    risks: migrations
      .filter((f) => f.path.endsWith('.sql'))
      .flatMap((f) => migrationRisks(text(f.contents)).map((risk) => `${f.path}: ${risk}`)),
    compose: composeStale,
    adopted: plan.adopted.sort(),
    strays: plan.strays,
    lacking: lacking.sort(),
  }
  const outOfStep =
    changes.write.length + changes.create.length + changes.remove.length + changes.migrations.length > 0 ||
    changes.compose ||
    changes.lacking.length > 0

  if (opts.check) {
    // the clients against the protos as they are on disk (a stale proto is reported above already)
    const clients = await early
    const clientsStale = clients.ok && !isUpToDate(clients.diff)
    const stale = outOfStep || clientsStale
    if (opts.json) ctx.ui.json({ upToDate: !stale, ...changes, clients: clientsStale })
    else if (!stale) ctx.ui.success(`in step with msvc.yaml (${Math.round(performance.now() - t0)} ms)`)
    else {
      for (const p of [...changes.write, ...changes.create, ...changes.migrations])
        ctx.ui.error(`${p} is out of step`)
      for (const p of changes.remove) ctx.ui.error(`${p} is no longer in the model`)
      if (changes.compose) ctx.ui.error(`${COMPOSE_FILE} is out of step`)
      if (clientsStale) ctx.ui.error('packages/clients is out of step')
      for (const l of changes.lacking) ctx.ui.error(l)
      ctx.ui.error('the code is out of step with msvc.yaml', 'run `msvc sync` and commit the result')
    }
    if (stale) throw new ExitError(EXIT.found)
    return
  }

  const files = [...plan.write, ...plan.create, ...migrations]
  if (files.length) await applyPlan(root, { files }, { force: true })
  for (const p of plan.remove) await rm(join(root, p), { force: true })
  if (composeStale) await writeComposeFile(root, workspace)
  const protoChanged = [...changes.write, ...changes.create, ...changes.remove].some((p) =>
    p.endsWith('.proto'),
  )
  const clients = protoChanged ? await generateClients(root, workspace) : await early
  if (!clients.ok) {
    const { formatProblem } = await import('../core/proto/protoc-errors.js')
    for (const p of clients.problems) ctx.ui.error(formatProblem(p))
    throw new ExitError(EXIT.failed)
  }
  await applyClientsDiff(root, clients.diff)
  // what is in step now, recorded for the next sync: each postgres service's migrations match
  // its tables, and the clients match the model and the protos
  for (const k of keys) {
    const now = await migrationsKey(join(root, 'services', k.name, 'drizzle'))
    if (now) await writeRecord(migrationsRecordPath(root, k.name), { input: k.tables, output: now }, k.record)
  }
  if (existsSync(join(root, 'packages', 'clients')))
    await writeRecord(
      clientsRecordPath(root),
      {
        input: protoChanged ? await clientsInputKey(root, workspace, ctx.version) : clientsInput,
        output: await clientsOutputKey(root),
      },
      clientsRecord,
    )
  const ms = Math.round(performance.now() - t0)
  if (opts.json) return ctx.ui.json({ ...changes, ms })
  for (const p of changes.write) ctx.ui.info(`  write   ${p}`)
  for (const p of changes.create) ctx.ui.info(`  create  ${p}`)
  for (const p of changes.migrations) ctx.ui.info(`  migrate ${p}`)
  for (const r of changes.risks) ctx.ui.warn(r)
  for (const p of changes.remove) ctx.ui.info(`  remove  ${p}`)
  if (composeStale) ctx.ui.info(`  write   ${COMPOSE_FILE}`)
  for (const p of changes.adopted) ctx.ui.warn(`${p} no longer says it is generated: left as you wrote it`)
  for (const p of changes.strays)
    ctx.ui.warn(`${p} says it is generated by msvc, but no template writes that path: left alone`)
  for (const l of changes.lacking) ctx.ui.warn(l)
  const n = files.length + plan.remove.length + (composeStale ? 1 : 0)
  ctx.ui.success(
    n === 0 ? `already in step with msvc.yaml (${ms} ms)` : `synced ${n} file(s) with msvc.yaml in ${ms} ms`,
  )
  if (changes.lacking.length)
    ctx.ui.info('  the type checker names the same (npm run typecheck); those files are yours to change')
}
