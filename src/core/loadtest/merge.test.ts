import { describe, expect, it } from 'vitest'
import { mergeWorkerResults, SecondsMerger, type WorkerResult, type WorkerSecond } from './merge.js'
import { RunRecorder, type RecordedEndpoint } from './recorder.js'

const endpoints: RecordedEndpoint[] = ['GET /a', 'POST /b'].map((name) => ({
  name,
  method: name.split(' ')[0]!,
  path: name.split(' ')[1]!,
  grpc: false,
  expects: (s: number) => s >= 200 && s < 400,
}))

/** A deterministic spread of latencies (ms) with a long tail, statuses and send lags. */
function samples(n: number) {
  let x = 12345
  const rand = () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
  return Array.from({ length: n }, (_, i) => ({
    second: Math.floor((i / n) * 4),
    ep: rand() < 0.7 ? 0 : 1,
    status: rand() < 0.02 ? 500 : 200,
    latencyMs: 0.2 + rand() ** 4 * 900,
    lagMs: rand() ** 8 * 20,
  }))
}

const run = (workerCount: number) => {
  const all = samples(20_000)
  const single = new RunRecorder(endpoints, 1)
  const seconds: WorkerSecond[] = []
  const workers = Array.from(
    { length: workerCount },
    () => new RunRecorder(endpoints, 1, (s) => seconds.push(s)),
  )
  const feed = (rec: RunRecorder, s: (typeof all)[number]) => {
    rec.sendLag(s.lagMs)
    rec.answer(s.ep, s.status, s.latencyMs)
  }
  for (let sec = 0; sec < 4; sec++) {
    all.forEach((s, i) => {
      if (s.second !== sec) return
      feed(single, s)
      feed(workers[i % workerCount]!, s)
    })
    single.closeSecond(false, 5000)
    // each worker reports the whole schedule's rate, as the generator does (rateAt of the profile)
    for (const w of workers) w.closeSecond(false, 5000)
  }
  const meta = {
    startMs: 0,
    durationMs: 4000,
    sent: 20_000,
    sendingMs: 3999,
    unfinished: 0,
    connectionsOpened: 4,
    connectionsReused: 19_996,
    generator: { cpu: 0.5, eventLoop: 0.4, loopDelayMax: 1 },
    interrupted: false,
  }
  const results: WorkerResult[] = workers.map((w) => ({
    result: w.result({ ...meta, sent: 20_000 / workerCount }),
    histograms: w.histograms(),
  }))
  return { single: single.result(meta), results, seconds }
}

describe('merging the workers of a run', () => {
  it('gives the percentiles of one histogram fed every sample: overall, per endpoint, send lag, per second', () => {
    const { single, results, seconds } = run(3)
    const merger = new SecondsMerger(3)
    const complete = seconds.map((s) => merger.add(s)).filter(Boolean)
    expect(complete.map((p) => p!.t)).toEqual([0, 1, 2, 3]) // each second once all three sent it
    const merged = mergeWorkerResults(results, merger.flush(), {
      startedAt: single.startedAt,
      startMs: 0,
      durationMs: 4000,
      generator: { cpu: 0.5, eventLoop: 0.4, loopDelayMax: 1 },
      interrupted: false,
    })
    expect(merged.latency).toEqual(single.latency)
    expect(merged.endpoints).toEqual(single.endpoints)
    expect(merged.sendLag).toEqual(single.sendLag)
    expect(merged.timeline).toEqual(single.timeline)
    expect(merged).toMatchObject({ requests: 20_000, errors: single.errors, sent: 20_000 })
  })

  it('a second some worker never sent is still reported at the end', () => {
    const merger = new SecondsMerger(2)
    const { seconds } = run(1)
    expect(merger.add(seconds[0]!)).toBeUndefined()
    expect(merger.flush().map((p) => [p.t, p.requests])).toEqual([[0, seconds[0]!.requests]])
  })
})
