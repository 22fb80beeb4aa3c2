/**
 * A service's colour on the dashboard's graph (issue #18), from what the monitor saw of each of
 * its replicas: the engine's container state and health, and the answer of its /health/ready.
 * Pure. A killed container is `exited` at the next poll (every second), so it shows red within
 * the 2 s even before any probe times out.
 */

import type { BreakerState, RedFigures } from './red.js'

export type ServiceStatus = 'up' | 'degraded' | 'down' | 'starting' | 'stopped'

export interface ReplicaState {
  /** the container's name */
  name: string
  /** the engine's state: running, exited, paused, restarting, created, dead */
  state: string
  /** the engine's health check: healthy, unhealthy, starting, or none */
  health: string
  /** /health/ready's status code; 0 when it did not answer; absent when not probed */
  ready?: number
  /** address the probes used */
  address?: string
}

/**
 * up: every expected replica runs and is ready; degraded: some are; down: none is (or, having
 * served, it is not ready again yet: `previous`, the status of the last poll); starting: containers
 * are coming up; stopped: no container at all (the stack is not up).
 */
export function judgeServiceStatus(
  replicas: readonly ReplicaState[],
  expected: number,
  previous?: ServiceStatus,
): ServiceStatus {
  const status = judgeReplicas(replicas, expected)
  // a service that was serving and is coming back (killed, then restarted by its restart policy)
  // is down until it is ready again: "starting" is for a service being brought up
  if (status === 'starting' && (previous === 'up' || previous === 'degraded' || previous === 'down'))
    return 'down'
  return status
}

function judgeReplicas(replicas: readonly ReplicaState[], expected: number): ServiceStatus {
  if (replicas.length === 0) return 'stopped'
  const good = replicas.filter(isReplicaUp).length
  if (good >= Math.max(1, expected)) return 'up'
  if (good > 0) return 'degraded'
  if (replicas.some((r) => r.state === 'running' && (r.health === 'starting' || r.ready === undefined)))
    return 'starting'
  if (replicas.some((r) => r.state === 'restarting' || r.state === 'created')) return 'starting'
  return 'down'
}

/** Running, not paused, its health check not failing, and ready when probed. */
export function isReplicaUp(r: ReplicaState): boolean {
  if (r.state !== 'running') return false
  if (r.health === 'unhealthy' || r.health === 'starting') return false
  return r.ready === undefined || (r.ready >= 200 && r.ready < 300)
}

/** What the dashboard's monitor says of a service at one poll. */
export interface ServiceHealth {
  status: ServiceStatus
  expected: number
  replicas: ReplicaState[]
  red?: RedFigures
  breakers: Record<string, BreakerState>
}

/** A fault of the chaos ledger, drawn on its target. */
export interface ActiveFault {
  service: string
  /** `latency 200ms`, as `msvc chaos` describes it */
  label: string
  appliedAt: string
  until?: string
}

export interface HealthSnapshot {
  atMs: number
  /** false when the engine could not be reached (the reason in `problem`) */
  engine: boolean
  problem?: string
  services: Record<string, ServiceHealth>
  /** the faults in the workspace's chaos ledger now */
  faults: ActiveFault[]
}

export interface RedPoint extends RedFigures {
  atMs: number
}
