import { execa, type ResultPromise } from 'execa'
import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createService, msvc, REPO } from './cli.js'
import { freePort, waitForHttp } from './net.js'

/**
 * A generated workspace that runs without `npm install`: its node_modules links every package of
 * this repository's (the kit's run-time dependencies are devDependencies here) and its own
 * workspace packages, as npm would hoist them.
 */
export async function createLinkedWorkspace(tmp: string, services: string[][]): Promise<string> {
  // in memory unless a service says otherwise: these services run as processes, with no database
  const [first, ...rest] = services.map((s) => (s.includes('--store') ? s : [...s, '--store', 'memory']))
  const created = await createService(['shop', '--yes', '--service', ...first!], { cwd: tmp })
  if (created.exitCode !== 0) throw new Error(`create-service failed: ${created.stderr}`)
  const root = join(tmp, 'shop')
  for (const args of rest) {
    const r = await msvc(['add', '--yes', ...args], { cwd: root })
    if (r.exitCode !== 0) throw new Error(`msvc add ${args.join(' ')} failed: ${r.stderr}`)
  }
  await linkNodeModules(root)
  return root
}

/** node_modules for a generated workspace named shop: this repository's packages and its own. */
export async function linkNodeModules(root: string): Promise<void> {
  const nm = join(root, 'node_modules')
  await mkdir(join(nm, '@shop'), { recursive: true })
  for (const entry of await readdir(join(REPO, 'node_modules')))
    if (!entry.startsWith('.')) await symlink(join(REPO, 'node_modules', entry), join(nm, entry))
  await symlink(join(root, 'packages/kit'), join(nm, '@shop/kit'))
  await symlink(join(root, 'packages/clients'), join(nm, '@shop/clients'))
}

/** Bundles a service with the workspace's own build script (esbuild), as `npm run build` does. */
export async function bundleService(root: string, service: string): Promise<void> {
  await execa('node', ['../../scripts/build-service.mjs'], { cwd: join(root, 'services', service) })
}

/** Bundles an entry of the test's own (e.g. one that imports @shop/clients) into one ESM file. */
export async function bundleEntry(root: string, name: string, source: string): Promise<string> {
  const entry = join(root, `${name}.ts`)
  await writeFile(entry, source)
  const out = join(root, `${name}.bundle.mjs`)
  const { build } = await import('esbuild')
  await build({
    entryPoints: [entry],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'error',
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
  })
  return out
}

const hasGrpc = async (root: string, service: string) =>
  (await readdir(join(root, 'services', service))).includes('proto')

export interface RunningService {
  httpPort: number
  grpcPort: number
  proc: ResultPromise
  logs: () => string
}

/** Starts a bundled service as its own process on free ports; resolves once /health/live answers. */
export async function startService(
  root: string,
  service: string,
  env: Record<string, string> = {},
): Promise<RunningService> {
  const httpPort = await freePort()
  const grpcPort = await freePort()
  const proc = execa('node', ['dist/main.js'], {
    cwd: join(root, 'services', service),
    env: {
      PORT: String(httpPort),
      GRPC_PORT: String(grpcPort),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ...env,
    },
    reject: false,
    all: true,
  })
  let out = ''
  proc.all?.on('data', (d: Buffer) => (out += d.toString()))
  await waitForHttp(`http://127.0.0.1:${httpPort}/health/live`, 15_000)
  if (env.NO_GRPC !== '1' && (await hasGrpc(root, service))) await waitForPort(grpcPort)
  return { httpPort, grpcPort, proc, logs: () => out }
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port. */
export async function waitForPort(port: number, timeoutMs = 15_000): Promise<void> {
  const { connect } = await import('node:net')
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1')
      s.once('connect', () => {
        s.destroy()
        resolve(true)
      })
      s.once('error', () => resolve(false))
    })
    if (ok) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`)
}
