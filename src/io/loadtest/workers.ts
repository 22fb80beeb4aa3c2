/**
 * `msvc loadtest --workers N`: the run split over N worker threads (load-worker.ts), each with its
 * own event loop and connections. Open model: worker i sends requests i, i + N, i + 2N, ... of the
 * schedule, so that together they send it exactly as one generator would; closed model: the
 * connections are shared out. The workers start their clocks at one instant, after their warm
 * connections are up; their seconds are merged as they arrive (for the live line) and their
 * results at the end, histograms added bucket by bucket (core/loadtest/merge.ts).
 */
import { Worker } from 'node:worker_threads'
import { mergeWorkerResults, SecondsMerger, type WorkerResult } from '../../core/loadtest/merge.js'
import type { LoadModel, LoadRunResult, SecondPoint } from '../../core/loadtest/report.js'
import type { LoadWorkerData, LoadWorkerMessage } from './load-worker.js'

/** The run: what every worker is given, how many there are, and the run's hooks. */
export interface WorkersOptions extends Pick<
  LoadWorkerData,
  'host' | 'port' | 'hostHeader' | 'requests' | 'flows' | 'model' | 'timeoutMs' | 'keepSeconds' | 'warmupMs'
> {
  workers: number
  signal?: AbortSignal
  onSecond?: (p: SecondPoint, totals: { requests: number; errors: number; elapsedMs: number }) => void
  onStart?: (startMs: number) => void
}

/** Time the workers get to start and open their warm connections before the clock starts. */
const START_DELAY_MS = 1200

/** Worker i of n's share of the model. */
export function workerModel(model: LoadModel, index: number, n: number): LoadModel {
  if (model.kind === 'open')
    return { ...model, maxConnections: Math.max(1, Math.ceil(model.maxConnections / n)) }
  const base = Math.floor(model.connections / n)
  return { ...model, connections: base + (index < model.connections % n ? 1 : 0) }
}

/** Runs the load on `o.workers` threads; resolves with the merged result. */
export async function runLoadInWorkers(o: WorkersOptions): Promise<LoadRunResult> {
  const n = o.workers
  const startAt = performance.timeOrigin + performance.now() + START_DELAY_MS
  // the run's clock starts after the warm-up (the workers' schedules begin with it)
  const startMs = Math.round(startAt + (o.warmupMs ?? 0))
  // the CPU count starts with the clock, not with the threads' start-up
  let cpuAtStart = process.cpuUsage()
  const seconds = new SecondsMerger(n)
  const totals = { requests: 0, errors: 0 }
  const busiest: number[] = []
  const heldUp: number[] = []
  const threads = Array.from({ length: n }, (_, index) => {
    const data: LoadWorkerData = {
      host: o.host,
      port: o.port,
      hostHeader: o.hostHeader,
      requests: o.requests,
      ...(o.flows ? { flows: o.flows } : {}),
      model: workerModel(o.model, index, n),
      timeoutMs: o.timeoutMs,
      slice: { index, count: n },
      startAt,
      ...(o.keepSeconds ? { keepSeconds: true } : {}),
      ...(o.warmupMs ? { warmupMs: o.warmupMs } : {}),
    }
    return new Worker(new URL('./load-worker.js', import.meta.url), { workerData: data })
  })
  const stopAll = () => {
    for (const t of threads) t.postMessage({ kind: 'stop' })
  }
  o.signal?.addEventListener('abort', stopAll, { once: true })
  const startTimer = setTimeout(
    () => {
      cpuAtStart = process.cpuUsage()
      o.onStart?.(startMs)
    },
    Math.max(0, startMs - Date.now()),
  )
  try {
    const results = await Promise.all(
      threads.map(
        (t) =>
          new Promise<WorkerResult>((resolve, reject) => {
            t.on('message', (m: LoadWorkerMessage) => {
              if (m.kind === 'second') {
                totals.requests += m.second.requests
                totals.errors += m.second.errors
                const p = seconds.add(m.second)
                // requests in flight are each worker's own: the live line goes without them
                if (p) o.onSecond?.(p, { ...totals, elapsedMs: Date.now() - startMs })
              } else if (m.kind === 'result') {
                busiest.push(m.result.generator.eventLoop)
                heldUp.push(m.result.generator.loopDelayMax)
                resolve({ result: m.result, histograms: m.histograms })
              } else reject(new Error(`a load worker failed: ${m.message}`))
            })
            t.once('error', reject)
            t.once('exit', (code) =>
              reject(new Error(`a load worker exited (code ${code}) before its result`)),
            )
          }),
      ),
    )
    // a run cancelled before the clock started lasted no time at all
    const endMs = Math.max(Date.now(), startMs)
    const used = process.cpuUsage(cpuAtStart)
    const wallMs = Math.max(1, endMs - startMs)
    return mergeWorkerResults(results, seconds.flush(), {
      startedAt: new Date(startMs).toISOString(),
      startMs,
      durationMs: endMs - startMs,
      // CPU of every thread over the run; the event loop of the busiest worker
      generator: {
        cpu: (used.user + used.system) / 1000 / wallMs,
        eventLoop: Math.max(...busiest),
        loopDelayMax: Math.max(...heldUp),
      },
      interrupted: o.signal?.aborted ?? false,
    })
  } finally {
    clearTimeout(startTimer)
    o.signal?.removeEventListener('abort', stopAll)
    stopAll()
    await Promise.all(threads.map((t) => t.terminate()))
  }
}
