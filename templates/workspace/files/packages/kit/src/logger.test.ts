import { describe, expect, it } from 'vitest'
import { createLogger, StdoutLines } from './logger.js'

function recorder() {
  const writes: string[] = []
  return { writes, out: { write: (chunk: string) => void writes.push(chunk) } }
}
const nextTurn = () => new Promise((r) => setImmediate(r))

describe('StdoutLines', () => {
  it('writes the lines of one event-loop turn together, when the turn ends', async () => {
    const { writes, out } = recorder()
    const log = createLogger('svc', 'info', new StdoutLines(out))
    log.info({ n: 1 }, 'one')
    log.info({ n: 2 }, 'two')
    expect(writes).toEqual([])
    await nextTurn()
    expect(writes).toHaveLength(1)
    const lines = writes[0]!
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(lines).toMatchObject([
      { level: 'info', service: 'svc', n: 1, msg: 'one' },
      { level: 'info', service: 'svc', n: 2, msg: 'two' },
    ])
    log.warn('three')
    await nextTurn()
    expect(writes).toHaveLength(2)
    expect(JSON.parse(writes[1]!)).toMatchObject({ level: 'warn', msg: 'three' })
  })

  it('writes what it holds at once on flush, as shutdown and exit do', () => {
    const { writes, out } = recorder()
    const lines = new StdoutLines(out)
    const log = createLogger('svc', 'info', lines)
    log.error('before exit')
    log.flush()
    expect(writes).toHaveLength(1)
    lines.flushSync()
    expect(writes).toHaveLength(1)
  })

  it('stamps every line with an ISO time', async () => {
    const { writes, out } = recorder()
    const log = createLogger('svc', 'info', new StdoutLines(out))
    log.info('a')
    await new Promise((r) => setTimeout(r, 3))
    log.info('b')
    await nextTurn()
    const times = writes
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { time: string }).time)
    expect(times).toHaveLength(2)
    for (const t of times) expect(new Date(t).toISOString()).toBe(t)
    expect(times[1]! > times[0]!).toBe(true)
  })
})
