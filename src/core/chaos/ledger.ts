import type { FaultSpec } from './faults.js'

/** A container a fault was applied to, as it was then: a new pid means a new network namespace. */
export interface LedgerTarget {
  containerId: string
  name: string
  pid: number
  startedAt: string
}

/**
 * One fault in the restore ledger. It is written before the fault is applied and removed once the
 * fault is undone, so whatever happens in between (Ctrl-C, a crash, `msvc down`) can be undone.
 */
export interface LedgerEntry {
  id: string
  service: string
  spec: FaultSpec
  targets: LedgerTarget[]
  /** the service's ports inside the container */
  ports: number[]
  peers?: string[]
  proxyPorts?: Record<number, number>
  /** when it was recorded (ISO) */
  appliedAt: string
  /** when `--for` ends it (ISO); absent: until `msvc chaos restore` */
  until?: string
  /** pid of the msvc process holding it in the foreground; absent once nobody does */
  owner?: number
  state: 'applying' | 'active'
  /** the experiment file that applied it */
  experiment?: string
}

export interface Ledger {
  version: 1
  faults: LedgerEntry[]
}

export const EMPTY_LEDGER: Ledger = { version: 1, faults: [] }

/**
 * Faults nobody will undo: their foreground msvc is gone (Ctrl-C that could not finish, a crash,
 * a kill -9), or they were half applied. A fault left on purpose (no `--for`) has no owner and
 * stays until `msvc chaos restore`, unless `all`.
 */
export function findLeftovers(ledger: Ledger, isAlive: (pid: number) => boolean, all = false): LedgerEntry[] {
  if (all) return [...ledger.faults]
  return ledger.faults.filter((f) => (f.owner !== undefined ? !isAlive(f.owner) : f.state === 'applying'))
}

/** A ledger file's text as a ledger; anything unreadable is treated as empty, with the reason. */
export function parseLedger(text: string): { ledger: Ledger; problem?: string } {
  try {
    const data = JSON.parse(text) as Partial<Ledger>
    if (data?.version !== 1 || !Array.isArray(data.faults))
      return { ledger: { ...EMPTY_LEDGER, faults: [] }, problem: 'unknown ledger format' }
    return { ledger: { version: 1, faults: data.faults } }
  } catch (e) {
    return { ledger: { ...EMPTY_LEDGER, faults: [] }, problem: (e as Error).message }
  }
}
