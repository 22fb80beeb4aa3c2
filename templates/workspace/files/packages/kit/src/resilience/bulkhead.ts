export class BulkheadFullError extends Error {
  override name = 'BulkheadFullError'
  constructor(
    readonly maxConcurrent: number,
    readonly maxQueue: number,
  ) {
    super(`bulkhead full: ${maxConcurrent} running and ${maxQueue} queued`)
  }
}

/**
 * At most `maxConcurrent` calls run at once; up to `maxQueue` more wait in order; beyond that a
 * call is rejected at once with BulkheadFullError, so a slow dependency cannot take every resource.
 */
export class Bulkhead {
  private running = 0
  private readonly queue: (() => void)[] = []

  constructor(
    private readonly maxConcurrent: number,
    private readonly maxQueue: number,
  ) {
    if (maxConcurrent < 1) throw new RangeError('maxConcurrent must be at least 1')
    if (maxQueue < 0) throw new RangeError('maxQueue must be at least 0')
  }

  get active(): number {
    return this.running
  }

  get queued(): number {
    return this.queue.length
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.running >= this.maxConcurrent) {
      if (this.queue.length >= this.maxQueue) throw new BulkheadFullError(this.maxConcurrent, this.maxQueue)
      await new Promise<void>((resolve) => this.queue.push(resolve))
    } else {
      this.running++
    }
    try {
      return await fn()
    } finally {
      const next = this.queue.shift()
      // the slot passes straight to the next waiter; otherwise it is freed
      if (next) next()
      else this.running--
    }
  }
}
