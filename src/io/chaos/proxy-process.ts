import { spawn } from 'node:child_process'
import { readdir, readFile } from 'node:fs/promises'
import { UserError } from '../../errors.js'
import { faultProxySource, type ProxyConfig } from './fault-proxy.js'

/**
 * Fault proxies (latency, jitter, bandwidth) run as host processes inside the target's network
 * namespace (`nsenter -t <pid> -n`, then as nobody), not in helper containers: creating and
 * starting a container cost 140-400 ms on this machine, a process about 50 ms, and the fault must
 * take effect within 250 ms of the command (issue #6; docs/architecture.md, Chaos). The node that
 * runs msvc runs the proxy, so the target's image needs nothing.
 *
 * A proxy outlives the msvc that started it when a fault has no --for. It is found again by its
 * command line, which carries this marker, the workspace and the fault id: undo, restore and the
 * stray sweep kill exactly the proxies of one fault or of one workspace, never by pid alone.
 */
export const PROXY_MARKER = 'msvc-fault-proxy'
const NOBODY = '65534'
const READY_TIMEOUT_MS = 5000

export interface ProxyProcess {
  pid: number
  workspace: string
  fault: string
}

/** Starts one proxy in the namespace of `targetPid`; resolves once it listens on every port. */
export function startProxyProcess(
  targetPid: number,
  cfg: ProxyConfig,
  id: { workspace: string; fault: string },
): Promise<number> {
  const child = spawn(
    'nsenter',
    [
      '-t',
      String(targetPid),
      '-n',
      '-S',
      NOBODY,
      '-G',
      NOBODY,
      process.execPath,
      '-e',
      faultProxySource(),
      PROXY_MARKER,
      id.workspace,
      id.fault,
    ],
    {
      detached: true,
      cwd: '/',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { MSVC_PROXY: JSON.stringify(cfg), PATH: process.env.PATH ?? '/usr/bin:/bin' },
    },
  )
  return new Promise<number>((resolve, reject) => {
    let out = ''
    let err = ''
    const done = (e?: Error) => {
      clearTimeout(timer)
      child.stdout!.destroy()
      child.stderr!.destroy()
      child.removeAllListeners()
      if (e) {
        child.kill('SIGKILL')
        return reject(e)
      }
      child.unref()
      resolve(child.pid!)
    }
    const fail = (why: string) =>
      done(
        new UserError(
          `the fault proxy did not start listening: ${why}${err.trim() ? `: ${err.trim().split('\n').slice(-3).join(' ')}` : ''}`,
          proxyFailureHint(why, err, process.execPath),
        ),
      )
    const timer = setTimeout(() => fail(`no answer in ${READY_TIMEOUT_MS} ms`), READY_TIMEOUT_MS)
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString('utf8')
      if (out.includes('msvc-fault-proxy ready')) done()
    })
    child.stderr!.on('data', (c: Buffer) => (err += c.toString('utf8')))
    child.on('error', (e) => fail(`nsenter: ${e.message}`))
    child.on('exit', (code, signal) => fail(`it exited (${signal ?? `code ${code}`})`))
  })
}

/**
 * The hint for a proxy that did not start. The proxy is msvc's own node run as nobody, so a node
 * installed under a private home (root's, with nvm or a cached download) cannot be executed.
 */
export function proxyFailureHint(why: string, stderr: string, nodePath: string): string | undefined {
  if (/Permission denied/.test(stderr) && stderr.includes(nodePath))
    return `fault proxies run this node (${nodePath}) as nobody: install Node where every user may execute it, e.g. under /usr/local or /opt`
  if (/nsenter/.test(why)) return 'network faults need root and nsenter (util-linux)'
  return undefined
}

/** Fault proxies running on this host, from /proc: the marker and what follows it. */
export async function listProxyProcesses(): Promise<ProxyProcess[]> {
  const found: ProxyProcess[] = []
  let pids: string[]
  try {
    pids = (await readdir('/proc')).filter((p) => /^\d+$/.test(p))
  } catch {
    return found
  }
  await Promise.all(
    pids.map(async (pid) => {
      const argv: string[] = await readFile(`/proc/${pid}/cmdline`, 'utf8').then(
        (s) => s.split('\0'),
        () => [],
      )
      const i = argv.indexOf(PROXY_MARKER)
      if (i > 0 && argv[i - 2] === '-e' && argv[i + 1] && argv[i + 2])
        found.push({ pid: Number(pid), workspace: argv[i + 1]!, fault: argv[i + 2]! })
    }),
  )
  return found
}

/**
 * Stops the proxies of one fault, or the ones of a workspace whose fault is not in `keep`. A proxy
 * this user may not signal (msvc ran as root when it applied the fault, and not now) is an error,
 * never counted as stopped.
 */
export async function killProxies(
  by: { fault: string } | { workspace: string; keep: ReadonlySet<string> },
): Promise<number> {
  const doomed = (await listProxyProcesses()).filter((p) =>
    'fault' in by ? p.fault === by.fault : p.workspace === by.workspace && !by.keep.has(p.fault),
  )
  const denied = doomed.filter((p) => signal(p.pid, 'SIGTERM') === 'denied')
  if (denied.length > 0)
    throw new UserError(
      `cannot stop fault prox${denied.length === 1 ? 'y' : 'ies'} ${denied.map((p) => `pid ${p.pid}`).join(', ')}: not allowed to signal ${denied.length === 1 ? 'it' : 'them'}`,
      'faults are applied and undone as root: run `sudo msvc chaos restore`',
    )
  // gone within a second, or killed
  const deadline = Date.now() + 1000
  let alive = doomed.filter((p) => signal(p.pid, 0) === 'sent')
  while (alive.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10))
    alive = alive.filter((p) => signal(p.pid, 0) === 'sent')
  }
  for (const p of alive) signal(p.pid, 'SIGKILL')
  return doomed.length
}

/** Sends a signal (0: only checks the process is there); `denied` when it is another user's. */
export function signal(pid: number, sig: NodeJS.Signals | 0): 'sent' | 'gone' | 'denied' {
  try {
    process.kill(pid, sig)
    return 'sent'
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM' ? 'denied' : 'gone'
  }
}
