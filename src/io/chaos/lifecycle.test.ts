import { describe, expect, it } from 'vitest'
import { toFaultSpec, type FaultInput } from '../../core/chaos/faults.js'
import type { LedgerEntry } from '../../core/chaos/ledger.js'
import type { RecoveryReport } from '../../core/chaos/recovery.js'
import { FaultUndoError, runFaultLifecycle, type FaultEdges, type LifecycleRequest } from './lifecycle.js'
import type { InjectedFault } from './runner.js'
import type { WatchOptions } from './watch.js'

// The sequence of a fault's life with fake edges; the real edges are exercised against Docker in
// test/integration/chaos-faults.test.ts and chaos-lifecycle.test.ts.

const TARGET = {
  id: 'c1',
  name: 'shop-payment-1',
  replica: 1,
  pid: 100,
  startedAt: 'T0',
  paused: false,
  ips: [],
}

function fakeEdges(o: { liftFails?: boolean; pids?: () => number | undefined } = {}) {
  const log: string[] = []
  const watched: WatchOptions[] = []
  const edges: FaultEdges = {
    inject: async (req) => {
      log.push(`inject ${req.spec.kind}`)
      const now = Date.now()
      const lasting = req.spec.kind !== 'kill' && req.spec.kind !== 'restart'
      const entry: LedgerEntry | undefined = lasting
        ? {
            id: 'f1',
            service: req.service,
            spec: req.spec,
            targets: [{ containerId: 'c1', name: TARGET.name, pid: 100, startedAt: 'T0' }],
            ports: [3001],
            appliedAt: new Date(now).toISOString(),
            state: 'active',
          }
        : undefined
      const injected: InjectedFault = {
        id: 'f1',
        request: req,
        targets: [TARGET],
        startedAt: now - 5,
        appliedAt: now,
        ...(entry ? { entry } : {}),
      }
      return injected
    },
    lift: async () => {
      log.push('lift')
      if (o.liftFails) throw new Error('iptables: permission denied')
      return { endedAt: Date.now(), notes: [] }
    },
    pidOf: async () => o.pids?.(),
    watch: async (opts) => {
      log.push('watch')
      watched.push(opts)
      const report: RecoveryReport = { recovered: true, from: opts.from, recoveredMs: 42 }
      return report
    },
  }
  return { edges, log, watched }
}

const request = (input: FaultInput, extra: Partial<LifecycleRequest> = {}): LifecycleRequest => ({
  service: 'payment',
  spec: toFaultSpec(input),
  selection: {},
  hold: 'leave',
  recovery: { timeoutMs: 1000, httpPort: 3001 },
  ...extra,
})

const never = () => new AbortController().signal

describe('runFaultLifecycle', () => {
  it('holds a lasting fault for its time, undoes it, then watches recovery from the undo', async () => {
    const { edges, log, watched } = fakeEdges()
    const ticks: number[] = []
    const t0 = Date.now()
    const out = await runFaultLifecycle(edges, request({ kind: 'pause' }, { hold: 150 }), never(), {
      tick: (left) => ticks.push(left),
    })
    expect(Date.now() - t0).toBeGreaterThanOrEqual(145)
    expect(log).toEqual(['inject pause', 'lift', 'watch'])
    expect(out.cancelled).toBe(false)
    expect(out.recovery).toMatchObject({ recovered: true })
    expect(watched[0]!.from).toBe(out.endedAt)
    expect(watched[0]!.newProcess).toBe(false)
    expect(ticks[0]).toBe(150)
  })

  it('Ctrl-C during the hold undoes the fault at once, watches nothing and says it was cancelled', async () => {
    const { edges, log } = fakeEdges()
    const ac = new AbortController()
    setTimeout(() => ac.abort(), 50)
    const t0 = Date.now()
    const out = await runFaultLifecycle(edges, request({ kind: 'pause' }, { hold: 10_000 }), ac.signal)
    expect(Date.now() - t0).toBeLessThan(1000)
    expect(log).toEqual(['inject pause', 'lift'])
    expect(out.cancelled).toBe(true)
    expect(out.endedAt).toBeDefined()
  })

  it('a failed undo is a FaultUndoError carrying the ledger entry, and nothing is watched', async () => {
    const { edges, log } = fakeEdges({ liftFails: true })
    const err = await runFaultLifecycle(edges, request({ kind: 'partition' }, { hold: 10 }), never()).catch(
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(FaultUndoError)
    expect((err as FaultUndoError).entry.id).toBe('f1')
    expect((err as FaultUndoError).message).toBe('iptables: permission denied')
    expect(log).toEqual(['inject partition', 'lift'])
  })

  it('tells once when a target restarts while a network fault is held', async () => {
    let pid = 100
    const { edges } = fakeEdges({ pids: () => pid })
    const restarted: string[] = []
    setTimeout(() => (pid = 200), 300)
    await runFaultLifecycle(edges, request({ kind: 'latency', value: '100ms' }, { hold: 2600 }), never(), {
      restarted: (t) => restarted.push(t.name),
    })
    expect(restarted).toEqual(['shop-payment-1'])
  })

  it('does not look for restarts of a paused or stopped target (the engine holds those faults)', async () => {
    let asked = 0
    const { edges } = fakeEdges({ pids: () => (asked++, 999) })
    await runFaultLifecycle(edges, request({ kind: 'pause' }, { hold: 1200 }), never(), {
      restarted: () => {},
    })
    expect(asked).toBe(0)
  })

  it('leaves a fault meant to stay, unless Ctrl-C came while it was applied', async () => {
    const stays = fakeEdges()
    const out = await runFaultLifecycle(stays.edges, request({ kind: 'stop' }), never())
    expect(stays.log).toEqual(['inject stop'])
    expect(out.open?.id).toBe('f1')
    const ac = new AbortController()
    ac.abort()
    const cancelled = fakeEdges()
    const out2 = await runFaultLifecycle(cancelled.edges, request({ kind: 'stop' }), ac.signal)
    expect(cancelled.log).toEqual(['inject stop', 'lift'])
    expect(out2.cancelled).toBe(true)
    expect(out2.open).toBeUndefined()
  })

  it('holds until the run ends (until-aborted) and is then undone, not cancelled', async () => {
    const { edges, log } = fakeEdges()
    const ac = new AbortController()
    setTimeout(() => ac.abort(), 80)
    const out = await runFaultLifecycle(
      edges,
      request({ kind: 'loss', value: '10%' }, { hold: 'until-aborted', recovery: undefined }),
      ac.signal,
    )
    expect(log).toEqual(['inject loss', 'lift'])
    expect(out.cancelled).toBe(false)
  })

  it('watches a kill from the moment it happened, expecting a new process; --no-watch watches nothing', async () => {
    const { edges, log, watched } = fakeEdges()
    const out = await runFaultLifecycle(edges, request({ kind: 'kill' }), never())
    expect(log).toEqual(['inject kill', 'watch'])
    expect(watched[0]).toMatchObject({ from: out.injected.appliedAt, newProcess: true })
    const quiet = fakeEdges()
    await runFaultLifecycle(quiet.edges, request({ kind: 'kill' }, { recovery: undefined }), never())
    expect(quiet.log).toEqual(['inject kill'])
  })
})
