import { relative } from 'node:path'
import type { Ctx } from '../context.js'
import { addServiceToYaml, planAddService } from '../core/workspace/edit.js'
import { parseWorkspace } from '../core/workspace/parse.js'
import { planAddServiceFiles, planServiceFiles, type TemplateSet } from '../core/scaffold/plan.js'
import type { PlannedFile } from '../core/scaffold/render.js'
import { isGeneratedText } from '../core/scaffold/sync-plan.js'
import { findGateway, type Workspace } from '../core/workspace/model.js'
import { devSecretEdits } from '../io/dotenv.js'
import { isNonEmptyDir, listFilesUnder } from '../io/fs.js'
import { readFile } from 'node:fs/promises'
import { UserError } from '../errors.js'
import { warmPluginsFor } from '../io/proto/plugin.js'
import { loadWorkspace, toWorkspaceError } from '../io/workspace.js'
import { renderWriteGenerate } from './scaffold-write.js'
import { resolveServiceInput, type ServiceCliOptions } from './service-input.js'
import { join } from 'node:path'

export interface AddCliOptions extends ServiceCliOptions {
  force?: boolean
  dryRun?: boolean
}

/** `msvc add <name>`: one more bounded context, recorded in msvc.yaml. */
export async function runAdd(name: string | undefined, opts: AddCliOptions, ctx: Ctx): Promise<void> {
  const loaded = await loadWorkspace(ctx.cwd)
  const input = await resolveServiceInput(name, opts, ctx.prompt, ctx.interactive)
  const { spec, newEvents } = planAddService(loaded.workspace, input)
  const dir = join(loaded.root, 'services', input.name)
  if ((await isNonEmptyDir(dir)) && !opts.force)
    throw new UserError(
      `${relative(ctx.cwd, dir)} already exists`,
      'remove it, or pass --force to overwrite the generated files',
    )
  const yaml = addServiceToYaml(loaded.text, input.name, spec, newEvents)
  const check = parseWorkspace(yaml)
  if (!check.ok) throw toWorkspaceError('msvc.yaml', check.problems)
  // the model as msvc.yaml now says it: a gateway's routes take in the new service
  const ws = check.workspace
  // a new gateway gets the workspace's development secret (.env, git-ignored); a new HTTP service
  // gets its route in the gateway's generated files
  const secretEdits = spec.kind === 'gateway' ? await devSecretEdits(loaded.root) : []
  const gatewayOnDisk = await gatewayGeneratedFiles(loaded.root, ws, input.name)
  // a new grpc service means generating the clients of every grpc service: one warm plugin each
  const grpc = spec.capabilities.includes('grpc') && !opts.dryRun
  const grpcServices = Object.values(ws.services).filter((s) => s.capabilities.includes('grpc')).length
  const written = await renderWriteGenerate({
    ctx,
    root: loaded.root,
    ws,
    service: input.name,
    title: `Adding service ${input.name}`,
    plan: (templates) => {
      const plan = planAddServiceFiles(ws, input.name, yaml, templates, ctx.version)
      const more = [...secretEdits, ...changedGatewayFiles(ws, templates, ctx.version, gatewayOnDisk)]
      return {
        files: [...plan.files, ...more],
        replaces: [...(plan.replaces ?? []), ...more.map((f) => f.path)],
      }
    },
    dryRun: opts.dryRun === true,
    force: opts.force === true,
    grpc,
    warm: warmPluginsFor(grpc ? grpcServices : 0),
  })
  if (!written) return
  const ports = Object.entries(spec.ports)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')
  ctx.ui.info(`  services/${input.name} (${spec.capabilities.join(', ') || 'no capabilities'}; ${ports})`)
  if (newEvents.length)
    ctx.ui.info(`  declared events: ${newEvents.join(', ')} (edit their schema in msvc.yaml)`)
  const gateway = findGateway(ws)
  const route = gateway
    ? ws.services[gateway]!.gateway!.routes.filter((r) => r.service === input.name || gateway === input.name)
    : []
  if (route.length)
    ctx.ui.info(
      `  gateway routes: ${route.map((r) => `${r.path} -> ${r.service}${r.to} (${r.auth})`).join(', ')}`,
    )
  if (spec.kind === 'gateway')
    ctx.ui.info(`  dev secret: .env (git-ignored); a token: ${ctx.ui.color.cyan('msvc token --sub alice')}`)
  ctx.ui.info(`\nNext: ${ctx.ui.color.cyan('npm install && npm run build && npm test')}`)
}

/** The gateway's generated files that the new model renders differently (never one the user owns). */
function changedGatewayFiles(
  ws: Workspace,
  templates: TemplateSet,
  version: string,
  onDisk: ReadonlyMap<string, string>,
): PlannedFile[] {
  const gateway = findGateway(ws)
  if (!gateway || onDisk.size === 0) return []
  return planServiceFiles(ws, gateway, templates, version).filter(
    (f) => onDisk.has(f.path) && onDisk.get(f.path) !== f.contents,
  )
}

/** The existing gateway's generated files as they are on disk; none when the new service is the gateway. */
async function gatewayGeneratedFiles(
  root: string,
  ws: Workspace,
  added: string,
): Promise<Map<string, string>> {
  const gateway = findGateway(ws)
  const out = new Map<string, string>()
  if (!gateway || gateway === added) return out
  const dir = join(root, 'services', gateway)
  for (const rel of await listFilesUnder(dir)) {
    if (rel.includes('node_modules/') || rel.startsWith('dist/')) continue
    const text = await readFile(join(dir, rel), 'utf8')
    if (isGeneratedText(text)) out.set(`services/${gateway}/${rel}`, text)
  }
  return out
}
