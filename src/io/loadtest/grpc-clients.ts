/**
 * The gRPC side of a load run: the workspace's generated client of each service called, loaded as
 * the workspace's services load it, and turned into calls the engine can send.
 *
 * `packages/clients` is a source-only package (like the kit: services bundle it), so there is no
 * built output to import. msvc bundles the generated client module of each service
 * (`packages/clients/src/gen/<service>/client.ts`, what `@<ws>/clients` exports) with the
 * workspace's own esbuild into `.msvc/loadtest/`, and leaves `@grpc/grpc-js` and every other npm
 * package external, so they resolve from the workspace's node_modules: the code that sends the
 * calls is the code the services call each other with.
 */
import { mkdir, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import {
  resolveGrpcCall,
  toGrpcCatalog,
  type CompiledGrpcCall,
  type GrpcCatalog,
} from '../../core/loadtest/grpc-message.js'
import { grpcAddress, type GrpcCallSpec, type GrpcResilience } from '../../core/loadtest/grpc-scenario.js'
import { GRPC_UNKNOWN } from '../../core/loadtest/grpc-status.js'
import { compileTemplate } from '../../core/loadtest/request.js'
import type { Workspace } from '../../core/workspace/model.js'
import { GEN_DIR } from '../../core/proto/model.js'
import { UserError } from '../../errors.js'
import { exists } from '../fs.js'

/** The parts of @grpc/grpc-js a run uses (the workspace's copy, loaded at run time). */
interface GrpcJs {
  Channel: new (target: string, creds: unknown, options: Record<string, unknown>) => GrpcChannel
  credentials: { createInsecure(): unknown }
  connectivityState: Record<string, number>
}
interface GrpcChannel {
  getConnectivityState(tryToConnect: boolean): number
  watchConnectivityState(current: number, deadline: number, cb: (error?: Error) => void): void
  close(): void
}
type Caller = Record<string, unknown> & { close(): void }
type CallerFactory = (opts: Record<string, unknown>) => Caller

/** What a loaded workspace offers a run: each service's generated client module and catalog. */
export interface LoadedClients {
  grpc: GrpcJs
  modules: Map<string, Record<string, unknown>>
  catalogs: Map<string, GrpcCatalog>
}

const GEN_HINT = 'run `msvc proto gen` in the workspace'
const INSTALL_HINT = 'run `npm install` in the workspace (after `msvc proto gen`)'

/** Bundles and imports the generated clients of `services`; a workspace not generated or not installed is a UserError. */
export async function loadGeneratedClients(
  root: string,
  ws: Workspace,
  services: string[],
): Promise<LoadedClients> {
  for (const s of services)
    for (const f of ['client.ts', 'descriptors.ts'])
      if (!(await exists(join(root, GEN_DIR, s, f))))
        throw new UserError(`${s} has no generated gRPC client (${GEN_DIR}/${s}/${f} is missing)`, GEN_HINT)
  const req = createRequire(join(root, 'package.json'))
  const resolveIn = (pkg: string): string => {
    try {
      return req.resolve(pkg)
    } catch {
      throw new UserError(`${pkg} is not installed in the workspace`, INSTALL_HINT)
    }
  }
  resolveIn('@grpc/grpc-js')
  const esbuild = (await import(pathToFileURL(resolveIn('esbuild')).href)) as {
    build?: (o: Record<string, unknown>) => Promise<unknown>
    default?: { build: (o: Record<string, unknown>) => Promise<unknown> }
  }
  const build = esbuild.build ?? esbuild.default!.build
  const own = `@${ws.name}/`
  const entry = [
    "export { Channel, credentials, connectivityState } from '@grpc/grpc-js'",
    ...services.flatMap((s, i) => [
      `export * as client${i} from './${GEN_DIR}/${s}/client.ts'`,
      `export { FILE_DESCRIPTORS as descriptors${i} } from './${GEN_DIR}/${s}/descriptors.ts'`,
    ]),
  ].join('\n')
  const dir = join(root, '.msvc', 'loadtest')
  await mkdir(dir, { recursive: true })
  const outfile = join(dir, `clients-${process.pid}-${Date.now()}.mjs`)
  let bundle: Record<string, unknown>
  try {
    try {
      await build({
        stdin: { contents: entry, resolveDir: root, sourcefile: 'msvc-loadtest-clients.ts', loader: 'ts' },
        outfile,
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        logLevel: 'silent',
        plugins: [
          {
            name: 'workspace-node-modules',
            setup(b: { onResolve: (o: { filter: RegExp }, f: (a: { path: string }) => unknown) => void }) {
              // the workspace's own packages (the kit, the clients) are TypeScript sources: bundled;
              // npm packages stay imports, resolved from the workspace's node_modules
              b.onResolve({ filter: /^[^./]/ }, (a) =>
                a.path.startsWith(own) ? undefined : { path: a.path, external: true },
              )
            },
          },
        ],
      })
    } catch (e) {
      const first = (e as { errors?: { text: string }[] }).errors?.[0]?.text ?? (e as Error).message
      throw new UserError(`cannot load the generated gRPC clients: ${first.split('\n')[0]}`, INSTALL_HINT)
    }
    bundle = (await import(pathToFileURL(outfile).href)) as Record<string, unknown>
  } finally {
    await rm(outfile, { force: true })
  }
  const modules = new Map<string, Record<string, unknown>>()
  const catalogs = new Map<string, GrpcCatalog>()
  services.forEach((s, i) => {
    modules.set(s, bundle[`client${i}`] as Record<string, unknown>)
    catalogs.set(s, toGrpcCatalog(bundle[`descriptors${i}`] as string[]))
  })
  return { grpc: bundle as unknown as GrpcJs, modules, catalogs }
}

/** gRPC calls ready for the engine, the channels under them, and how to wait for and close those. */
export interface GrpcCalls {
  calls: CompiledGrpcCall[]
  /** resolves once every channel is connected, or `timeoutMs` passed; returns the addresses that are not */
  connect(timeoutMs: number): Promise<string[]>
  close(): void
}

const codeOf = (e: unknown): number => {
  const c = (e as { code?: unknown } | undefined)?.code
  return typeof c === 'number' && Number.isInteger(c) && c >= 0 && c <= 16 ? c : GRPC_UNKNOWN
}

/**
 * The calls of a run through the generated clients: one channel (one HTTP/2 connection) per
 * address shared by every client of it. With `resilience: 'off'` each call is one attempt and
 * the breaker never opens, so every measured call is exactly one RPC.
 */
export function createGrpcCalls(
  loaded: LoadedClients,
  ws: Workspace,
  specs: { spec: GrpcCallSpec; at: string }[],
  resilience: GrpcResilience,
): GrpcCalls {
  const { grpc } = loaded
  const channels = new Map<string, GrpcChannel>()
  const callers = new Map<string, Caller>()
  const calls = specs.map(({ spec, at }): CompiledGrpcCall => {
    const r = resolveGrpcCall(spec, loaded.catalogs.get(spec.service)!, at)
    if (!r.ok) throw new UserError(r.problem.message, r.problem.hint)
    const { factory, callerMethod, message, path } = r.call
    const address = grpcAddress(spec, ws)
    const make = loaded.modules.get(spec.service)![factory] as CallerFactory | undefined
    if (typeof make !== 'function')
      throw new UserError(
        `the generated client of ${spec.service} has no ${factory}`,
        'it is older than the proto: run `msvc proto gen`',
      )
    let channel = channels.get(address)
    if (!channel) {
      channel = new grpc.Channel(address, grpc.credentials.createInsecure(), {})
      channels.set(address, channel)
    }
    const key = `${spec.service}\0${factory}\0${address}`
    let caller = callers.get(key)
    if (!caller) {
      caller = make({
        address,
        channelOptions: { channelOverride: channel },
        // retries would hide errors and stretch latencies; a breaker would turn a slow service
        // into instant UNAVAILABLEs. Off unless the scenario asks for the client's behaviour.
        ...(resilience === 'off'
          ? { maxAttempts: 1, breaker: { failureThreshold: Number.MAX_SAFE_INTEGER } }
          : {}),
      })
      callers.set(key, caller)
    }
    const fn = caller[callerMethod] as ((req: unknown, o: unknown) => Promise<unknown>) | undefined
    if (typeof fn !== 'function')
      throw new UserError(
        `the generated client of ${spec.service} has no method ${callerMethod}`,
        'it is older than the proto: run `msvc proto gen`',
      )
    const md = Object.entries(spec.metadata).map(([k, v]) => [k, compileTemplate(v)] as const)
    const staticMd = md.every(([, t]) => t.isStatic)
    const base = spec.deadlineMs !== undefined ? { deadlineMs: spec.deadlineMs } : {}
    const fixed = md.length
      ? {
          ...base,
          metadata: Object.fromEntries(
            md.map(([k, t]) => [k, t.render({ seq: 0, random: Math.random, nowMs: 0 })]),
          ),
        }
      : base
    return {
      spec: { name: spec.name, weight: spec.weight, method: 'gRPC', path, expect: spec.expect },
      call(c, done) {
        const options = staticMd
          ? fixed
          : { ...base, metadata: Object.fromEntries(md.map(([k, t]) => [k, t.render(c)])) }
        let p: Promise<unknown>
        try {
          p = fn(message.render(c), options)
        } catch (e) {
          p = Promise.reject(e)
        }
        p.then(
          () => done(0),
          (e: unknown) => done(codeOf(e)),
        )
      },
    }
  })
  return {
    calls,
    async connect(timeoutMs) {
      const ready = grpc.connectivityState.READY!
      const until = Date.now() + timeoutMs
      const waitFor = (ch: GrpcChannel): Promise<boolean> =>
        new Promise((resolve) => {
          const check = () => {
            const s = ch.getConnectivityState(true)
            if (s === ready) return resolve(true)
            if (Date.now() >= until) return resolve(false)
            ch.watchConnectivityState(s, until, () => check())
          }
          check()
        })
      const states = await Promise.all([...channels.values()].map(waitFor))
      return [...channels.keys()].filter((_, i) => !states[i])
    },
    close() {
      // the clients cancel their calls still in flight (counted CANCELLED by the engine already),
      // which would otherwise hold the process until their deadlines
      for (const caller of callers.values()) caller.close()
      for (const ch of channels.values()) ch.close()
    },
  }
}
