/**
 * Faults inside a load run (`--chaos`): each is applied at its offset from the run's start through
 * the chaos runner (restore ledger first, as `msvc chaos` does), undone after its `for` or when the
 * run ends, and returned as a window for the report's timelines.
 */
import { type Engine } from '../engine.js'
import { isLastingFault } from '../../core/chaos/faults.js'
import type { LedgerEntry } from '../../core/chaos/ledger.js'
import type { ScheduledFault } from '../../core/loadtest/chaos-plan.js'
import type { ChaosWindow } from '../../core/loadtest/report.js'
import type { Workspace } from '../../core/workspace/model.js'
import { injectFault, liftFault } from '../chaos/runner.js'

export interface FaultScheduler {
  /** the run's clock started at this epoch ms */
  start(runStartMs: number): void
  /** cancels what has not started, undoes what is active, and returns the windows */
  finish(): Promise<{ windows: ChaosWindow[]; problems: string[] }>
}

export function scheduleFaults(
  d: Engine,
  root: string,
  ws: Workspace,
  faults: ScheduledFault[],
  onEvent: (line: string) => void,
): FaultScheduler {
  let runStart = 0
  const timers: NodeJS.Timeout[] = []
  const windows: ChaosWindow[] = []
  const problems: string[] = []
  const active = new Map<string, { entry: LedgerEntry; fault: ScheduledFault; appliedAt: number }>()
  const pending = new Set<Promise<void>>()
  const track = (p: Promise<void>) => {
    pending.add(p)
    void p.finally(() => pending.delete(p))
  }
  const label = (f: ScheduledFault) => f.text.replace(/\s*@.*$/, '')

  const lift = async (id: string) => {
    const a = active.get(id)
    if (!a) return
    active.delete(id)
    try {
      const { endedAt } = await liftFault(d, root, a.entry)
      windows.push({ label: label(a.fault), startMs: a.appliedAt - runStart, endMs: endedAt - runStart })
      onEvent(`chaos: ${label(a.fault)} undone`)
    } catch (e) {
      problems.push(`${a.fault.text}: could not undo: ${(e as Error).message}; run msvc chaos restore`)
    }
  }

  const apply = async (f: ScheduledFault) => {
    try {
      const lasting = isLastingFault(f.spec.kind)
      const injected = await injectFault(d, root, ws, {
        service: f.service,
        spec: f.spec,
        selection: {},
        ...(lasting && f.forMs !== undefined ? { durationMs: f.forMs } : {}),
      })
      onEvent(`chaos: ${label(f)} applied`)
      if (!lasting || !injected.entry) {
        windows.push({
          label: label(f),
          startMs: injected.startedAt - runStart,
          endMs: injected.appliedAt - runStart + 1000,
        })
        return
      }
      active.set(injected.id, { entry: injected.entry, fault: f, appliedAt: injected.appliedAt })
      if (f.forMs !== undefined) timers.push(setTimeout(() => track(lift(injected.id)), f.forMs))
    } catch (e) {
      problems.push(`${f.text}: ${(e as Error).message}`)
    }
  }

  return {
    start(runStartMs) {
      runStart = runStartMs
      for (const f of faults) timers.push(setTimeout(() => track(apply(f)), f.atMs))
    },
    async finish() {
      for (const t of timers) clearTimeout(t)
      await Promise.all([...pending])
      for (const t of timers) clearTimeout(t) // `for` timers set by faults that were still applying
      await Promise.all([...active.keys()].map((id) => lift(id)))
      return { windows: windows.sort((a, b) => a.startMs - b.startMs), problems }
    },
  }
}
