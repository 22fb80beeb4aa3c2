import { Counter, Gauge, type Registry } from 'prom-client'

export type BreakerState = 'closed' | 'open' | 'half-open'

/** Gauge values of `circuit_breaker_state`. */
export const BREAKER_STATE_VALUE: Record<BreakerState, number> = { closed: 0, open: 1, 'half-open': 2 }

export class BreakerOpenError extends Error {
  override name = 'BreakerOpenError'
  constructor(readonly target: string) {
    super(`circuit breaker for ${target} is open`)
  }
}

export interface BreakerOptions {
  /** the dependency this breaker guards; the metric label */
  target: string
  /** consecutive failures that open the breaker */
  failureThreshold: number
  /** how long it stays open before letting trial calls through */
  openMs: number
  /** trial calls allowed at once while half-open; that many successes close it */
  halfOpenMaxCalls: number
  /** failures that should not count (e.g. a 404 from the dependency); default: all count */
  isFailure?: (error: unknown) => boolean
  now?: () => number
  /** registers circuit_breaker_state and circuit_breaker_transitions_total here */
  registry?: Registry
  onStateChange?: (from: BreakerState, to: BreakerState) => void
}

const gauges = new WeakMap<
  Registry,
  { state: Gauge<'target'>; transitions: Counter<'target' | 'from' | 'to'> }
>()

function metricsFor(registry: Registry) {
  let m = gauges.get(registry)
  if (!m) {
    m = {
      state: new Gauge({
        name: 'circuit_breaker_state',
        help: 'Circuit breaker state per target: 0 closed, 1 open, 2 half-open',
        labelNames: ['target'],
        registers: [registry],
      }),
      transitions: new Counter({
        name: 'circuit_breaker_transitions_total',
        help: 'Circuit breaker state transitions per target',
        labelNames: ['target', 'from', 'to'],
        registers: [registry],
      }),
    }
    gauges.set(registry, m)
  }
  return m
}

/**
 * Closed: calls pass; `failureThreshold` consecutive failures open it. Open: calls fail at once
 * with BreakerOpenError until `openMs` has passed. Half-open: up to `halfOpenMaxCalls` trial
 * calls at once; any failure opens it again, `halfOpenMaxCalls` successes close it.
 */
export class CircuitBreaker {
  private current: BreakerState = 'closed'
  private failures = 0
  private openedAt = 0
  private trialsInFlight = 0
  private trialSuccesses = 0
  private readonly now: () => number
  private readonly metrics?: ReturnType<typeof metricsFor>

  constructor(private readonly opts: BreakerOptions) {
    this.now = opts.now ?? Date.now
    if (opts.registry) {
      this.metrics = metricsFor(opts.registry)
      this.metrics.state.set({ target: opts.target }, 0)
    }
  }

  get state(): BreakerState {
    if (this.current === 'open' && this.now() - this.openedAt >= this.opts.openMs)
      this.transition('half-open')
    return this.current
  }

  async call<T>(fn: () => Promise<T>): Promise<T> {
    const state = this.state
    if (state === 'open') throw new BreakerOpenError(this.opts.target)
    if (state === 'half-open') {
      if (this.trialsInFlight >= this.opts.halfOpenMaxCalls) throw new BreakerOpenError(this.opts.target)
      this.trialsInFlight++
    }
    const trial = state === 'half-open'
    try {
      const result = await fn()
      this.onSuccess(trial)
      return result
    } catch (error) {
      if (this.opts.isFailure && !this.opts.isFailure(error)) this.onSuccess(trial)
      else this.onFailure(trial)
      throw error
    }
  }

  private onSuccess(trial: boolean): void {
    if (trial) {
      this.trialsInFlight--
      if (this.current !== 'half-open') return
      this.trialSuccesses++
      if (this.trialSuccesses >= this.opts.halfOpenMaxCalls) this.transition('closed')
    } else if (this.current === 'closed') this.failures = 0
  }

  private onFailure(trial: boolean): void {
    if (trial) {
      this.trialsInFlight--
      if (this.current === 'half-open') this.transition('open')
      return
    }
    if (this.current !== 'closed') return
    this.failures++
    if (this.failures >= this.opts.failureThreshold) this.transition('open')
  }

  private transition(to: BreakerState): void {
    const from = this.current
    if (from === to) return
    this.current = to
    this.failures = 0
    this.trialSuccesses = 0
    if (to === 'open') this.openedAt = this.now()
    if (to !== 'half-open') this.trialsInFlight = 0
    this.metrics?.state.set({ target: this.opts.target }, BREAKER_STATE_VALUE[to])
    this.metrics?.transitions.inc({ target: this.opts.target, from, to })
    this.opts.onStateChange?.(from, to)
  }
}
