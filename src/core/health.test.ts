import { describe, expect, it } from 'vitest'
import { containerHealth, currentContainers, serviceHealth } from './health.js'

const running = { Status: 'running', Running: true }

describe('containerHealth', () => {
  it.each([
    [{ ...running }, 0, 'healthy'],
    [{ ...running, Health: { Status: 'healthy' } }, 0, 'healthy'],
    [{ ...running, Health: { Status: 'starting' } }, 0, 'starting'],
    [{ ...running, Paused: true }, 0, 'starting'],
    [{ Status: 'created', Running: false }, 0, 'starting'],
    [{ ...running }, 2, 'failed'],
    [{ Status: 'exited', Running: false, ExitCode: 1 }, 0, 'failed'],
  ])('%j with %i restarts is %s', (state, restarts, phase) => {
    expect(containerHealth(state, restarts).phase).toBe(phase)
  })

  it('names why: the exit code and restarts, or the last health check output', () => {
    expect(containerHealth({ Status: 'exited', Running: false, ExitCode: 3 }, 1).detail).toBe(
      'container exited (exit code 3, 1 restarts)',
    )
    expect(containerHealth({ ...running }, 2).detail).toBe(
      'container keeps restarting (exit code ?, 2 restarts)',
    )
    const unhealthy = {
      ...running,
      Health: { Status: 'unhealthy', Log: [{ ExitCode: 1, Output: 'ready: false\n' }] },
    }
    expect(containerHealth(unhealthy)).toEqual({
      phase: 'unhealthy',
      detail: 'health check failing: exit 1 ready: false',
    })
  })
})

describe('serviceHealth', () => {
  it('is healthy once enough replicas are, and takes the first failing one otherwise', () => {
    expect(serviceHealth([{ phase: 'healthy' }, { phase: 'starting' }], 2)).toEqual({ phase: 'starting' })
    expect(serviceHealth([{ phase: 'healthy' }, { phase: 'healthy' }], 2)).toEqual({ phase: 'healthy' })
    expect(serviceHealth([{ phase: 'healthy' }, { phase: 'failed', detail: 'x' }], 1)).toEqual({
      phase: 'failed',
      detail: 'x',
    })
    expect(serviceHealth([], 1)).toEqual({ phase: 'starting' })
  })
})

describe('currentContainers', () => {
  it('takes the newest of a service, as many as it should have, and none being removed', () => {
    const c = (id: string, Created: number, State = 'running') => ({ id, Created, State })
    expect(currentContainers([c('old', 1, 'exited'), c('new', 2)], 1).map((x) => x.id)).toEqual(['new'])
    expect(currentContainers([c('a', 3), c('b', 5), c('c', 4)], 2).map((x) => x.id)).toEqual(['b', 'c'])
    expect(currentContainers([c('gone', 9, 'removing'), c('a', 1)], 1).map((x) => x.id)).toEqual(['a'])
  })
})
