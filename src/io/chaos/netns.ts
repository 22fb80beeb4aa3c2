import { execFile } from 'node:child_process'
import { UserError } from '../../errors.js'

export interface NetnsResult {
  exitCode: number
  output: string
}

/**
 * Runs a command in a process's network namespace from the host (`nsenter -t <pid> -n`).
 * node:child_process rather than execa here: a fault's commands are on the path that must take
 * effect within 250 ms of `msvc chaos`, and loading execa (about a hundred ES modules) cost
 * 50-150 ms of that on this machine, measured with --cpu-prof (docs/architecture.md, Chaos).
 */
export function inNetns(pid: number, argv: string[]): Promise<NetnsResult> {
  return new Promise((resolve) => {
    const child = execFile(
      'nsenter',
      ['-t', String(pid), '-n', ...argv],
      { timeout: 10_000, encoding: 'utf8' },
      (err, stdout, stderr) => {
        const e = err as (Error & { code?: number | string }) | null
        if (e && typeof e.code !== 'number')
          // it did not run (no nsenter) or was killed by the timeout
          return resolve({ exitCode: 127, output: `${stderr}${e.message}` })
        resolve({ exitCode: e ? (e.code as number) : 0, output: `${stdout}${stderr}` })
      },
    )
    child.stdin?.end()
  })
}

/** Network faults change a container's namespace from the host: that needs root, nsenter and iptables. */
export async function assertNetnsTools(): Promise<void> {
  if (typeof process.getuid === 'function' && process.getuid() !== 0)
    throw new UserError(
      'network faults need root: msvc enters the container’s network namespace (nsenter) to add iptables rules',
      'run it with sudo (or as root)',
    )
  const r = await inNetns(process.pid, ['iptables', '--version'])
  if (r.exitCode !== 0)
    throw new UserError(
      `iptables is not usable on this host: ${r.output.trim().split('\n')[0] ?? ''}`,
      'install it (Debian/Ubuntu: apt-get install -y iptables iproute2)',
    )
}

/** Runs commands in order; the first failure stops and is returned. */
export async function runAll(
  pid: number,
  commands: string[][],
): Promise<{ failed?: { argv: string[]; output: string } }> {
  for (const argv of commands) {
    const r = await inNetns(pid, argv)
    // `ss -K` prints "RTNETLINK answers: Invalid argument" for families it cannot kill in, yet works
    if (r.exitCode !== 0 && argv[0] !== 'ss') return { failed: { argv, output: r.output.trim() } }
  }
  return {}
}

/** Runs undo commands, all of them, ignoring "no such chain/rule" (never applied, or undone already). */
export async function runUndo(pid: number, commands: string[][]): Promise<string[]> {
  const errors: string[] = []
  for (const argv of commands) {
    const r = await inNetns(pid, argv)
    if (r.exitCode === 0 || argv[0] === 'ss') continue
    if (/No chain|does not exist|Bad rule|No such file/i.test(r.output)) continue
    errors.push(`${argv.join(' ')}: ${r.output.trim()}`)
  }
  return errors
}
