// How many retries an upstream may receive: a share of its requests, so that retries cannot
// multiply the load on an upstream that is already failing.

export interface RetryBudgetOptions {
  /** retries allowed per request over the window (default 0.2: at most one retry for five requests) */
  ratio?: number
  /** retries allowed in any second whatever the traffic, so a quiet upstream can still retry (default 10) */
  minPerSec?: number
  /** how far back requests and retries count, in whole seconds (default 10) */
  windowSec?: number
  now?: () => number
}

/**
 * A retry budget over a sliding window of one-second slots. Without one, three attempts per
 * request turn an upstream's bad minute into three times its load, which keeps it down; with it,
 * retries stay within `ratio` of the requests of the last `windowSec` seconds, or under
 * `minPerSec` in the current second when traffic is too low for the ratio to allow any.
 */
export class RetryBudget {
  private readonly ratio: number
  private readonly minPerSec: number
  private readonly requests: Float64Array
  private readonly retries: Float64Array
  private readonly now: () => number
  /** the second the newest slot stands for */
  private second: number

  constructor(opts: RetryBudgetOptions = {}) {
    this.ratio = opts.ratio ?? 0.2
    this.minPerSec = opts.minPerSec ?? 10
    const slots = opts.windowSec ?? 10
    this.requests = new Float64Array(slots)
    this.retries = new Float64Array(slots)
    this.now = opts.now ?? Date.now
    this.second = Math.floor(this.now() / 1000)
  }

  /** Counts a request (its first attempt): each one adds `ratio` of a retry to the budget. */
  recordRequest(): void {
    this.requests[this.slot()]! += 1
  }

  /** Whether one more retry is allowed now; an allowed retry is counted against the budget. */
  tryRetry(): boolean {
    const current = this.slot()
    const allowed =
      sum(this.retries) < this.ratio * sum(this.requests) || this.retries[current]! < this.minPerSec
    if (allowed) this.retries[current]! += 1
    return allowed
  }

  /** The index of the current second's slot, after clearing the slots of the seconds gone by. */
  private slot(): number {
    const second = Math.floor(this.now() / 1000)
    const n = this.requests.length
    const passed = Math.min(second - this.second, n)
    for (let k = 1; k <= passed; k++) {
      const i = (this.second + k) % n
      this.requests[i] = 0
      this.retries[i] = 0
    }
    if (second > this.second) this.second = second
    return this.second % n
  }
}

function sum(values: Float64Array): number {
  let total = 0
  for (const v of values) total += v
  return total
}
