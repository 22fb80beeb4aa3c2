import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { execa, type Options } from 'execa'
import { stripVTControlCharacters } from 'node:util'
import { MSVC_BIN } from './cli.js'
import { containersWithLabel, docker } from './docker.js'
import { freePort, waitForHttp } from './net.js'
import { makeTempDir } from './temp-dir.js'

/**
 * A tiny HTTP service: /health/ready and /health/live answer 200, /metrics a gauge set by
 * /set?v=, anything else echoes; exits on SIGTERM, as a generated service does. Runs with the host's
 * node in node:20-slim.
 */
export const SERVER = `
let gauge = 0
process.on('SIGTERM', () => process.exit(0))
require('http').createServer((q, s) => {
  if (q.url.startsWith('/set?v=')) gauge = Number(q.url.slice(7))
  if (q.url === '/metrics') return s.end('# TYPE demo_gauge gauge\\ndemo_gauge{kind="x"} ' + gauge + '\\n')
  if (q.url === '/big') return s.end('x'.repeat(200000))
  s.setHeader('content-type', 'application/json')
  s.end(JSON.stringify({ ok: true, url: q.url }))
}).listen(Number(process.env.PORT), '0.0.0.0')
`

export const HEALTH = `fetch('http://127.0.0.1:'+process.env.PORT+'/health/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))`

export interface ChaosStack {
  ws: string
  root: string
  network: string
  services: Record<string, { port: number; container: string }>
  /** runs the msvc bin (chaos registered) in the workspace */
  msvc(
    args: string[],
    opts?: Options,
  ): Promise<{ exitCode: number; stdout: string; stderr: string }> & {
    child: { kill(signal: NodeJS.Signals): boolean }
  }
  pid(service: string): Promise<number>
  teardown(): Promise<void>
}

/**
 * A workspace (msvc.yaml) and its containers, labelled as msvc labels them, on a network of their
 * own: each service runs SERVER with a HEALTHCHECK and `--restart unless-stopped`, its port
 * published on 127.0.0.1. Unique names per call; teardown removes everything by label. With
 * `healthCheck: false`, no health check (each check starts a node process in the container): the
 * stack is ready once every port answers.
 */
export async function startChaosStack(
  names: string[],
  opts: { healthCheck?: boolean } = {},
): Promise<ChaosStack> {
  const ws = `chaos-${randomBytes(4).toString('hex')}`
  const root = await makeTempDir('msvc-chaos-')
  const network = `${ws}_default`
  const services: ChaosStack['services'] = {}
  for (const n of names) services[n] = { port: await freePort(), container: '' }
  const yaml = [
    `name: ${ws}`,
    'services:',
    ...names.flatMap((n) => [
      `  ${n}:`,
      '    capabilities: [http]',
      `    ports: { http: ${services[n]!.port} }`,
    ]),
  ].join('\n')
  await writeFile(`${root}/msvc.yaml`, yaml + '\n')
  const stack: ChaosStack = {
    ws,
    root,
    network,
    services,
    msvc(args, opts = {}) {
      const child = execa('node', [MSVC_BIN, ...args], {
        cwd: root,
        reject: false,
        stdin: 'ignore',
        ...opts,
        env: { NO_COLOR: '1', CI: '1', ...(opts.env as Record<string, string> | undefined) },
      })
      const done = child.then((r) => ({
        exitCode: r.exitCode ?? (r.signal ? 128 + 9 : -1),
        stdout: stripVTControlCharacters(String(r.stdout)),
        stderr: stripVTControlCharacters(String(r.stderr)),
      }))
      return Object.assign(done, { child: { kill: (sig: NodeJS.Signals) => child.kill(sig) } })
    },
    pid: async (service) =>
      Number(await docker(['inspect', '-f', '{{.State.Pid}}', services[service]!.container])),
    async teardown() {
      const ids = await containersWithLabel(`msvc.workspace=${ws}`).catch(() => [])
      if (ids.length) await docker(['rm', '-f', ...ids]).catch(() => '')
      await docker(['network', 'rm', network]).catch(() => '')
    },
  }
  try {
    await docker(['network', 'create', '--label', `msvc.workspace=${ws}`, network])
    for (const [n, s] of Object.entries(services)) {
      s.container = await docker([
        'run',
        '-d',
        '--name',
        `${ws}_${n}_1`,
        '--label',
        `msvc.workspace=${ws}`,
        '--label',
        `msvc.service=${n}`,
        '--label',
        'com.docker.compose.container-number=1',
        '--network',
        network,
        '--network-alias',
        n,
        '-p',
        `127.0.0.1:${s.port}:${s.port}`,
        '-e',
        `PORT=${s.port}`,
        '--restart',
        'unless-stopped',
        ...(opts.healthCheck === false
          ? []
          : [
              '--health-cmd',
              `node -e "${HEALTH}"`,
              '--health-interval',
              '1s',
              '--health-retries',
              '2',
              '--health-timeout',
              '2s',
            ]),
        'node:20-slim',
        'node',
        '-e',
        SERVER,
      ])
    }
    for (const s of Object.values(services)) await waitForHttp(`http://127.0.0.1:${s.port}/health/ready`)
    if (opts.healthCheck !== false) for (const s of Object.values(services)) await waitHealthy(s.container)
  } catch (e) {
    await stack.teardown()
    throw e
  }
  return stack
}

/** Polls Docker until the container's health is `healthy`. */
export async function waitHealthy(container: string, timeoutMs = 20_000): Promise<number> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const h = await docker(['inspect', '-f', '{{.State.Health.Status}}', container]).catch(() => '')
    if (h === 'healthy') return Date.now()
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new Error(`${container} not healthy within ${timeoutMs} ms`)
}

/** One timed GET; the elapsed ms, or the error code. */
export async function timedGet(
  url: string,
  timeoutMs = 3000,
): Promise<{ ms: number; ok: boolean; error?: string }> {
  const t0 = performance.now()
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })
    await r.arrayBuffer()
    return { ms: performance.now() - t0, ok: r.ok }
  } catch (e) {
    const err = e as Error & { cause?: { code?: string } }
    return { ms: performance.now() - t0, ok: false, error: err.cause?.code ?? err.name }
  }
}

/** A GET from inside another container of the stack (over the compose network): elapsed ms or error. */
export async function getFrom(
  container: string,
  url: string,
  n = 1,
): Promise<{ ms: number; ok: boolean; error?: string }> {
  // n GETs one after another in one node process; the median time, ok only when all were. The
  // first one pays for DNS and the client's start-up: a single sample is noisy on a busy machine.
  const script = `(async()=>{const r=[];for(let i=0;i<${n};i++){const t=performance.now();try{const a=await fetch('${url}',{signal:AbortSignal.timeout(3000)});await a.text();r.push({ms:performance.now()-t,ok:a.ok})}catch(e){r.push({ms:performance.now()-t,ok:false,error:(e.cause&&e.cause.code)||e.name})}}const s=r.map(x=>x.ms).sort((a,b)=>a-b);const bad=r.find(x=>!x.ok);console.log(JSON.stringify({ms:s[Math.floor(s.length/2)],ok:!bad,...(bad?{error:bad.error}:{})}))})()`
  const out = await docker(['exec', container, 'node', '-e', script])
  return JSON.parse(out) as { ms: number; ok: boolean; error?: string }
}

/** iptables-save inside a container's network namespace. */
export async function iptablesSave(pid: number): Promise<string> {
  const r = await execa('nsenter', ['-t', String(pid), '-n', 'iptables-save'], { reject: false })
  return String(r.stdout)
}

/** Fault proxy processes of a workspace running on this host (found by their command line). */
export async function proxiesOf(ws: string): Promise<number[]> {
  const { listProxyProcesses } = await import('../../src/io/chaos/proxy-process.js')
  return (await listProxyProcesses()).filter((p) => p.workspace === ws).map((p) => p.pid)
}
