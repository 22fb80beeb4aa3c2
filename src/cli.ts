import { createRequire } from 'node:module'
import { Command, Option } from 'commander'
import { registerChaos } from './cli-chaos.js'
import { registerEvents } from './cli-events.js'
import type { Ctx } from './context.js'
import type { WarmPlugin } from './io/proto/plugin.js'
import { ExitError, UserError, EXIT } from './errors.js'
import { inquirerPrompter } from './io/prompt.js'
import { trapSignals } from './io/signals.js'
import { createUi, type Ui, type UiOptions } from './ui/ui.js'

const VERSION = (createRequire(import.meta.url)('../package.json') as { version: string }).version

export interface MainOptions {
  argv?: string[]
  cwd?: string
  env?: NodeJS.ProcessEnv
  /** ts-proto plugins started by the bin before the CLI loaded (create-service with grpc) */
  warm?: WarmPlugin[]
  /** where output goes (the process's own streams by default) */
  stdout?: UiOptions['stdout']
  stderr?: UiOptions['stderr']
  /** edges to use instead of the real ones (in-process command tests) */
  edges?: Partial<Pick<Ctx, 'runtime' | 'engine' | 'trapSignals' | 'prompt' | 'dashboard'>>
}

function makeCtx(ui: Ui, o: MainOptions): Ctx {
  const env = o.env ?? process.env
  return {
    cwd: o.cwd ?? process.cwd(),
    env,
    ui,
    prompt: inquirerPrompter,
    interactive: process.stdin.isTTY === true && process.stdout.isTTY === true && !env.CI,
    version: VERSION,
    ...(env.MSVC_TEMPLATES_DIR ? { templatesDir: env.MSVC_TEMPLATES_DIR } : {}),
    // loaded when a command needs them: most commands reach no engine, and dockerode is heavy
    runtime: async (root, ws) =>
      (await import('./runtime/docker-runtime.js')).DockerRuntime.connect(root, ws),
    engine: async () => (await import('./io/engine.js')).connectEngine(),
    trapSignals,
    dashboard: async () => (await import('./io/dashboard/edge.js')).processDashboard,
    ...o.edges,
  }
}

const examples = (lines: string[]) => `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`

/** Flags a service takes in both `create-service` and `msvc add`. */
function withServiceFlags(cmd: Command): Command {
  return cmd
    .option('--description <text>', 'one line on the bounded context')
    .option('--gateway', 'the API gateway: routes to the HTTP services, JWT, rate limits, balancing')
    .option('--http', 'REST resource over HTTP (fastify)')
    .option('--grpc', 'gRPC server with a .proto')
    .option('--events', 'publish/subscribe over NATS JetStream')
    .option('--capabilities <list>', 'the same as a list, e.g. http,grpc (none: health and metrics only)')
    .option('--resource <plural>', 'REST resource name (default: the plural of the service name)')
    .option('--publishes <types>', 'event types it publishes, comma-separated (order.created,...)')
    .option('--subscribes <types>', 'event types it handles, comma-separated')
    .option('--calls <services>', 'services it calls, comma-separated')
    .option(
      '--fields <list>',
      "the aggregate's fields: sku:string!,quantity:integer,reserved:integer=0,tags:string[]",
    )
    .option(
      '--operations <list>',
      'operations beyond CRUD: reserve(sku:string!,quantity:integer!),release(...)',
    )
    .option('--store <store>', 'postgres (its own database; the default with a resource) or memory')
    .option('--port <n>', 'HTTP port (default: the next free one from 3001)')
    .option('--grpc-port <n>', 'gRPC port (default: the next free one from 50051)')
    .option('-y, --yes', 'ask nothing; take defaults for what the flags leave out')
    .option('--force', 'write into an existing folder, overwriting generated files')
    .option('--dry-run', 'print the files that would be written, write nothing')
}

/** The `msvc` program. Command modules are imported when their command runs. */
export function buildMsvcProgram(ctx: () => Ctx): Command {
  const program = new Command('msvc')
    .description('Scaffold, run, break and load a microservices system from one model (msvc.yaml)')
    .version(VERSION, '-v, --version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: (str, write) => write(str) })

  withServiceFlags(program.command('add').argument('[name]', 'service name (a DNS-1123 label)'))
    .description('add a service (bounded context) to the workspace and record it in msvc.yaml')
    .addHelpText(
      'after',
      examples([
        'msvc add payment --http --grpc --events --publishes payment.processed',
        'msvc add order --http --calls payment,inventory --subscribes payment.processed',
        'msvc add search --http --port 3010 --dry-run',
        'msvc add gateway --gateway   # the entry point: /api/<resource> -> each HTTP service',
        "msvc add inventory --http --grpc --fields 'sku:string!,quantity:integer' --operations 'reserve(quantity:integer!)'",
      ]),
    )
    .action(async (name: string | undefined, opts) => {
      const { runAdd } = await import('./commands/add.js')
      await runAdd(name, opts, ctx())
    })

  program
    .command('ls')
    .description('list the services with their ports and capabilities')
    .option('--json', 'print JSON on stdout')
    .addHelpText('after', examples(['msvc ls', 'msvc ls --json | jq ".services[].name"']))
    .action(async (opts) => {
      const { runLs } = await import('./commands/ls.js')
      await runLs(opts, ctx())
    })

  program
    .command('token')
    .description("print a development token the gateway accepts (HS256 with the workspace's .env secret)")
    .option('--sub <id>', 'who the token speaks for (x-user-id upstream)', 'dev')
    .option('--roles <list>', 'roles it carries, comma-separated (x-user-roles upstream)')
    .option('--ttl <duration>', 'how long it is valid, up to 24h', '1h')
    .option('--init', 'write a development secret to .env first when it has none')
    .addHelpText(
      'after',
      examples([
        'msvc token --sub alice --roles admin --ttl 15m',
        'curl -H "authorization: Bearer $(msvc token)" http://127.0.0.1:8080/api/orders',
      ]),
    )
    .action(async (opts) => {
      const { runToken } = await import('./commands/token.js')
      await runToken(opts, ctx())
    })

  program
    .command('sync')
    .description("re-derive every generated file from msvc.yaml; the user's files are never overwritten")
    .option('--check', 'write nothing; exit 2 when anything is out of step (for CI)')
    .option('--json', 'print what changed (or would) as JSON on stdout')
    .addHelpText('after', examples(['msvc sync', 'msvc sync --check']))
    .action(async (opts) => {
      const { runSync } = await import('./commands/sync.js')
      await runSync(opts, ctx())
    })

  program
    .command('db')
    .description("the services' own PostgreSQL databases")
    .command('migrate')
    .argument('[service]', 'a postgres service (default: every one)')
    .description('apply pending migrations to the running databases (services also apply them at start)')
    .option('--json', 'print what was applied as JSON on stdout')
    .addHelpText('after', examples(['msvc db migrate', 'msvc db migrate inventory']))
    .action(async (service: string | undefined, opts) => {
      const { runDbMigrate } = await import('./commands/db.js')
      await runDbMigrate(service, opts, ctx())
    })

  program
    .command('compose')
    .description('write docker-compose.yml from msvc.yaml')
    .option('--stdout', 'print it instead of writing the file')
    .addHelpText('after', examples(['msvc compose', 'msvc compose --stdout | docker-compose -f - config']))
    .action(async (opts) => {
      const { runCompose } = await import('./commands/compose.js')
      await runCompose(opts, ctx())
    })

  program
    .command('up')
    .argument('[services...]', 'services to start (with what they depend on); default: all')
    .description('build what changed, start the stack, wait until every service is healthy')
    .option('--no-wait', 'return once the containers are started')
    .option('--no-dashboard', 'do not start the dashboard in the background')
    .option('--timeout <duration>', 'how long to wait for health', '90s')
    .option('--json', 'print URLs and timings as JSON on stdout')
    .addHelpText('after', examples(['msvc up', 'msvc up payment', 'msvc up --no-wait --json']))
    .action(async (services: string[], opts) => {
      const { runUp } = await import('./commands/up.js')
      await runUp(services, opts, ctx())
    })

  program
    .command('down')
    .description("stop and remove this workspace's containers")
    .option('--volumes', 'also remove its volumes (NATS data)')
    .addHelpText('after', examples(['msvc down', 'msvc down --volumes']))
    .action(async (opts) => {
      const { runDown } = await import('./commands/down.js')
      await runDown(opts, ctx())
    })

  program
    .command('dashboard')
    .description(
      'the live dashboard (graph, traces, logs, runs) on 127.0.0.1; started in the background, or restarted',
    )
    .option('--port <n>', 'its port on 127.0.0.1', '4400')
    .option('--otlp-port <n>', 'where the services export OTLP/HTTP (loopback and the Docker bridge)', '4318')
    .option('--foreground', 'run in this terminal until Ctrl-C')
    .option('--no-open', 'do not open a browser (never opened in CI or without a terminal)')
    .option('--stop', 'stop the background dashboard')
    .option('--json', 'print its URL and ports as JSON on stdout')
    .addHelpText(
      'after',
      examples(['msvc dashboard', 'msvc dashboard --foreground --port 4401', 'msvc dashboard --stop']),
    )
    .action(async (opts) => {
      const { runDashboard } = await import('./commands/dashboard.js')
      await runDashboard(opts, ctx())
    })

  program
    .command('traces')
    .description("recent traces as waterfalls in the terminal (from the dashboard's receiver)")
    .option('--service <name>', 'traces with a span of this service')
    .option('--slower-than <duration>', 'traces longer than this (100ms, 1s)')
    .option('--errors', 'traces with a failed span')
    .option('--limit <n>', 'how many (default 10)')
    .option('-f, --follow', 'keep printing new traces until Ctrl-C')
    .option('--json', 'one JSON object a trace (summary and waterfall rows) on stdout')
    .addHelpText(
      'after',
      examples(['msvc traces', 'msvc traces --service order --slower-than 100ms', 'msvc traces --errors -f']),
    )
    .action(async (opts) => {
      const { runTraces } = await import('./commands/traces.js')
      await runTraces(opts, ctx())
    })

  const saga = program
    .command('saga')
    .description('the sagas of the running stack, read from their owners (docs/sagas.md)')
  saga
    .command('ls')
    .description('the newest sagas, newest first: id, saga, state, step, age, error')
    .option('--state <state>', 'only these: running, completed, compensating, compensated, stuck')
    .option('--saga <name>', 'only this saga of msvc.yaml')
    .option('--limit <n>', 'how many (default 50, at most 999)')
    .option('--json', 'print them as JSON on stdout')
    .addHelpText('after', examples(['msvc saga ls', 'msvc saga ls --state stuck --json']))
    .action(async (opts) => {
      const { runSagaLs } = await import('./commands/saga.js')
      await runSagaLs(opts, ctx())
    })
  saga
    .command('show')
    .argument('<id>', 'a saga id (msvc saga ls lists them)')
    .description('one saga: its state, and its steps and compensations as a timeline')
    .option('--json', 'print it as JSON on stdout')
    .action(async (id: string, opts) => {
      const { runSagaShow } = await import('./commands/saga.js')
      await runSagaShow(id, opts, ctx())
    })
  saga
    .command('retry')
    .argument('<id>', 'a stuck saga')
    .description('compensate a stuck saga again, once what kept its compensation failing is fixed')
    .option('--json', 'print the result as JSON on stdout')
    .action(async (id: string, opts) => {
      const { runSagaRetry } = await import('./commands/saga.js')
      await runSagaRetry(id, opts, ctx())
    })

  program
    .command('ps')
    .description('state, health, restarts, ports and uptime of each container')
    .option('--json', 'print JSON on stdout')
    .addHelpText('after', examples(['msvc ps', 'msvc ps --json']))
    .action(async (opts) => {
      const { runPs } = await import('./commands/ps.js')
      await runPs(opts, ctx())
    })

  program
    .command('logs')
    .argument('[services...]', 'services to show; default: all')
    .description('merged logs, prefixed and coloured by service')
    .option('-f, --follow', 'keep streaming until Ctrl-C')
    .option('--since <when>', 'only lines since a duration ago (10m) or a time')
    .option('--tail <n>', 'only the last n lines of each container')
    .addHelpText('after', examples(['msvc logs', 'msvc logs order payment -f', 'msvc logs --since 5m']))
    .action(async (services: string[], opts) => {
      const { runLogs } = await import('./commands/logs.js')
      await runLogs(services, opts, ctx())
    })

  program
    .command('restart')
    .argument('<service>', 'service to restart')
    .description('restart a service and wait until it is healthy')
    .option('--timeout <duration>', 'how long to wait for health', '60s')
    .action(async (service: string, opts) => {
      const { runRestart } = await import('./commands/restart.js')
      await runRestart(service, opts, ctx())
    })

  // msvc proto gen|lint|breaking (issue 3)
  const proto = program
    .command('proto')
    .description('typed gRPC clients from the .proto files; lint; breaking changes')
  proto
    .command('gen')
    .description('generate typed TypeScript clients for every .proto into packages/clients/src/gen')
    .option('--check', 'write nothing; exit 2 when the generated files are stale (for CI)')
    .option('--json', 'print what was written as JSON on stdout')
    .addHelpText('after', examples(['msvc proto gen', 'msvc proto gen --check']))
    .action(async (opts) => (await import('./commands/proto.js')).runProtoGen(opts, ctx()))
  proto
    .command('lint')
    .description('buf lint (STANDARD) over every service proto; file:line:col for each problem')
    .option('--json', 'print the problems as JSON on stdout')
    .action(async (opts) => (await import('./commands/proto.js')).runProtoLint(opts, ctx()))
  proto
    .command('breaking')
    .description('breaking changes in the protos since a git ref (buf breaking, FILE rules)')
    .requiredOption('--against <git-ref>', 'branch, tag or commit to compare with')
    .option('--json', 'print the problems as JSON on stdout')
    .addHelpText('after', examples(['msvc proto breaking --against main']))
    .action(async (opts) => (await import('./commands/proto.js')).runProtoBreaking(opts, ctx()))

  program
    .command('doctor')
    .description('check Docker, compose, base images, ports and Node; print a fix for each problem')
    .option('--json', 'print the checks as JSON on stdout')
    .action(async (opts) => {
      const { runDoctor } = await import('./commands/doctor.js')
      await runDoctor(opts, ctx())
    })

  registerChaos(program, ctx)
  program
    .command('loadtest')
    .argument('[target]', 'a service of the workspace or a URL (http://127.0.0.1:3001/orders)')
    .description(
      'load a service or URL: open model (honest latency) or closed; percentiles, thresholds, reports',
    )
    .option('-r, --rate <n>', 'open model: requests per second on a fixed schedule (default 100)')
    .option('-d, --duration <duration>', 'how long to send (default 10s)')
    .option('--stages <list>', 'open model, ramping: duration:rate,... e.g. 10s:100,30s:1000')
    .option(
      '--warmup <duration>',
      'send load this long first and record none of it (the open model at its starting rate, the closed model as asked)',
    )
    .option(
      '-c, --connections <n>',
      'closed model: n connections, each sending when answered (the open model sizes its own: --max-connections)',
    )
    .option('--pipelining <n>', 'closed model: requests in flight per connection')
    .option(
      '--max-connections <n>',
      "open model: the most connections (default 1000); it opens one per 200 req/s, more only as the latency asks (Little's law)",
    )
    .option(
      '--workers <n>',
      'threads sending the load, each with its own connections (default 1; a quarter of the cores, at most 4, from 8 cores up)',
    )
    .option(
      '-f, --file <scenario>',
      'scenario YAML: weighted requests, templates, expected statuses, thresholds',
    )
    .option(
      '--threshold <expr>',
      'p99<300ms, errors<1%, ... (repeatable); with faults, one phase\'s: "fault:errors<5%" (baseline, fault, recovery); a breach exits 2',
      (v: string, a: string[] = []) => [...a, v],
    )
    .option('--timeout <duration>', 'a request unanswered this long is an error (default 10s)')
    .option('-m, --method <method>', 'URL target: the method (default GET, POST with --body)')
    .option(
      '-H, --header <line>',
      'URL target: a header "name: value" (repeatable)',
      (v: string, a: string[] = []) => [...a, v],
    )
    .option('--body <text>', 'URL target: the request body')
    .option(
      '--expect <statuses>',
      'URL target: statuses that count as success (default below 400), e.g. 2xx or 200,201',
    )
    .option(
      '--grpc',
      'service target: call its gRPC methods (List, Create) through the generated client, not its REST routes',
    )
    .option('--auth', "send a development token of the workspace's gateway (msvc token) with every request")
    .option('--html <file>', 'also write a self-contained HTML report')
    .option(
      '--chaos <fault>',
      'a fault inside the run: "kill payment@10s", "kill payment:all@10s" (every replica), "latency inventory 200ms@5s for 20s" (repeatable)',
      (v: string, a: string[] = []) => [...a, v],
    )
    .option(
      '--chaos-journal <file>',
      'mark the faults of a chaos journal or restore ledger on the report timelines',
    )
    .option(
      '--settle <duration>',
      'with faults: the recovery phase lasts this long past the service answering healthy again (default 5s)',
    )
    .option('--json', 'print the report as JSON on stdout (nothing else)')
    .option('-q, --quiet', 'print nothing but failures; the exit code tells')
    .addHelpText(
      'after',
      `\nExit codes: 0 ok, 1 msvc failed or nothing answered, 2 a threshold was breached, 130 cancelled.\n` +
        examples([
          'msvc loadtest order --rate 500 --duration 30s --threshold "p99<300ms" --threshold "errors<1%"',
          'msvc loadtest http://127.0.0.1:3001/orders --stages 10s:100,30s:1000 --html load.html',
          'msvc loadtest order --connections 50 -d 10s',
          'msvc loadtest order --auth --rate 200   # behind the gateway: through its route, with a token',
          'msvc loadtest -f load/checkout.yaml --json > result.json',
          'msvc loadtest order --grpc --rate 200   # its gRPC methods through the generated client',
          'msvc loadtest order --rate 200 -d 60s --chaos "kill payment@20s" --threshold "baseline:p99<150ms" --threshold "fault:errors<5%" --threshold "recovery:p99<300ms"',
        ]),
    )
    .action(async (target: string | undefined, opts) => {
      const { runLoadtest } = await import('./commands/loadtest.js')
      await runLoadtest(target, opts, ctx())
    })
  registerEvents(program, ctx)

  return program
}

/** The `create-service` program (`npx create-service shop`). */
export function buildCreateProgram(ctx: () => Ctx, takeWarm: () => WarmPlugin[] = () => []): Command {
  const program = withServiceFlags(
    new Command('create-service')
      .description('create an msvc workspace with its first service')
      .argument('[directory]', 'folder to create; its name is the workspace name')
      .option('--service <name>', 'first service name (default: asked, or "core" with --yes)')
      .option('--name <workspace>', 'workspace name (default: the folder name)')
      .option('--example <name>', "a whole system instead of one service: ecommerce (the course's shop)"),
  )
    .version(VERSION, '-v, --version')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      examples([
        'npx create-service shop',
        'npx create-service shop --yes --service order --http --events --publishes order.created',
        "npx create-service shop --example ecommerce   # the course's shop: 7 services, a saga, a gateway",
      ]),
    )
    .action(async (dir: string | undefined, opts) => {
      // a plugin the bin started (flags asking for grpc); runCreate starts one itself when the
      // answers ask for grpc, and disposes of this one if they do not
      const warm = takeWarm()
      const { runCreate } = await import('./commands/create.js')
      await runCreate(dir, opts, ctx(), warm)
    })
  program.addOption(new Option('--no-color', 'no colours (also NO_COLOR=1)').hideHelp())
  return program
}

/** Runs a program and turns every failure into an exit code: the only place that decides one. */
let pipeGuarded = false

/**
 * A reader that stops early (`create-service --help | head -1`) closes the pipe. What is left of
 * the output is the reader's to drop: the command still runs to its end (and undoes what it
 * changed) instead of dying of an unhandled EPIPE.
 */
function ignoreClosedStdout(): void {
  if (pipeGuarded) return
  pipeGuarded = true
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e
  })
}

export async function main(which: 'msvc' | 'create-service', o: MainOptions = {}): Promise<number> {
  ignoreClosedStdout()
  const env = o.env ?? process.env
  const argv = o.argv ?? process.argv
  if (argv.includes('--no-color')) env.NO_COLOR = '1'
  const ui = createUi({ stdout: o.stdout ?? process.stdout, stderr: o.stderr ?? process.stderr, env })
  const ctx = () => makeCtx(ui, { ...o, env })
  let warm = o.warm ?? []
  const takeWarm = () => {
    const taken = warm
    warm = []
    return taken
  }
  const program = which === 'msvc' ? buildMsvcProgram(ctx) : buildCreateProgram(ctx, takeWarm)
  program.exitOverride()
  try {
    await program.parseAsync(argv)
    return EXIT.ok
  } catch (err) {
    return exitCodeFor(err, ui, argv.includes('--json'))
  } finally {
    // not taken (a parse error, --help): stopped, not left waiting on its stdin
    for (const w of takeWarm()) w.dispose()
  }
}

/**
 * Prints an error (one line and a hint on stderr) and gives the exit code. Under `--json`, when the
 * command wrote nothing to stdout yet, the error is also printed there as one JSON object,
 * `{ "error": { "message", "hint"?, "exitCode" } }`, so that a script reading stdout always gets JSON.
 */
export function exitCodeFor(err: unknown, ui: Ui, json = false): number {
  const report = (message: string, hint: string | undefined, code: number) => {
    ui.error(message, hint)
    if (json && !ui.wroteData()) ui.json({ error: { message, ...(hint ? { hint } : {}), exitCode: code } })
    return code
  }
  const e = err as { name?: string; code?: string; exitCode?: number }
  if (e?.name === 'ExitPromptError' || e?.name === 'AbortPromptError')
    return report('cancelled; nothing was written', undefined, EXIT.cancelled)
  if (err instanceof ExitError) return err.code
  if (err instanceof UserError) return report(err.message, err.hint, EXIT.failed)
  // commander has already printed its own message (unknown option, --help, --version)
  if (typeof e?.code === 'string' && e.code.startsWith('commander.')) return e.exitCode ?? EXIT.failed
  const code = report('Unexpected error. Please report it with the output below.', undefined, EXIT.failed)
  console.error(err)
  return code
}
