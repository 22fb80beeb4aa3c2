/**
 * The flows of a run in the load generator (core/loadtest/flow.ts): an iteration starts when the
 * mix picks its flow, its first step at the schedule's time (open model) or on a free connection
 * (closed), and each following step leaves when the one before it has answered, rendered with
 * the variables captured so far. Each step is an endpoint of the run, numbered after the weighted
 * requests, so its latency and statuses are recorded, reported and merged like theirs.
 *
 * Open model: a following step's clock starts at its predecessor's answer, the moment it is due,
 * and it is handed to the connections once the answer's connection is free again (so it can take
 * that one rather than open another). Closed model: it waits for the next free slot, which is the
 * slot its predecessor just freed.
 */
import type { AnswerView } from '../../core/loadtest/capture.js'
import { stepOutcome, type CompiledFlow, type CompiledStep } from '../../core/loadtest/flow.js'
import { FlowRecorder } from '../../core/loadtest/flow-stats.js'
import type { KeptAnswer } from '../../core/loadtest/http-parser.js'
import { createWeightedPicker } from '../../core/loadtest/mix.js'
import {
  RefusedRequestError,
  type CompiledRequest,
  type TemplateContext,
} from '../../core/loadtest/request.js'
import type { Job } from './schedulers.js'

/** One flow iteration: its flow, the variables captured so far, when its first step started. */
interface Iteration {
  flow: number
  vars: Record<string, string>
  start: number
  /** begun in the run's warm-up (--warmup): none of its steps is recorded */
  warm: boolean
}

/** A flow step on its way: the iteration it belongs to and its rendered bytes. */
interface FlowJob extends Job {
  iteration: Iteration
  step: number
  bytes: Uint8Array
}

export interface FlowRunnerOptions {
  flows: CompiledFlow[]
  /** the endpoint number of the first flow's first step (after the weighted requests) */
  firstEp: number
  /** the template context of one render (its {{seq}}, random source, time) with `vars` */
  context(vars: Record<string, string>): TemplateContext
  /** a step that was not sent (a captured value that cannot be made safe), to count as an error */
  refused(ep: number): void
  /** open model: sends a following step now; closed model: undefined (it waits for a free slot) */
  sendNext?: (job: Job) => void
  /** --warmup: when the measured run starts (performance.now()); an iteration begun before is not recorded */
  runStart?: () => number
}

const decoder = new TextDecoder()

export class FlowRunner {
  /** every step's request, in endpoint order */
  readonly endpoints: CompiledRequest[]
  readonly stats: FlowRecorder
  /** by endpoint - firstEp: the step's flow and index */
  private readonly byEp: { flow: number; step: number; compiled: CompiledStep }[] = []
  private readonly firstEps: number[] = []
  /** closed model: following steps waiting for a free slot */
  private readonly queue: FlowJob[] = []
  private queueHead = 0

  constructor(private readonly o: FlowRunnerOptions) {
    o.flows.forEach((f, flow) => {
      this.firstEps.push(o.firstEp + this.byEp.length)
      f.steps.forEach((compiled, step) => this.byEp.push({ flow, step, compiled }))
    })
    this.endpoints = this.byEp.map((s) => s.compiled.request)
    this.stats = new FlowRecorder(o.flows.map((f) => f.spec))
  }

  /**
   * The run's mix: the weighted requests' weights, then the flows'; picks an endpoint (a flow's
   * first step for a flow).
   */
  picker(requestWeights: number[]): () => number {
    const pick = createWeightedPicker([...requestWeights, ...this.o.flows.map((f) => f.spec.weight)])
    const n = requestWeights.length
    return () => {
      const i = pick()
      return i < n ? i : this.firstEps[i - n]!
    }
  }

  /** Is endpoint `ep` a flow step? */
  owns(ep: number): boolean {
    return ep >= this.o.firstEp
  }

  /** Are the headers and body of an answer to endpoint `ep` needed? */
  keeps(ep: number): boolean {
    return this.owns(ep) && this.byEp[ep - this.o.firstEp]!.compiled.keeps
  }

  /** A new iteration of the flow whose first step is `job.ep`; undefined when its step was refused. */
  begin(job: Job): Job | undefined {
    const { flow } = this.byEp[job.ep - this.o.firstEp]!
    // due at job.start (open model); the closed model sends it now
    const warm = this.o.runStart !== undefined && (job.start || performance.now()) < this.o.runStart()
    if (!warm) this.stats.started(flow)
    const iteration: Iteration = {
      flow,
      vars: Object.create(null) as Record<string, string>,
      start: 0,
      warm,
    }
    return this.render(iteration, job.ep, job.start)
  }

  /** Is this step part of an iteration begun in the warm-up (not recorded)? */
  warm(job: Job): boolean {
    return (job as FlowJob).iteration.warm
  }

  /** The bytes of a flow step, rendered when it was due. */
  bytes(job: Job): Uint8Array {
    return (job as FlowJob).bytes
  }

  /**
   * A step's answer (`status` 0: none); returns whether it counts as an error. Sends the next step
   * (open model) or queues it for a free slot (closed), or ends the iteration.
   */
  answered(job: Job, status: number, now: number, kept: KeptAnswer | undefined): boolean {
    const j = job as FlowJob
    const { flow, step, compiled } = this.byEp[j.ep - this.o.firstEp]!
    const it = j.iteration
    // the first step's clock: its intended send time (open) or its send (closed)
    if (step === 0) it.start = j.start
    const view: AnswerView | undefined = kept && {
      header: (name) => kept.headers[name],
      body: decoder.decode(kept.body),
    }
    const out = stepOutcome(compiled, status, view)
    const recorded = !it.warm
    if (recorded && out.checked && compiled.checks.length) this.stats.checked(flow, step, out.failedChecks)
    if (out.stop !== undefined) {
      if (recorded) this.stats.stopped(flow, step, out.stop)
      return out.failed
    }
    if (out.vars) Object.assign(it.vars, out.vars)
    if (step + 1 === this.o.flows[flow]!.steps.length) {
      if (recorded) this.stats.completed(flow, now - it.start)
    } else {
      const next = this.render(it, j.ep + 1, now)
      if (next) {
        if (this.o.sendNext) this.o.sendNext(next)
        else this.queue.push(next)
      }
    }
    return out.failed
  }

  /** Closed model: the next following step waiting for a slot. */
  nextQueued(): Job | undefined {
    if (this.queueHead >= this.queue.length) return undefined
    const job = this.queue[this.queueHead++]!
    if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue.splice(0, this.queueHead)
      this.queueHead = 0
    }
    return job
  }

  /** Renders step `ep` of `it` with its clock at `start`; a refused one ends the iteration. */
  private render(it: Iteration, ep: number, start: number): FlowJob | undefined {
    const { step, compiled } = this.byEp[ep - this.o.firstEp]!
    try {
      const bytes = compiled.request.bytes ?? compiled.request.encode(this.o.context(it.vars))
      return { ep, start, iteration: it, step, bytes }
    } catch (e) {
      if (!(e instanceof RefusedRequestError)) throw e
      if (it.warm) return undefined
      this.o.refused(ep)
      this.stats.stopped(it.flow, step, `refused: ${e.message}`)
      return undefined
    }
  }
}
