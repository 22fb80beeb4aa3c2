import { relative } from 'node:path'
import type { Ctx } from '../context.js'
import { addServiceToYaml, planAddService, withService } from '../core/workspace/edit.js'
import { parseWorkspace } from '../core/workspace/parse.js'
import { planAddServiceFiles } from '../core/scaffold/plan.js'
import { UserError } from '../errors.js'
import { applyPlan, isNonEmptyDir } from '../io/fs.js'
import { warmPluginsFor } from '../io/proto/plugin.js'
import { startPlannedCompile } from '../io/proto/protoc-run.js'
import { loadTemplateSet } from '../io/templates.js'
import { loadWorkspace, toWorkspaceError } from '../io/workspace.js'
import { printPlan } from '../ui/plan.js'
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
  // a new grpc service means generating the clients of every grpc service: their plugins and
  // the proto code load while the files are rendered and written
  const grpc = spec.capabilities.includes('grpc') && !opts.dryRun
  const grpcServices = Object.values(ws.services).filter((s) => s.capabilities.includes('grpc')).length
  const warm = warmPluginsFor(grpc ? grpcServices : 0)
  const protoCommand = grpc ? import('./proto.js') : undefined
  try {
    const templates = await loadTemplateSet(ctx.templatesDir)
    const plan = planAddServiceFiles(ws, input.name, yaml, templates, ctx.version)
    if (opts.dryRun) return printPlan(ctx.ui, plan)
    // protoc and the plugin run on the planned protos while the files are written
    const early = protoCommand ? startPlannedCompile(input.name, plan.files, warm) : undefined
    await ctx.ui.step(`Adding service ${input.name}`, () =>
      applyPlan(loaded.root, plan, { force: opts.force === true }),
    )
    if (protoCommand) await (await protoCommand).generateAfterScaffold(loaded.root, ws, ctx, warm, early)
  } finally {
    for (const w of warm) w.dispose()
  }
  const ports = Object.entries(spec.ports)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')
  ctx.ui.info(`  services/${input.name} (${spec.capabilities.join(', ') || 'no capabilities'}; ${ports})`)
  if (newEvents.length)
    ctx.ui.info(`  declared events: ${newEvents.join(', ')} (edit their schema in msvc.yaml)`)
  ctx.ui.info(`\nNext: ${ctx.ui.color.cyan('npm install && npm run build && npm test')}`)
}
