/**
 * One fault's life, the same for `msvc chaos <fault>`, an experiment's fault step and a fault
 * inside a load run: inject, hold (ended early by the caller's signal), undo, then watch the
 * service recover. The edges (applying, undoing, inspecting, watching) come in as `FaultEdges`, so
 * the sequence is tested in process with fakes (lifecycle.test.ts) and for real in the chaos
 * integration tests.
 */
import {
  MECHANISM,
  expectsNewProcess,
  isLastingFault,
  recoveryClockStarts,
  watchesRecovery,
} from '../../core/chaos/faults.js'
import type { LedgerEntry } from '../../core/chaos/ledger.js'
import type { RecoveryReport } from '../../core/chaos/recovery.js'
import type { Workspace } from '../../core/workspace/model.js'
import type { Engine } from '../engine.js'
import { injectFault, liftFault, type FaultRequest, type InjectedFault } from './runner.js'
import type { ChaosTarget } from './targets.js'
import { watchRecovery, type WatchOptions } from './watch.js'

/** What a fault's life touches; `engineEdges` gives the real ones. */
export interface FaultEdges {
  inject(req: FaultRequest): Promise<InjectedFault>
  /** undoes a lasting fault and forgets it; rejects (and keeps it in the ledger) if it cannot */
  lift(entry: LedgerEntry): Promise<{ endedAt: number; notes: string[] }>
  /** the container's main pid now; undefined when it cannot be inspected */
  pidOf(containerId: string): Promise<number | undefined>
  watch(opts: WatchOptions): Promise<RecoveryReport>
}

export function engineEdges(d: Engine, root: string, ws: Workspace): FaultEdges {
  return {
    inject: (req) => injectFault(d, root, ws, req),
    lift: (entry) => liftFault(d, root, entry),
    pidOf: (id) =>
      d
        .getContainer(id)
        .inspect()
        .then(
          (c) => c.State.Pid,
          () => undefined,
        ),
    watch: (opts) => watchRecovery(d, opts),
  }
}

export interface LifecycleRequest extends FaultRequest {
  /**
   * How long this process holds a lasting fault before undoing it: a number of ms (`--for`),
   * `until-aborted` (until the signal, as a fault of a load run without `for`), or `leave` (it stays
   * for `msvc chaos restore`, or for the caller to lift; undone at once if the signal has fired).
   */
  hold: number | 'until-aborted' | 'leave'
  /** watch recovery afterwards (for the faults that have one); undefined: do not watch */
  recovery?: { timeoutMs: number; httpPort?: number; probe?: string }
}

export interface LifecycleHooks {
  applied?(f: InjectedFault): void
  /** every second while a fault is held, with the time left */
  tick?(leftMs: number): void
  /** a target restarted while a network fault was held: its new namespace has no rules */
  restarted?(target: ChaosTarget): void
  lifted?(r: { endedAt: number; notes: string[] }): void
  watching?(): void
}

export interface FaultOutcome {
  injected: InjectedFault
  /** when this process undid the fault */
  endedAt?: number
  liftNotes: string[]
  /** the signal fired: the hold (or the watch) ended early */
  cancelled: boolean
  recovery?: RecoveryReport
  /** a lasting fault left in place (`hold: 'leave'`), for restore or the caller */
  open?: LedgerEntry
}

/** An undo that failed: the fault is still in the ledger, for `msvc chaos restore`. */
export class FaultUndoError extends Error {
  override name = 'FaultUndoError'
  constructor(
    readonly entry: LedgerEntry,
    override readonly cause: unknown,
  ) {
    super((cause as Error)?.message ?? String(cause))
  }
}

const PID_POLL_MS = 1000

export async function runFaultLifecycle(
  edges: FaultEdges,
  req: LifecycleRequest,
  signal: AbortSignal,
  hooks: LifecycleHooks = {},
): Promise<FaultOutcome> {
  const kind = req.spec.kind
  const injected = await edges.inject(req)
  hooks.applied?.(injected)
  const outcome: FaultOutcome = { injected, liftNotes: [], cancelled: false }
  let recoveryFrom = recoveryClockStarts(kind) === 'fault' ? injected.appliedAt : undefined
  const entry = injected.entry
  if (entry && isLastingFault(kind)) {
    if (req.hold === 'leave' && !signal.aborted) {
      outcome.open = entry
      return outcome
    }
    if (req.hold !== 'leave') {
      const watcher = MECHANISM[kind] === 'engine' ? undefined : watchPids(edges, injected.targets, hooks)
      const held = await hold(req.hold === 'until-aborted' ? undefined : req.hold, signal, hooks.tick)
      watcher?.stop()
      outcome.cancelled = !held && req.hold !== 'until-aborted'
    } else outcome.cancelled = true
    const lifted = await edges.lift(entry).catch((e: unknown) => {
      throw new FaultUndoError(entry, e)
    })
    outcome.endedAt = lifted.endedAt
    outcome.liftNotes = lifted.notes
    hooks.lifted?.(lifted)
    recoveryFrom = lifted.endedAt
  }
  if (outcome.cancelled || !req.recovery || !watchesRecovery(kind) || recoveryFrom === undefined)
    return outcome
  if (signal.aborted) return { ...outcome, cancelled: true }
  hooks.watching?.()
  outcome.recovery = await edges.watch({
    from: recoveryFrom,
    newProcess: expectsNewProcess(kind),
    targets: injected.targets.map((t) => ({
      id: t.id,
      name: t.name,
      startedAt: t.startedAt,
      ...(req.recovery!.httpPort !== undefined ? { httpPort: req.recovery!.httpPort } : {}),
    })),
    timeoutMs: req.recovery.timeoutMs,
    ...(req.recovery.probe ? { probe: req.recovery.probe } : {}),
    signal,
  })
  outcome.cancelled = signal.aborted
  return outcome
}

/**
 * Resolves true after `ms` (never, when undefined), or false as soon as the signal fires; calls
 * onTick at once and every second with the time left.
 */
function hold(
  ms: number | undefined,
  signal: AbortSignal,
  onTick?: (leftMs: number) => void,
): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false)
  return new Promise((resolve) => {
    const end = ms === undefined ? Infinity : Date.now() + ms
    const tick = onTick ? setInterval(() => onTick(Math.max(0, end - Date.now())), 1000) : undefined
    const timer = ms === undefined ? undefined : setTimeout(() => done(true), ms)
    const onAbort = () => done(false)
    function done(v: boolean) {
      clearInterval(tick)
      clearTimeout(timer)
      signal.removeEventListener('abort', onAbort)
      resolve(v)
    }
    signal.addEventListener('abort', onAbort)
    onTick?.(ms ?? Infinity)
  })
}

/** Tells (once per target) when a target's main process changed while a network fault is held. */
function watchPids(edges: FaultEdges, targets: ChaosTarget[], hooks: LifecycleHooks): { stop: () => void } {
  if (!hooks.restarted) return { stop: () => {} }
  const told = new Set<string>()
  const timer = setInterval(() => {
    for (const t of targets)
      void edges.pidOf(t.id).then((pid) => {
        if (pid !== undefined && pid !== t.pid && !told.has(t.id)) {
          told.add(t.id)
          hooks.restarted!(t)
        }
      })
  }, PID_POLL_MS)
  return { stop: () => clearInterval(timer) }
}
