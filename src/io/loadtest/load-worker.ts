/**
 * One worker thread of `msvc loadtest --workers N` (workers.ts starts it): compiles the run's HTTP
 * requests, runs the generator on its share of the schedule (or of the connections), and posts
 * each second's histogram as it closes and its result with its histograms at the end. A `stop`
 * message ends its run early, as Ctrl-C ends a run of one generator.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { compileFlow, type FlowSpec } from '../../core/loadtest/flow.js'
import { compileRequest, type RequestSpec } from '../../core/loadtest/request.js'
import type { WorkerHistograms, WorkerSecond } from '../../core/loadtest/merge.js'
import type { LoadModel, LoadRunResult } from '../../core/loadtest/report.js'
import type { Slice } from '../../core/loadtest/schedule.js'
import { runLoad } from './generator.js'

/** What a worker is given (structured-cloned, so plain data only). */
export interface LoadWorkerData {
  host: string
  port: number
  /** the Host header the requests carry */
  hostHeader: string
  requests: RequestSpec[]
  flows?: FlowSpec[]
  model: LoadModel
  timeoutMs: number
  slice: Slice
  startAt: number
  /** record by send second too, for the run's phases */
  keepSeconds?: boolean
  /** --warmup: the model begins with this long of warm-up, not recorded (generator.ts) */
  warmupMs?: number
}

/** What a worker posts: a second, its result, or the error that stopped it. */
export type LoadWorkerMessage =
  | { kind: 'second'; second: WorkerSecond }
  | {
      kind: 'result'
      result: LoadRunResult
      histograms: WorkerHistograms
    }
  | { kind: 'error'; message: string }

const port = parentPort!
const data = workerData as LoadWorkerData
const stop = new AbortController()
port.on('message', (m: { kind: string }) => {
  if (m.kind === 'stop') stop.abort()
})

try {
  let histograms: WorkerHistograms | undefined
  const result = await runLoad({
    host: data.host,
    port: data.port,
    requests: data.requests.map((spec) => compileRequest(spec, data.hostHeader)),
    ...(data.flows ? { flows: data.flows.map((f) => compileFlow(f, data.hostHeader)) } : {}),
    model: data.model,
    timeoutMs: data.timeoutMs,
    signal: stop.signal,
    slice: data.slice,
    startAt: data.startAt,
    ...(data.keepSeconds ? { keepSeconds: true } : {}),
    ...(data.warmupMs ? { warmupMs: data.warmupMs } : {}),
    exportSecond: (second) => port.postMessage({ kind: 'second', second } satisfies LoadWorkerMessage),
    exportHistograms: (h) => (histograms = h),
  })
  port.postMessage({ kind: 'result', result, histograms: histograms! } satisfies LoadWorkerMessage)
} catch (e) {
  port.postMessage({ kind: 'error', message: (e as Error).message } satisfies LoadWorkerMessage)
}
port.close()
