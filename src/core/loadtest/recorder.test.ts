import { describe, expect, it } from 'vitest'
import { RunRecorder, type RecordedEndpoint } from './recorder.js'

const http = (name: string, expected = (s: number) => s >= 200 && s < 300): RecordedEndpoint => ({
  name,
  method: 'GET',
  path: `/${name}`,
  grpc: false,
  expects: (s) => s >= 100 && expected(s),
})
const run = {
  startMs: 1_700_000_000_000,
  durationMs: 2000,
  sent: 5,
  sendingMs: 1500,
  unfinished: 0,
  connectionsOpened: 2,
  connectionsReused: 3,
  generator: { cpu: 0.2, eventLoop: 0.1, loopDelayMax: 1 },
  interrupted: false,
}

describe('RunRecorder', () => {
  it('counts answers per endpoint and status, unexpected statuses and no answer as errors', () => {
    const r = new RunRecorder([http('a'), http('b')])
    r.answer(0, 200, 5)
    r.answer(0, 500, 7)
    r.answer(1, 0, 1000) // no answer
    r.answer(1, 204, 3)
    r.closeSecond(false)
    const res = r.result(run)
    expect(res).toMatchObject({ requests: 4, errors: 2, sent: 5, connectionsOpened: 2 })
    expect(res.endpoints.map((e) => [e.name, e.requests, e.errors, e.statuses])).toEqual([
      ['a', 2, 1, { '200': 1, '500': 1 }],
      ['b', 2, 1, { '0': 1, '204': 1 }],
    ])
    expect(res.startedAt).toBe('2023-11-14T22:13:20.000Z')
  })

  it('names gRPC statuses, and OK (0) is an answer there', () => {
    const grpc: RecordedEndpoint = {
      name: 'Get',
      method: 'gRPC',
      path: '/x.v1.S/Get',
      grpc: true,
      expects: (s) => s === 0,
    }
    const r = new RunRecorder([grpc])
    r.answer(0, 0, 2)
    r.answer(0, 14, 2)
    r.closeSecond(false)
    expect(r.result(run).endpoints[0]).toMatchObject({
      protocol: 'grpc',
      errors: 1,
      statuses: { OK: 1, UNAVAILABLE: 1 },
    })
  })

  it('keeps a point per second, drops an empty last one, and fills the overall latency from them', () => {
    const r = new RunRecorder([http('a')])
    r.answer(0, 200, 10)
    expect(r.closeSecond(false, 100)).toMatchObject({ t: 0, targetRate: 100, requests: 1, errors: 0 })
    expect(r.closeSecond(true)).toBeUndefined()
    r.answer(0, 200, 30)
    expect(r.closeSecond(true)).toMatchObject({ t: 1, requests: 1 })
    const res = r.result(run)
    expect(res.timeline).toHaveLength(2)
    expect(res.latency.max).toBeGreaterThanOrEqual(29.9)
    expect(res.endpoints[0]!.latency).toEqual(res.latency) // one endpoint: the overall histogram
  })

  it('records by the second each request was due in, for the phases; one due on an edge stays in its second', () => {
    const r = new RunRecorder([http('a')], undefined, undefined, { holdS: 2 })
    const t0 = 12_345_678.9
    // due at t0 + 2000, taken back from performance.now() values: a hair under 2000
    const due = t0 + 2000 - t0
    r.answer(0, 200, 30, false, 999.5)
    r.answer(0, 500, 40, false, Math.min(due, 2000 - 1e-10))
    r.answer(0, 200, 2500, false, 2999)
    r.closeSecond(false)
    r.refused(0) // never sent: counted in the second it was due in, now (1)
    r.closeSecond(true)
    const sent = r.result(run).sentSeconds!
    const by = (t: number) => sent.filter((s) => s.t === t)
    expect(by(0).map((s) => [s.requests, s.errors])).toEqual([[1, 0]])
    expect(by(1).map((s) => [s.requests, s.errors])).toEqual([[1, 1]])
    expect(by(2).map((s) => [s.requests, s.errors])).toEqual([[2, 1]])
  })

  it('records the send lag of the open model and counts the late sends', () => {
    const r = new RunRecorder([http('a')], 1)
    r.sendLag(-0.2)
    r.sendLag(0.5)
    r.sendLag(4)
    r.closeSecond(true)
    expect(r.result(run).sendLag).toMatchObject({ late: 1, lateAfterMs: 1 })
    expect(new RunRecorder([http('a')]).result(run).sendLag).toBeUndefined()
  })
})
