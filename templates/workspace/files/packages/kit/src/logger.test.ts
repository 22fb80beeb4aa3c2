import { describe, expect, it } from 'vitest'
import { pino } from 'pino'
import { createLogger, preformattedLine, StdoutLines } from './logger.js'

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

describe('preformattedLine', () => {
  const capture = () => {
    const lines: string[] = []
    return { lines, out: { write: (line: string) => void lines.push(line) } }
  }
  const withoutTime = (line: string) => line.replace(/"time":"[^"]*"/, '"time":"T"')

  it("writes the very line pino writes for the same fields and message, the logger's bindings included", () => {
    const { lines, out } = capture()
    const log = createLogger('svc', 'info', out).child({ zone: 'a' })
    const root = createLogger('svc', 'info', out)
    root.info({ requestId: 'r-1', statusCode: 200, durationMs: 1.5 }, 'request')
    preformattedLine(root, 'info', 'request')('"requestId":"r-1","statusCode":200,"durationMs":1.5')
    expect(lines).toHaveLength(2)
    expect(withoutTime(lines[1]!)).toBe(withoutTime(lines[0]!))
    expect(lines[1]!.endsWith('\n')).toBe(true)
    expect(JSON.parse(lines[1]!)).toMatchObject({
      level: 'info',
      service: 'svc',
      requestId: 'r-1',
      msg: 'request',
    })
    // a child (other bindings) is not createLogger's own logger: its lines go through pino
    preformattedLine(log, 'info', 'request')('"n":1')
    expect(JSON.parse(lines[2]!)).toMatchObject({
      level: 'info',
      service: 'svc',
      zone: 'a',
      n: 1,
      msg: 'request',
    })
  })

  it('honours the level at each write', () => {
    const { lines, out } = capture()
    const log = createLogger('svc', 'info', out)
    const debug = preformattedLine(log, 'debug', 'polled')
    debug('"n":1')
    expect(lines).toEqual([])
    log.level = 'debug'
    debug('"n":2')
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'debug', n: 2, msg: 'polled' })
  })

  it('falls back to the logger itself for a logger of another format or a stream that needs levels', () => {
    const { lines, out } = capture()
    const other = pino({ base: null, timestamp: false }, out)
    preformattedLine(other, 'info', 'request')('"a":"b"')
    expect(JSON.parse(lines[0]!)).toEqual({ level: 30, a: 'b', msg: 'request' })
    // a multistream hands a line to its streams by the level pino gives it beside the line
    const routed: string[] = []
    const multi = pino.multistream([
      { level: 'info', stream: { write: (line: string) => routed.push(line) } },
    ])
    preformattedLine(createLogger('svc', 'info', multi), 'info', 'request')('"a":"b"')
    expect(routed.map((l) => JSON.parse(l) as unknown)).toMatchObject([
      { level: 'info', a: 'b', msg: 'request' },
    ])
  })
})

describe('createLogger with plain (KIT_PLAIN_LOGGING=1)', () => {
  it('is a plain pino logger writing each line at once, with the same fields', () => {
    const lines: string[] = []
    const log = createLogger('svc', 'info', { write: (l: string) => void lines.push(l) }, { plain: true })
    log.info({ requestId: 'r-2' }, 'hello')
    log.debug('not at info')
    expect(lines).toHaveLength(1) // written as logged, not at the end of the turn
    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: 'info',
      service: 'svc',
      requestId: 'r-2',
      msg: 'hello',
    })
    expect(JSON.parse(lines[0]!).time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
  })
})
