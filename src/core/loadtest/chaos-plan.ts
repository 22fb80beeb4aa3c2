/** `--chaos 'kill payment@10s'`: faults scheduled inside a load run, parsed and checked without Docker. */
import {
  FAULT_KINDS,
  faultInput,
  isLastingFault,
  toFaultSpec,
  type FaultKind,
  type FaultSpec,
  type ReplicaSelection,
} from '../chaos/faults.js'
import { parseDuration } from '../chaos/units.js'

export interface ScheduledFault {
  text: string
  service: string
  /** which replicas: `payment:all` every one, `payment:2` the second, `payment` the first */
  selection: ReplicaSelection
  spec: FaultSpec
  /** ms after the run's start */
  atMs: number
  /** a lasting fault is undone after this long, or at the run's end */
  forMs?: number
}

/**
 * `<fault> <service>[:all|:<n>][ <value>]@<offset>[ for <duration>]`: `kill payment@10s`,
 * `kill payment:all@10s` (every replica), `latency inventory 200ms@5s for 20s`, `pause order:2@3s for 5s`. Throws a UserError (from the
 * chaos parser) or an Error with the reason.
 */
export function parseScheduledFault(text: string): ScheduledFault {
  const m = /^\s*([a-z]+)\s+([a-z0-9-]+)(?::(\S*?))?(?:\s+(\S+))?\s*@\s*(\S+?)(?:\s+for\s+(\S+))?\s*$/.exec(
    text,
  )
  if (!m)
    throw new Error(`"${text}" is not <fault> <service>[:all|:<replica>][ <value>]@<offset>[ for <duration>]`)
  const which = m[3]
  if (which !== undefined && which !== 'all' && !/^[1-9]\d*$/.test(which))
    throw new Error(`"${m[2]}:${which}" names no replicas: write ${m[2]}:all, or ${m[2]}:2 for the second`)
  const selection: ReplicaSelection =
    which === undefined ? {} : which === 'all' ? { all: true } : { replica: Number(which) }
  const kind = m[1]!
  if (!(FAULT_KINDS as readonly string[]).includes(kind))
    throw new Error(`"${kind}" is not a fault (one of ${FAULT_KINDS.join(', ')})`)
  const atMs = parseDuration(m[5]!)
  if (atMs === undefined) throw new Error(`"${m[5]}" is not an offset such as 10s`)
  const forMs = m[6] !== undefined ? parseDuration(m[6]) : undefined
  if (m[6] !== undefined && !(forMs && forMs > 0)) throw new Error(`"${m[6]}" is not a duration such as 20s`)
  if (forMs !== undefined && !isLastingFault(kind as FaultKind))
    throw new Error(`${kind} happens once; "for" does not apply`)
  const spec = toFaultSpec(faultInput(kind as FaultKind, { value: m[4] }))
  return {
    text: text.trim(),
    service: m[2]!,
    selection,
    spec,
    atMs,
    ...(forMs !== undefined ? { forMs } : {}),
  }
}
