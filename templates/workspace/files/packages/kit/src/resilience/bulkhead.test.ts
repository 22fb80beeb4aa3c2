import { describe, expect, it } from 'vitest'
import { Bulkhead, BulkheadFullError } from './bulkhead.js'

describe('Bulkhead', () => {
  it('runs at most maxConcurrent, queues maxQueue, rejects the rest at once', async () => {
    const bulkhead = new Bulkhead(2, 1)
    const gates: (() => void)[] = []
    const order: number[] = []
    const task = (n: number) => () =>
      new Promise<number>((resolve) =>
        gates.push(() => {
          order.push(n)
          resolve(n)
        }),
      )
    const a = bulkhead.run(task(1))
    const b = bulkhead.run(task(2))
    const c = bulkhead.run(task(3))
    await expect(bulkhead.run(task(4))).rejects.toBeInstanceOf(BulkheadFullError)
    expect([bulkhead.active, bulkhead.queued]).toEqual([2, 1])
    expect(gates).toHaveLength(2)
    gates[0]!()
    await a
    await Promise.resolve()
    expect(gates).toHaveLength(3) // the queued task got the freed slot
    gates[1]!()
    gates[2]!()
    expect(await Promise.all([b, c])).toEqual([2, 3])
    expect([bulkhead.active, bulkhead.queued]).toEqual([0, 0])
    expect(order).toEqual([1, 2, 3])
  })

  it('frees the slot when a task fails', async () => {
    const bulkhead = new Bulkhead(1, 0)
    await expect(bulkhead.run(() => Promise.reject(new Error('x')))).rejects.toThrow('x')
    await expect(bulkhead.run(() => Promise.resolve('next'))).resolves.toBe('next')
  })
})
