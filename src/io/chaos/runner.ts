import { randomBytes } from 'node:crypto'
import { type Engine } from '../engine.js'
import { MECHANISM, isLastingFault, type FaultSpec, type ReplicaSelection } from '../../core/chaos/faults.js'
import type { LedgerEntry } from '../../core/chaos/ledger.js'
import type { Workspace } from '../../core/workspace/model.js'
import { UserError } from '../../errors.js'
import { applyLasting, applyOneShot, chooseProxyPorts, undoLasting } from './apply.js'
import { updateLedger } from './ledger-store.js'
import { assertNetnsTools } from './netns.js'
import { findRunning, resolveTargets, servicePorts, type ChaosTarget } from './targets.js'

export interface FaultRequest {
  service: string
  spec: FaultSpec
  selection: ReplicaSelection
  /** `--for`: how long it lasts; undefined = until `msvc chaos restore` */
  durationMs?: number
  experiment?: string
}

/** A fault that is in effect. */
export interface InjectedFault {
  id: string
  request: FaultRequest
  targets: ChaosTarget[]
  /** epoch ms when the command started, and when the fault was in effect */
  startedAt: number
  appliedAt: number
  /** the ledger entry of a lasting fault */
  entry?: LedgerEntry
  notes?: string[]
}

export const newFaultId = () => randomBytes(8).toString('hex')

/**
 * Applies a fault: records it in the ledger first (lasting faults), then applies it; if applying
 * fails part way, undoes what was done and forgets it. A fault with `--for` is owned by this process
 * until it ends; one without is left for `msvc chaos restore`.
 */
export async function injectFault(
  d: Engine,
  root: string,
  ws: Workspace,
  req: FaultRequest,
): Promise<InjectedFault> {
  const startedAt = Date.now()
  const id = newFaultId()
  const { spec } = req
  if (MECHANISM[spec.kind] !== 'engine') await assertNetnsTools()
  const targets = await resolveTargets(d, ws, req.service, req.selection)
  if (!isLastingFault(spec.kind)) {
    const notes = await applyOneShot(d, spec, targets)
    return { id, request: req, targets, startedAt, appliedAt: Date.now(), notes }
  }
  if (spec.kind !== 'pause' && spec.kind !== 'stop') {
    const paused = targets.find((t) => t.paused)
    if (paused) throw new UserError(`${paused.name} is paused`, 'msvc chaos restore unpauses it')
  }
  const ports = servicePorts(ws, req.service)
  let peers: string[] | undefined
  if (spec.kind === 'partition' && spec.from) {
    if (spec.from === req.service)
      throw new UserError(
        `${req.service} cannot be partitioned from itself`,
        'name another service with --from',
      )
    peers = (await findRunning(d, ws, spec.from)).flatMap((t) => t.ips)
    if (peers.length === 0) throw new UserError(`${spec.from} has no network address to cut`)
  }
  const proxyPorts = MECHANISM[spec.kind] === 'proxy' ? await chooseProxyPorts(targets, ports) : undefined
  const entry: LedgerEntry = {
    id,
    service: req.service,
    spec,
    targets: targets.map((t) => ({ containerId: t.id, name: t.name, pid: t.pid, startedAt: t.startedAt })),
    ports,
    ...(peers ? { peers } : {}),
    ...(proxyPorts ? { proxyPorts } : {}),
    appliedAt: new Date(startedAt).toISOString(),
    ...(req.durationMs !== undefined ? { until: new Date(startedAt + req.durationMs).toISOString() } : {}),
    owner: process.pid,
    state: 'applying',
    ...(req.experiment ? { experiment: req.experiment } : {}),
  }
  await updateLedger(root, (l) => {
    l.faults.push(entry)
  })
  try {
    await applyLasting(d, ws, entry)
  } catch (e) {
    // what was applied before the failure is undone; if that fails too, the entry stays in the
    // ledger so that `msvc chaos restore` (or the next msvc down) undoes it: never forgotten
    const undone = await undoLasting(d, entry).then(
      () => true,
      () => false,
    )
    if (undone) await forget(root, id)
    throw e
  }
  const appliedAt = Date.now()
  if (req.durationMs !== undefined) entry.until = new Date(appliedAt + req.durationMs).toISOString()
  entry.state = 'active'
  if (req.durationMs === undefined) delete entry.owner
  await updateLedger(root, (l) => {
    const i = l.faults.findIndex((f) => f.id === id)
    if (i >= 0) l.faults[i] = entry
  })
  return { id, request: req, targets, startedAt, appliedAt, entry }
}

/** Undoes a lasting fault and removes it from the ledger; returns when it ended and notes to print. */
export async function liftFault(
  d: Engine,
  root: string,
  entry: LedgerEntry,
): Promise<{ endedAt: number; notes: string[] }> {
  const notes = await undoLasting(d, entry)
  const endedAt = Date.now()
  await forget(root, entry.id)
  return { endedAt, notes }
}

async function forget(root: string, id: string): Promise<void> {
  await updateLedger(root, (l) => {
    l.faults = l.faults.filter((f) => f.id !== id)
  })
}
