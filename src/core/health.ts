/**
 * One reading of a container's health, for `msvc up`/`restart` (waiting until a service is
 * healthy) and for chaos (timing its recovery): the same state means the same thing to both.
 */

/** What the engine reports of a container (inspect's State and RestartCount). */
export interface ContainerState {
  Status: string
  Running: boolean
  Paused?: boolean
  ExitCode?: number
  Health?: { Status?: string; Log?: { ExitCode: number; Output: string }[] }
}

export type HealthPhase = 'healthy' | 'starting' | 'unhealthy' | 'failed'

export interface HealthVerdict {
  phase: HealthPhase
  detail?: string
}

/**
 * A container is healthy when it runs, is not paused, and its health check (if it has one) passes;
 * failed when it exited, died or restarted twice; unhealthy when its health check fails.
 */
export function containerHealth(state: ContainerState, restartCount = 0): HealthVerdict {
  if (state.Status === 'exited' || state.Status === 'dead' || restartCount >= 2)
    return {
      phase: 'failed',
      detail: `container ${state.Status === 'running' ? 'keeps restarting' : state.Status} (exit code ${state.ExitCode ?? '?'}, ${restartCount} restarts)`,
    }
  const health = state.Health?.Status
  if (health === 'unhealthy') {
    const last = state.Health?.Log?.at(-1)
    return {
      phase: 'unhealthy',
      detail: `health check failing${last ? `: exit ${last.ExitCode} ${last.Output.trim()}` : ''}`,
    }
  }
  if (state.Running && !state.Paused && (health === 'healthy' || health === undefined))
    return { phase: 'healthy' }
  return { phase: 'starting' }
}

/** A service is healthy once `expected` of its containers are; the first failing one decides otherwise. */
export function serviceHealth(containers: HealthVerdict[], expected: number): HealthVerdict {
  const bad = containers.find((c) => c.phase === 'failed' || c.phase === 'unhealthy')
  if (bad) return bad
  return containers.filter((c) => c.phase === 'healthy').length >= Math.max(1, expected)
    ? { phase: 'healthy' }
    : { phase: 'starting' }
}

/**
 * The containers whose health is the service's: not ones being removed, and of more than
 * `expected`, the newest. While `up` replaces a container, the old one can still be listed for a
 * moment; its state says nothing about the new configuration.
 */
export function currentContainers<T extends { State: string; Created: number }>(
  containers: T[],
  expected: number,
): T[] {
  return containers
    .filter((c) => c.State !== 'removing')
    .sort((a, b) => b.Created - a.Created)
    .slice(0, Math.max(1, expected))
}
