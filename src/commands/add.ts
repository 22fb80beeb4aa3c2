import { relative } from 'node:path'
import type { Ctx } from '../context.js'
import { addServiceToYaml, planAddService, withService } from '../core/workspace/edit.js'
import { parseWorkspace } from '../core/workspace/parse.js'
import { planAddServiceFiles } from '../core/scaffold/plan.js'
import { UserError } from '../errors.js'
import { isNonEmptyDir } from '../io/fs.js'
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
  const ws = withService(loaded.workspace, input.name, spec, newEvents)
  // a new grpc service means generating the clients of every grpc service: one warm plugin each
  const grpc = spec.capabilities.includes('grpc') && !opts.dryRun
  const grpcServices = Object.values(ws.services).filter((s) => s.capabilities.includes('grpc')).length
  const written = await renderWriteGenerate({
    ctx,
    root: loaded.root,
    ws,
    service: input.name,
    title: `Adding service ${input.name}`,
    plan: (templates) => planAddServiceFiles(ws, input.name, yaml, templates, ctx.version),
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
  ctx.ui.info(`\nNext: ${ctx.ui.color.cyan('npm install && npm run build && npm test')}`)
}
