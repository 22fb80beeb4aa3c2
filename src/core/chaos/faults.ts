import { UserError } from '../errors.js'
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

/** A FaultInput from values that may be missing: only the given ones are set. */
export function faultInput(
  kind: FaultKind,
  values: {
    value?: string | undefined
    jitter?: string | undefined
    signal?: string | undefined
    from?: string | undefined
  },
): FaultInput {
  const input: FaultInput = { kind }
  if (values.value !== undefined) input.value = values.value
  if (values.jitter !== undefined) input.jitter = values.jitter
  if (values.signal !== undefined) input.signal = values.signal
  if (values.from !== undefined) input.from = values.from
  return input
}

/**
 * What is wrong with a fault's values, worded for no source in particular: each source (a flag,
 * an experiment file) names the value its own way (`phraseFaultProblem`, experiment.ts).
 */
export interface FaultProblem {
  /** the value at fault: the main one (a delay, a percentage, a rate), the jitter or the signal */
  field: 'value' | 'jitter' | 'signal'
  /** the main value is missing: `text` then follows the fault's kind ("latency needs a delay") */
  missing?: boolean
  /** follows the value's name: `"soon" is not a delay` */
  text: string
  hint: string
}

export type FaultSpecResult = { ok: true; spec: FaultSpec } | { ok: false; problem: FaultProblem }

/** Turns typed values into a fault spec, or the problem with one of them. */
export function parseFaultSpec(input: FaultInput): FaultSpecResult {
  const fail = (problem: FaultProblem): FaultSpecResult => ({ ok: false, problem })
  const missing = (what: string, example: string): FaultSpecResult =>
    fail({ field: 'value', missing: true, text: `needs ${what}`, hint: `for example ${example}` })
  const raw = input.value ?? ''
  switch (input.kind) {
    case 'kill': {
      const given = (input.signal ?? 'SIGKILL').toUpperCase()
      const signal = given.startsWith('SIG') ? given : `SIG${given}`
      if (!SIGNALS.has(signal))
        return fail({
          field: 'signal',
          text: `"${input.signal}" is not a signal msvc sends`,
          hint: `one of ${[...SIGNALS].join(', ')}`,
        })
      return { ok: true, spec: { kind: 'kill', signal } }
    }
    case 'stop':
    case 'restart':
    case 'pause':
    case 'reset':
      return { ok: true, spec: { kind: input.kind } }
    case 'latency': {
      if (raw === '') return missing('a delay', '200ms')
      const delayMs = parseDuration(raw)
      if (delayMs === undefined || delayMs <= 0)
        return fail({ field: 'value', text: `"${raw}" is not a delay`, hint: 'for example 200ms or 1s' })
      let jitterMs = 0
      if (input.jitter !== undefined) {
        const j = parseDuration(input.jitter)
        if (j === undefined)
          return fail({
            field: 'jitter',
            text: `"${input.jitter}" is not a duration`,
            hint: 'for example 50ms',
          })
        if (j > delayMs)
          return fail({
            field: 'jitter',
            text: `${input.jitter} is larger than the delay ${raw}`,
            hint: 'jitter varies the delay by up to ± that much, so it cannot exceed it',
          })
        jitterMs = j
      }
      return { ok: true, spec: { kind: 'latency', delayMs, jitterMs } }
    }
    case 'loss': {
      if (raw === '') return missing('a percentage', '20%')
      const probability = parsePercent(raw)
      if (probability === undefined || probability <= 0)
        return fail({
          field: 'value',
          text: `"${raw}" is not a percentage above 0`,
          hint: 'for example 20% or 0.5%',
        })
      return { ok: true, spec: { kind: 'loss', probability } }
    }
    case 'bandwidth': {
      if (raw === '') return missing('a rate', '100kbit')
      const bytesPerSecond = parseRate(raw)
      if (bytesPerSecond === undefined)
        return fail({
          field: 'value',
          text: `"${raw}" is not a rate`,
          hint: 'for example 100kbit, 1mbit or 50kbps (bytes)',
        })
      return { ok: true, spec: { kind: 'bandwidth', bytesPerSecond } }
    }
    case 'partition':
      return { ok: true, spec: { kind: 'partition', ...(input.from ? { from: input.from } : {}) } }
  }
}

/** A fault problem worded for the command line: `latency "soon" is not a delay`, `--jitter ...`. */
export function phraseFaultProblem(kind: FaultKind, p: FaultProblem): { message: string; hint: string } {
  const name = p.missing || p.field === 'value' ? kind : `--${p.field}`
  const hint = p.missing
    ? p.hint.replace(/^for example /, `for example: msvc chaos ${kind} <service> `)
    : p.hint
  return { message: `${name} ${p.text}`, hint }
}

/** parseFaultSpec for the command line: the problem as a UserError. */
export function toFaultSpec(input: FaultInput): FaultSpec {
  const r = parseFaultSpec(input)
  if (r.ok) return r.spec
  const { message, hint } = phraseFaultProblem(input.kind, r.problem)
  throw new UserError(message, hint)
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
