/** `--chaos 'kill payment@10s'`: faults scheduled inside a load run, parsed and checked without Docker. */
import {
  FAULT_KINDS,
  faultInput,
  isLastingFault,
  toFaultSpec,
  type FaultKind,
  type FaultSpec,
} from '../chaos/faults.js'
import { parseDuration } from '../chaos/units.js'

export interface ScheduledFault {
  text: string
  service: string
  spec: FaultSpec
  /** ms after the run's start */
  atMs: number
  /** a lasting fault is undone after this long, or at the run's end */
  forMs?: number
}

/**
 * `<fault> <service>[ <value>]@<offset>[ for <duration>]`: `kill payment@10s`,
 * `latency inventory 200ms@5s for 20s`, `pause order@3s for 5s`. Throws a UserError (from the
 * chaos parser) or an Error with the reason.
 */
export function parseScheduledFault(text: string): ScheduledFault {
  const m = /^\s*([a-z]+)\s+([a-z0-9-]+)(?:\s+(\S+))?\s*@\s*(\S+?)(?:\s+for\s+(\S+))?\s*$/.exec(text)
  if (!m) throw new Error(`"${text}" is not <fault> <service>[ <value>]@<offset>[ for <duration>]`)
  const kind = m[1]!
  if (!(FAULT_KINDS as readonly string[]).includes(kind))
    throw new Error(`"${kind}" is not a fault (one of ${FAULT_KINDS.join(', ')})`)
  const atMs = parseDuration(m[4]!)
  if (atMs === undefined) throw new Error(`"${m[4]}" is not an offset such as 10s`)
  const forMs = m[5] !== undefined ? parseDuration(m[5]) : undefined
  if (m[5] !== undefined && !(forMs && forMs > 0)) throw new Error(`"${m[5]}" is not a duration such as 20s`)
  if (forMs !== undefined && !isLastingFault(kind as FaultKind))
    throw new Error(`${kind} happens once; "for" does not apply`)
  const spec = toFaultSpec(faultInput(kind as FaultKind, { value: m[3] }))
  return { text: text.trim(), service: m[2]!, spec, atMs, ...(forMs !== undefined ? { forMs } : {}) }
}
