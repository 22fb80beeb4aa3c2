/**
 * Faults inside a load run (`--chaos`): each goes through the fault lifecycle (the same as
 * `msvc chaos`), applied at its offset from the run's start, undone after its `for` or when the run
 * ends, its service watched until it answers healthy again (the faults that have a recovery), and
 * returned as a window for the report's timelines and phases.
 */
import { isLastingFault } from '../../core/chaos/faults.js'
import type { ScheduledFault } from '../../core/loadtest/chaos-plan.js'
import type { ChaosWindow } from '../../core/loadtest/report.js'
import { FaultUndoError, runFaultLifecycle, type FaultEdges } from '../chaos/lifecycle.js'

export interface FaultScheduler {
  /** the run's clock started at this epoch ms */
  start(runStartMs: number): void
  /** cancels what has not started, undoes what is active, and returns the windows */
  finish(): Promise<{ windows: ChaosWindow[]; problems: string[] }>
}

/** A one-shot fault (kill, restart) whose service's return was not seen is drawn as a one-second window. */
const ONE_SHOT_WINDOW_MS = 1000

export function scheduleFaults(
  edges: FaultEdges,
  faults: ScheduledFault[],
  onEvent: (line: string) => void,
  /** how to watch a service's recovery (undefined: not watched) */
  recoveryOf?: (service: string) => { timeoutMs: number; httpPort?: number },
): FaultScheduler {
  let runStart = 0
  const timers: NodeJS.Timeout[] = []
  const windows: ChaosWindow[] = []
  const problems: string[] = []
  const runEnd = new AbortController()
  const running = new Set<Promise<void>>()
  const label = (f: ScheduledFault) => f.text.replace(/\s*@.*$/, '')

  const run = async (f: ScheduledFault) => {
    const lasting = isLastingFault(f.spec.kind)
    try {
      const outcome = await runFaultLifecycle(
        edges,
        {
          service: f.service,
          spec: f.spec,
          selection: f.selection,
          ...(lasting && f.forMs !== undefined ? { durationMs: f.forMs } : {}),
          hold: f.forMs ?? 'until-aborted',
          ...(recoveryOf ? { recovery: recoveryOf(f.service) } : {}),
        },
        runEnd.signal,
        {
          applied: () => onEvent(`chaos: ${label(f)} applied`),
          restarted: (t) => onEvent(`chaos: ${t.name} restarted; ${label(f)} ends for it`),
          lifted: () => onEvent(`chaos: ${label(f)} undone`),
        },
      )
      const { injected, endedAt, recovery } = outcome
      // when its service answered healthy again (epoch ms), or false: watched, and not before the run's end
      const back =
        recovery === undefined
          ? undefined
          : recovery.recovered && recovery.recoveredMs !== undefined
            ? recovery.from + recovery.recoveredMs
            : false
      windows.push({
        label: label(f),
        startMs: (endedAt === undefined ? injected.startedAt : injected.appliedAt) - runStart,
        // a kill or restart is in force until its service is back
        endMs:
          (endedAt ??
            (typeof back === 'number'
              ? Math.max(back, injected.appliedAt)
              : injected.appliedAt + ONE_SHOT_WINDOW_MS)) - runStart,
        ...(typeof back === 'number' ? { recoveredMs: back - runStart } : {}),
        ...(back === false ? { recovered: false as const } : {}),
      })
    } catch (e) {
      problems.push(
        e instanceof FaultUndoError
          ? `${f.text}: could not undo: ${e.message}; run msvc chaos restore`
          : `${f.text}: ${(e as Error).message}`,
      )
    }
  }

  return {
    start(runStartMs) {
      runStart = runStartMs
      for (const f of faults)
        timers.push(
          setTimeout(() => {
            const p = run(f)
            running.add(p)
            void p.finally(() => running.delete(p))
          }, f.atMs),
        )
    },
    async finish() {
      for (const t of timers) clearTimeout(t)
      runEnd.abort()
      await Promise.all([...running])
      return { windows: windows.sort((a, b) => a.startMs - b.startMs), problems }
    },
  }
}
