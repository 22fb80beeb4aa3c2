import { spawn, type ChildProcess } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

/**
 * ts-proto's protoc plugin, started before it is needed. The plugin is a Node program that spends
 * most of its ~150 ms loading its modules before it reads protoc's request from stdin; started
 * at the beginning of `create-service`/`msvc add`, that loading runs on the other core while the
 * templates are rendered and written, and only the generation itself is left on the critical path
 * (issue #2: scaffolding a grpc service in under 300 ms). protoc still parses the protos and
 * builds the request, captured by a one-line shell plugin; the warm plugin gets those exact bytes
 * (compileServiceProtos). `msvc proto gen` spawns the plugin through protoc as usual.
 */
export interface WarmPlugin {
  /** Feeds it protoc's CodeGeneratorRequest; resolves with its CodeGeneratorResponse bytes. */
  generate(request: Uint8Array): Promise<Uint8Array>
  /** Stops it when it was not used (an error before generation). */
  dispose(): void
}

export function startWarmPlugin(pluginPath: string): WarmPlugin {
  const child: ChildProcess = spawn(process.execPath, [pluginPath], { stdio: ['pipe', 'pipe', 'pipe'] })
  const out: Buffer[] = []
  const err: Buffer[] = []
  child.stdout!.on('data', (c: Buffer) => out.push(c))
  child.stderr!.on('data', (c: Buffer) => err.push(c))
  // an EPIPE when it died early is reported through the exit below
  child.stdin!.on('error', () => {})
  const exited = new Promise<{ code: number | null; error?: Error }>((resolve) => {
    child.on('error', (error) => resolve({ code: null, error }))
    child.on('close', (code) => resolve({ code }))
  })
  let used = false
  return {
    async generate(request) {
      used = true
      child.stdin!.end(request)
      const { code, error } = await exited
      if (code !== 0)
        throw new Error(
          `the ts-proto plugin failed (${error?.message ?? `exit ${code}`}): ${Buffer.concat(err).toString('utf8').trim()}`,
        )
      return Buffer.concat(out)
    },
    dispose() {
      if (!used && child.exitCode === null) child.kill()
    },
  }
}

/** The ts-proto plugin shipped as a dependency of msvc. */
export function tsProtoPluginPath(): string {
  return join(dirname(createRequire(import.meta.url).resolve('ts-proto/package.json')), 'protoc-gen-ts_proto')
}

/** One warm plugin per service that will need generating, for scaffolding commands. */
export function warmPluginsFor(count: number): WarmPlugin[] {
  if (count === 0) return []
  const path = tsProtoPluginPath()
  return Array.from({ length: Math.min(count, 4) }, () => startWarmPlugin(path))
}

/**
 * The flags of `create-service` ask for a grpc service (and not for --help, --version or
 * --dry-run): read from the raw argv, before the CLI has loaded, so that the bin can start the
 * plugin first (bin/create-service.js). The commander parse decides everything else.
 */
export function argvWantsGrpc(argv: string[]): boolean {
  if (argv.some((a) => ['-h', '--help', '-v', '--version', '--dry-run'].includes(a))) return false
  return argv.some(
    (a, i) =>
      a === '--grpc' ||
      (a.startsWith('--capabilities=') && hasGrpc(a.slice('--capabilities='.length))) ||
      (a === '--capabilities' && hasGrpc(argv[i + 1] ?? '')),
  )
}

const hasGrpc = (list: string) => list.split(',').some((c) => c.trim() === 'grpc')
