import { describe, expect, it } from 'vitest'
import { judgeServiceStatus, type ReplicaState } from './status.js'

const r = (state: string, health = 'healthy', ready: number | undefined = 200): ReplicaState => ({
  name: 'x',
  state,
  health,
  ...(ready !== undefined ? { ready } : {}),
})

describe('judgeServiceStatus', () => {
  it.each([
    [[], 1, 'stopped'],
    [[r('running')], 1, 'up'],
    [[r('running', 'none', undefined)], 1, 'up'],
    [[r('exited', 'none', 0)], 1, 'down'],
    [[r('dead', 'none', 0)], 1, 'down'],
    [[r('paused', 'healthy', 0)], 1, 'down'],
    [[r('running', 'healthy', 0)], 1, 'down'],
    [[r('running', 'healthy', 503)], 1, 'down'],
    [[r('running', 'unhealthy', 200)], 1, 'down'],
    [[r('running', 'starting', 0)], 1, 'starting'],
    [[r('restarting', 'none', 0)], 1, 'starting'],
    [[r('running'), r('exited', 'none', 0)], 2, 'degraded'],
    [[r('running'), r('running')], 2, 'up'],
  ] as const)('%j of %i -> %s', (replicas, expected, status) => {
    expect(judgeServiceStatus(replicas, expected)).toBe(status)
  })
})

describe('judgeServiceStatus after a restart', () => {
  const restarting = [r('running', 'starting', 0)]
  it.each([
    [undefined, 'starting'],
    ['stopped', 'starting'],
    ['starting', 'starting'],
    ['up', 'down'],
    ['degraded', 'down'],
    ['down', 'down'],
  ] as const)('previously %s -> %s', (previous, status) => {
    expect(judgeServiceStatus(restarting, 1, previous)).toBe(status)
  })
})
