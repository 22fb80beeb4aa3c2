import { describeFault } from '../../core/chaos/faults.js'
import { findLeftovers, type LedgerEntry } from '../../core/chaos/ledger.js'
import type { Workspace } from '../../core/workspace/model.js'
import type { Engine } from '../engine.js'
import { isProcessAlive, readLedger } from './ledger-store.js'

export interface RestoreOptions {
  /** also faults left on purpose (no --for): `msvc chaos restore`, `msvc down` */
  all?: boolean
  /** say nothing when there was nothing to do */
  quiet?: boolean
}

export interface RestoredFault {
  entry: LedgerEntry
  notes: string[]
  error?: string
}

/**
 * Undoes faults nobody will undo: those whose foreground msvc died (Ctrl-C that could not finish,
 * a crash, kill -9), or every fault with `all`. Call it at the start of every workspace command;
 * with an empty or missing ledger it is one failed file read (well under a millisecond) and loads
 * neither dockerode nor execa. Never throws for a fault it could not undo: it warns and keeps the
 * entry, so the next command tries again.
 */
export async function restoreLeftoverFaults(
  root: string,
  workspace: Workspace,
  /** where the restores are told (the command's ui) */
  ui: { warn(line: string, hint?: string): void; info(line: string): void },
  /** the engine, asked for only when there is something to undo */
  engine: () => Promise<Engine>,
  opts: RestoreOptions = {},
): Promise<RestoredFault[]> {
  const ledger = await readLedger(root)
  if (ledger.faults.length === 0) return []
  const leftovers = findLeftovers(ledger, isProcessAlive, opts.all)
  if (leftovers.length === 0) return []
  const [d, { liftFault }] = await Promise.all([engine(), import('./runner.js')])
  const out: RestoredFault[] = []
  for (const entry of leftovers) {
    const what = `${describeFault(entry.spec)} on ${entry.service}`
    try {
      const { notes } = await liftFault(d, root, entry)
      out.push({ entry, notes })
      if (!opts.quiet || entry.owner !== undefined)
        ui.warn(
          entry.owner !== undefined
            ? `restored ${what}, left behind by msvc (pid ${entry.owner}) that ended before undoing it`
            : `restored ${what}`,
        )
      for (const n of notes) ui.info(`  ${n}`)
    } catch (e) {
      out.push({ entry, notes: [], error: (e as Error).message })
      ui.warn(
        `could not restore ${what} in ${workspace.name}: ${(e as Error).message}`,
        'run msvc chaos restore (as root)',
      )
    }
  }
  return out
}
