import { runQuick } from '../exec.js'
import { UserError } from '../../errors.js'

export interface NetnsResult {
  exitCode: number
  output: string
}

/** Runs a command in a process's network namespace from the host (`nsenter -t <pid> -n`). */
export function inNetns(pid: number, argv: string[]): Promise<NetnsResult> {
  return runQuick('nsenter', ['-t', String(pid), '-n', ...argv], { timeoutMs: 10_000 })
}

/**
 * Network faults change a container's namespace from the host: that needs root, nsenter, iptables
 * and iproute2's `ss` (undoing latency and bandwidth cuts the connections through the proxy with it).
 */
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
  const ss = await inNetns(process.pid, ['ss', '-V'])
  if (ss.exitCode !== 0)
    throw new UserError(
      `iproute2's ss is not usable on this host: ${ss.output.trim().split('\n')[0] ?? ''}`,
      'install it (Debian/Ubuntu: apt-get install -y iproute2)',
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
