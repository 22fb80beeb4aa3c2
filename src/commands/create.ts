import { basename, relative, resolve } from 'node:path'
import type { Ctx } from '../context.js'
import { planAddService, renderNewWorkspaceYaml, withService } from '../core/workspace/edit.js'
import { checkDnsLabel } from '../core/workspace/names.js'
import { parseWorkspace } from '../core/workspace/parse.js'
import { planCreateWorkspace } from '../core/scaffold/plan.js'
import { newDevSecretFile } from '../io/dotenv.js'
import { UserError } from '../errors.js'
import { isNonEmptyDir } from '../io/fs.js'
import { warmPluginsFor, type WarmPlugin } from '../io/proto/plugin.js'
import { findWorkspaceRoot, toWorkspaceError } from '../io/workspace.js'
import { checkExample, createExample } from './create-example.js'
import { renderWriteGenerate } from './scaffold-write.js'
import { resolveServiceInput, type ServiceCliOptions } from './service-input.js'

export interface CreateCliOptions extends ServiceCliOptions {
  service?: string
  /** a whole system instead of one service (src/commands/create-example.ts) */
  example?: string
  name?: string
  force?: boolean
  dryRun?: boolean
}

/** `create-service [dir]`: a new workspace with its first service. */
export async function runCreate(
  dirArg: string | undefined,
  opts: CreateCliOptions,
  ctx: Ctx,
  started: WarmPlugin[] = [],
): Promise<void> {
  try {
    await create(dirArg, opts, ctx, started)
  } finally {
    for (const w of started) w.dispose()
  }
}

/** The flags that describe the first service: an example brings its own services. */
const SERVICE_FLAGS = [
  'service',
  'description',
  'gateway',
  'http',
  'grpc',
  'events',
  'capabilities',
  'resource',
  'publishes',
  'subscribes',
  'calls',
  'port',
  'grpcPort',
  'fields',
  'operations',
  'store',
] as const

async function create(dirArg: string | undefined, opts: CreateCliOptions, ctx: Ctx, started: WarmPlugin[]) {
  if (opts.example !== undefined) {
    checkExample(opts.example)
    const given = SERVICE_FLAGS.find((f) => opts[f] !== undefined)
    if (given)
      throw new UserError(
        `--example ${opts.example} writes its own services: --${given.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} has no place beside it`,
        `leave it out, or create one service without --example`,
      )
  }
  const ask = ctx.interactive && !opts.yes
  let dir = dirArg
  if (dir === undefined) {
    if (!ask) throw new UserError('missing workspace folder', 'for example: npx create-service shop --yes')
    dir = await ctx.prompt.input({
      message: 'Workspace folder:',
      default: 'shop',
      validate: (v) => (v.trim() ? true : 'required'),
    })
  }
  const root = resolve(ctx.cwd, dir)
  const wsName = opts.name ?? basename(root)
  // a workspace may be called nats: only services share names with msvc's own stack
  const nameProblem = checkDnsLabel(wsName)
  if (nameProblem)
    throw new UserError(
      `invalid workspace name: ${nameProblem}`,
      'the folder name is the workspace name; or pass --name <dns-label>',
    )
  if ((await isNonEmptyDir(root)) && !opts.force)
    throw new UserError(
      `${relative(ctx.cwd, root) || root} already exists and is not empty`,
      'pick another folder, or pass --force to write into it',
    )
  const outer = await findWorkspaceRoot(resolve(root, '..'))
  if (outer) ctx.ui.warn(`creating a workspace inside another one (${outer})`)

  if (opts.example !== undefined) {
    const written = await createExample(
      opts.example,
      root,
      wsName,
      {
        dryRun: opts.dryRun === true,
        force: opts.force === true,
      },
      ctx,
    )
    if (!written) return
    const c = ctx.ui.color
    ctx.ui.info(
      `\nNext steps (README.md walks through them):\n  ${c.cyan(`cd ${relative(ctx.cwd, root) || '.'}`)}\n  ${c.cyan('npm install && npm test')}\n  ${c.cyan('msvc up')}                  the shop, its databases and nats, health-gated\n  ${c.cyan('msvc loadtest -f load/shop.yaml')}`,
    )
    return
  }
  const input = await resolveServiceInput(opts.service, opts, ctx.prompt, ctx.interactive, 'core')
  const empty = { name: wsName, services: {}, events: {} }
  const { spec, newEvents } = planAddService(empty, input)
  const yaml = renderNewWorkspaceYaml(wsName, input.name, spec, newEvents)
  const parsed = parseWorkspace(yaml)
  if (!parsed.ok) throw toWorkspaceError('msvc.yaml', parsed.problems)
  const ws = withService(empty, input.name, spec, newEvents)

  // a grpc service needs its clients generated: its plugin loads meanwhile (started by the bin
  // when the flags asked for grpc, else here)
  const grpc = spec.capabilities.includes('grpc') && !opts.dryRun
  const written = await renderWriteGenerate({
    ctx,
    root,
    ws,
    service: input.name,
    title: `Writing workspace ${wsName} with service ${input.name}`,
    plan: (templates) => {
      const plan = planCreateWorkspace(ws, input.name, yaml, templates, ctx.version)
      // a gateway first: the workspace's development secret with it (.gitignore keeps .env out)
      if (spec.kind === 'gateway') plan.files.push(newDevSecretFile())
      return plan
    },
    dryRun: opts.dryRun === true,
    force: opts.force === true,
    grpc,
    warm: grpc && started.length === 0 ? warmPluginsFor(1) : started.splice(0),
  })
  if (!written) return
  const rel = relative(ctx.cwd, root) || '.'
  const c = ctx.ui.color
  ctx.ui.info(
    `\nNext steps:\n  ${c.cyan(`cd ${rel}`)}\n  ${c.cyan('npm install && npm run build && npm test')}\n  ${c.cyan('msvc add <name> --http')}   one more bounded context\n  ${c.cyan('msvc ls')}                  the services and their ports`,
  )
}
