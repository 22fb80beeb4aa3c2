import { UserError } from '../../errors.js'
import { formatDuration, formatRate, parseDuration, parsePercent, parseRate } from './units.js'

/** Every fault msvc can inject, in the order the CLI lists them. */
export const FAULT_KINDS = [
  'kill',
  'stop',
  'restart',
  'pause',
  'latency',
  'loss',
  'reset',
  'bandwidth',
  'partition',
] as const
export type FaultKind = (typeof FAULT_KINDS)[number]

export type FaultSpec =
  | { kind: 'kill'; signal: string }
  | { kind: 'stop' }
  | { kind: 'restart' }
  | { kind: 'pause' }
  | { kind: 'latency'; delayMs: number; jitterMs: number }
  | { kind: 'loss'; probability: number }
  | { kind: 'reset' }
  | { kind: 'bandwidth'; bytesPerSecond: number }
  | { kind: 'partition'; from?: string }

/** How a fault is made (docs/chaos.md says why). */
export type Mechanism = 'engine' | 'iptables' | 'proxy'

export const MECHANISM: Record<FaultKind, Mechanism> = {
  kill: 'engine',
  stop: 'engine',
  restart: 'engine',
  pause: 'engine',
  latency: 'proxy',
  bandwidth: 'proxy',
  loss: 'iptables',
  reset: 'iptables',
  partition: 'iptables',
}

/** Faults that last until undone: they go in the restore ledger and take `--for`. */
export const isLastingFault = (kind: FaultKind): boolean => kind !== 'kill' && kind !== 'restart'

/** Faults after which msvc watches the target and reports the time to recover. */
export const watchesRecovery = (kind: FaultKind): boolean =>
  kind === 'kill' || kind === 'restart' || kind === 'stop' || kind === 'pause' || kind === 'partition'

/**
 * Where the recovery clock starts: a kill or restart is over once it happened, so it runs from the
 * fault; stop, pause and partition hold the service down, so it runs from their end.
 */
export const recoveryClockStarts = (kind: FaultKind): 'fault' | 'end' =>
  kind === 'kill' || kind === 'restart' ? 'fault' : 'end'

/** Does recovery require a new container process (the old one died)? */
export const expectsNewProcess = (kind: FaultKind): boolean => kind === 'kill' || kind === 'restart'

const SIGNALS = new Set([
  'SIGKILL',
  'SIGTERM',
  'SIGINT',
  'SIGHUP',
  'SIGQUIT',
  'SIGUSR1',
  'SIGUSR2',
  'SIGABRT',
  'SIGSEGV',
])

/** Raw values of a fault as the CLI or an experiment gives them (strings, as typed). */
export interface FaultInput {
  kind: FaultKind
  /** latency: the delay; loss: the percentage; bandwidth: the rate */
  value?: string
  jitter?: string
  signal?: string
  from?: string
}

/** Turns typed values into a fault spec; a UserError names the bad value and shows a good one. */
export function toFaultSpec(input: FaultInput): FaultSpec {
  const need = (what: string, example: string): string => {
    if (input.value === undefined || input.value === '')
      throw new UserError(`${input.kind} needs ${what}`, `for example: msvc chaos ${input.kind} ${example}`)
    return input.value
  }
  switch (input.kind) {
    case 'kill': {
      const raw = (input.signal ?? 'SIGKILL').toUpperCase()
      const signal = raw.startsWith('SIG') ? raw : `SIG${raw}`
      if (!SIGNALS.has(signal))
        throw new UserError(`unknown signal "${input.signal}"`, `one of ${[...SIGNALS].join(', ')}`)
      return { kind: 'kill', signal }
    }
    case 'stop':
    case 'restart':
    case 'pause':
    case 'reset':
      return { kind: input.kind }
    case 'latency': {
      const raw = need('a delay', 'payment 200ms --jitter 50ms')
      const delayMs = parseDuration(raw)
      if (delayMs === undefined || delayMs <= 0)
        throw new UserError(`latency "${raw}" is not a delay`, 'for example 200ms or 1s')
      let jitterMs = 0
      if (input.jitter !== undefined) {
        const j = parseDuration(input.jitter)
        if (j === undefined)
          throw new UserError(`--jitter "${input.jitter}" is not a duration`, 'for example 50ms')
        if (j > delayMs)
          throw new UserError(
            `--jitter ${input.jitter} is larger than the delay ${raw}`,
            'jitter varies the delay by up to ± that much, so it cannot exceed it',
          )
        jitterMs = j
      }
      return { kind: 'latency', delayMs, jitterMs }
    }
    case 'loss': {
      const raw = need('a percentage', 'payment 20%')
      const probability = parsePercent(raw)
      if (probability === undefined || probability <= 0)
        throw new UserError(`loss "${raw}" is not a percentage above 0`, 'for example 20% or 0.5%')
      return { kind: 'loss', probability }
    }
    case 'bandwidth': {
      const raw = need('a rate', 'payment 100kbit')
      const bytesPerSecond = parseRate(raw)
      if (bytesPerSecond === undefined)
        throw new UserError(
          `bandwidth "${raw}" is not a rate`,
          'for example 100kbit, 1mbit or 50kbps (bytes)',
        )
      return { kind: 'bandwidth', bytesPerSecond }
    }
    case 'partition':
      return { kind: 'partition', ...(input.from ? { from: input.from } : {}) }
  }
}

/** One line on what a fault does: "latency +200ms ±50ms". */
export function describeFault(spec: FaultSpec): string {
  switch (spec.kind) {
    case 'kill':
      return `kill (${spec.signal})`
    case 'latency':
      return `latency +${formatDuration(spec.delayMs)}${spec.jitterMs ? ` ±${formatDuration(spec.jitterMs)}` : ''}`
    case 'loss':
      return `packet loss ${Number((spec.probability * 100).toFixed(3))}%`
    case 'bandwidth':
      return `bandwidth ${formatRate(spec.bytesPerSecond)}`
    case 'reset':
      return 'TCP connection resets'
    case 'partition':
      return spec.from ? `network partition from ${spec.from}` : 'network partition'
    default:
      return spec.kind
  }
}

/** Which replicas a fault hits. */
export interface ReplicaSelection {
  replica?: number
  all?: boolean
}

/**
 * Picks targets among a service's containers (sorted by replica number). One replica is the
 * default, as with Pumba naming one container; `--all` takes every replica.
 */
export function selectReplicas<T>(sorted: T[], sel: ReplicaSelection, service: string): T[] {
  if (sel.all) return sorted
  const n = sel.replica ?? 1
  if (!Number.isInteger(n) || n < 1 || n > sorted.length)
    throw new UserError(
      `${service} has ${sorted.length} running replica${sorted.length === 1 ? '' : 's'}; --replica ${sel.replica} is not one of them`,
      sorted.length > 1 ? `use --replica 1..${sorted.length} or --all` : 'leave out --replica',
    )
  return [sorted[n - 1]!]
}

/** The iptables chain a fault owns (iptables allows 28 characters). */
export const chainName = (faultId: string, suffix: 'in' | 'out' | 'nat'): string =>
  `MSVC-${faultId.slice(0, 8)}-${suffix}`
