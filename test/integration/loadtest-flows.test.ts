// Response chaining (issue 19): a flow creates an order, reads it and cancels it by the id its
// first answer gave, against a real HTTP server on 127.0.0.1, in both models and on two workers.
import { rm, writeFile } from 'node:fs/promises'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { LoadReport } from '../../src/core/loadtest/report.js'
import { msvc } from '../helpers/cli.js'
import { makeTempDir } from '../helpers/temp-dir.js'

/** An order service: every 10th create answers without an id, every 10th order (5, 15, ...) stays pending. */
function orderServer() {
  const state = {
    creates: 0,
    /** ids handed out, in order */
    ids: [] as string[],
    /** decoded ids of the reads and cancels, in arrival order */
    gets: [] as string[],
    cancels: [] as string[],
    /** raw request targets of the reads (to see the encoding) */
    rawGets: [] as string[],
    other: [] as string[],
  }
  const server = http.createServer((req, res) => {
    const url = req.url!
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers })
      res.end(JSON.stringify(body))
    }
    let body = ''
    req.on('data', (c: Buffer) => (body += c.toString()))
    req.on('end', () => {
      if (req.method === 'POST' && url === '/orders') {
        const n = ++state.creates
        if (n % 10 === 0) return json(201, { name: (JSON.parse(body) as { name: string }).name })
        // a space and a slash: the id must be percent-encoded to stay one path segment
        const id = `o ${n}/x`
        state.ids.push(id)
        return json(201, { id, status: 'new' }, { location: `/orders/${n}` })
      }
      const m = /^\/orders\/([^/]+)(\/cancel)?$/.exec(url)
      if (m) {
        const id = decodeURIComponent(m[1]!)
        const n = Number(/^o (\d+)\/x$/.exec(id)?.[1])
        if (!state.ids.includes(id)) return json(404, { message: 'no such order' })
        if (m[2]) {
          state.cancels.push(id)
          return json(200, { id, status: 'cancelled', by: req.headers['x-order'] })
        }
        state.gets.push(id)
        state.rawGets.push(url)
        return json(200, { id, status: n % 10 === 5 ? 'pending' : 'confirmed', total: 30 })
      }
      if (req.method === 'POST' && url === '/notes') return json(201, { note: 'line one\r\nx-admin: 1' })
      state.other.push(url)
      res.end('ok')
    })
  })
  return { server, state }
}

const SCENARIO = (target: string, load: string) => `target: ${target}
${load}
requests:
  - path: /health
flows:
  - name: checkout
    steps:
      - name: create
        method: POST
        path: /orders
        body: { name: "order {{seq}}" }
        expect: 201
        capture: { id: $.id, where: "header:location" }
      - name: get
        path: /orders/{{id}}
        check: { $.status: confirmed, $.total: 30 }
      - name: cancel
        method: POST
        path: /orders/{{id}}/cancel
        headers: { x-order: "{{id}}" }
        body: { reason: "load test of {{where}}" }
        check: { $.status: cancelled }
`

describe('msvc loadtest with a flow: create, get and cancel an order by the id it was given', () => {
  let tmp: string
  let url: string
  let srv: ReturnType<typeof orderServer>
  beforeAll(async () => {
    tmp = await makeTempDir()
  })
  beforeEach(async () => {
    srv?.server.close()
    srv = orderServer()
    await new Promise<void>((resolve) => srv.server.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(srv.server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    srv?.server.close()
    await rm(tmp, { recursive: true, force: true })
  })

  /** What every run must show: the server saw the captured ids, in flow order, and the report counts it. */
  function expectChained(report: LoadReport, s: ReturnType<typeof orderServer>['state']) {
    const [flow] = report.flows!
    const created = s.ids.length
    const noId = s.creates - created
    expect(noId).toBeGreaterThan(0)
    // every read and cancel named an id the server gave, each once, and read before cancelled
    expect(new Set(s.gets).size).toBe(s.gets.length)
    expect(new Set(s.cancels).size).toBe(s.cancels.length)
    for (const id of s.gets) expect(s.ids).toContain(id)
    for (const id of s.cancels) expect(s.gets).toContain(id)
    for (const raw of s.rawGets) expect(raw).toMatch(/^\/orders\/o%20\d+%2Fx$/)
    const endpoint = (name: string) => report.endpoints.find((e) => e.name === `checkout › ${name}`)!
    expect(flow!.iterations).toBe(s.creates)
    expect(endpoint('create').requests).toBe(s.creates)
    // an answer without an id stops its iteration there: a counted, named error
    expect(flow!.steps[0]!.stops).toEqual({ 'capture id: the answer has no $.id': noId })
    expect(endpoint('create').errors).toBe(noId)
    expect(endpoint('get').requests).toBe(s.gets.length)
    expect(endpoint('cancel').requests).toBe(s.cancels.length)
    // a failed check is counted per check, and as an error of its step
    const pending = s.gets.filter((id) => Number(/\d+/.exec(id)![0]) % 10 === 5).length
    expect(flow!.steps[1]!.checks).toEqual([
      { check: '$.status = "confirmed"', passed: s.gets.length - pending, failed: pending },
      { check: '$.total = 30', passed: s.gets.length, failed: 0 },
    ])
    expect(endpoint('get').errors).toBe(pending)
    expect(flow!.steps[2]!.checks).toEqual([
      { check: '$.status = "cancelled"', passed: s.cancels.length, failed: 0 },
    ])
    expect(flow!.completed).toBe(s.cancels.length)
    expect(flow!.stopped).toBe(noId)
    expect(flow!.latency.count).toBe(flow!.completed)
    // end to end spans the steps: at least as long as the slowest step's median
    expect(flow!.latency.max).toBeGreaterThanOrEqual(endpoint('cancel').latency.p50)
  }

  it('open model: each iteration follows the schedule, its later steps their predecessors', async () => {
    const file = join(tmp, 'open.yaml')
    await writeFile(file, SCENARIO(url, 'rate: 100\nduration: 2s'))
    const r = await msvc(['loadtest', '-f', file, '--json'])
    expect(r.exitCode, r.stderr).toBe(0)
    const report = JSON.parse(r.stdout) as LoadReport
    // the mix picks the flow and the request 1:1: 100 of the 200 arrivals are iterations
    expect(srv.state.other).toHaveLength(100)
    expect(srv.state.creates).toBe(100)
    expectChained(report, srv.state)
    expect(srv.state.cancels).toHaveLength(90)
    expect(report.unfinished).toBe(0)
    // the summary on a terminal names the flow, its checks and stops
    const text = await msvc(['loadtest', '-f', file, '-d', '500ms'])
    expect(text.stdout).toMatch(/flow checkout: \d+ iterations, \d+ completed, \d+ stopped; end to end p50/)
    expect(text.stdout).toMatch(/✖ get: check \$\.status = "confirmed": \d+ passed, \d+ failed/)
    expect(text.stdout).toMatch(/✖ create: \d+ stopped: capture id: the answer has no \$\.id/)
  })

  it('closed model: each connection runs iterations back to back', async () => {
    const file = join(tmp, 'closed.yaml')
    await writeFile(file, SCENARIO(url, 'connections: 4\nduration: 1s'))
    const r = await msvc(['loadtest', '-f', file, '--json'])
    expect(r.exitCode, r.stderr).toBe(0)
    const report = JSON.parse(r.stdout) as LoadReport
    expect(srv.state.creates).toBeGreaterThan(20)
    // iterations cut by the run's end are neither completed nor stopped: at most one per connection
    const [flow] = report.flows!
    expect(flow!.iterations - flow!.completed - flow!.stopped).toBeLessThanOrEqual(4)
    expect(flow!.steps[0]!.stops).toEqual({
      'capture id: the answer has no $.id': srv.state.creates - srv.state.ids.length,
    })
    for (const id of srv.state.gets) expect(srv.state.ids).toContain(id)
    for (const id of srv.state.cancels) expect(srv.state.gets).toContain(id)
    expect(srv.state.gets.length - srv.state.cancels.length).toBeLessThanOrEqual(4)
    expect(flow!.completed).toBe(srv.state.cancels.length)
    expect(report.connectionsOpened).toBe(4)
  })

  it('--workers 2: iterations on both threads, figures merged', async () => {
    const file = join(tmp, 'workers.yaml')
    await writeFile(file, SCENARIO(url, 'rate: 100\nduration: 2s'))
    const r = await msvc(['loadtest', '-f', file, '--workers', '2', '--json'])
    expect(r.exitCode, r.stderr).toBe(0)
    const report = JSON.parse(r.stdout) as LoadReport
    expect(srv.state.creates).toBe(100)
    expect(srv.state.other).toHaveLength(100)
    expectChained(report, srv.state)
    expect(report.flows![0]!.completed).toBe(90)
  })

  it.each(['1', '2'])(
    '--warmup with %s worker(s): its iterations run whole and none is in the figures, even steps after its end',
    async (workers) => {
      const file = join(tmp, `warm-${workers}.yaml`)
      await writeFile(file, SCENARIO(url, 'rate: 100\nduration: 1s\nwarmup: 1s'))
      const r = await msvc(['loadtest', '-f', file, '--workers', workers, '--json'])
      expect(r.exitCode, r.stderr).toBe(0)
      const report = JSON.parse(r.stdout) as LoadReport
      // 1 s of warm-up and 1 s of run at 100/s, half of them iterations: the server saw both
      expect(srv.state.creates).toBe(100)
      expect(srv.state.other).toHaveLength(100)
      // the run's 50 iterations alone: orders 51-100, five without an id (60, 70, ..., 100)
      const [flow] = report.flows!
      expect(flow!.iterations).toBe(50)
      expect(flow!.stopped).toBe(5)
      expect(flow!.completed).toBe(45)
      const requests = (name: string) => report.endpoints.find((e) => e.name === name)!.requests
      expect([requests('GET /health'), requests('checkout › create'), requests('checkout › cancel')]).toEqual(
        [50, 50, 45],
      )
      expect(report.requests).toBe(50 + 50 + 45 + 45)
      // the warm-up's own: orders 1-50 (five without an id, five pending reads failing their check)
      expect(report.warmup).toMatchObject({ requests: 50 + 50 + 45 + 45, errors: 10 })
      expect(srv.state.cancels).toHaveLength(90)
    },
  )

  it('a captured value with a line break is refused in a header: counted, named, never sent', async () => {
    const file = join(tmp, 'refused.yaml')
    await writeFile(
      file,
      `target: ${url}
rate: 50
duration: 1s
flows:
  - name: notes
    steps:
      - method: POST
        path: /notes
        capture: { note: $.note }
      - path: /echo
        headers: { x-note: "{{note}}" }
`,
    )
    const r = await msvc(['loadtest', '-f', file, '--json'])
    const report = JSON.parse(r.stdout) as LoadReport
    expect(srv.state.other).toEqual([])
    expect(report.flows![0]!.steps[1]!.stops).toEqual({
      'refused: headers.x-note: a captured value holds a line break (CR or LF)': 50,
    })
    expect(report.endpoints[1]).toMatchObject({ name: 'notes › GET /echo', requests: 50, errors: 50 })
    expect(report.endpoints[1]!.statuses).toEqual({ 0: 50 })
    expect(report.endpoints[1]!.latency.count).toBe(0)
  })

  it('a bad flow is refused before any traffic: one line, a hint, exit 1', async () => {
    const cases: [string, RegExp][] = [
      [
        '  - steps:\n      - path: "/orders/{{id}}"\n',
        /flows\[0\]\.steps\[0\]\.path: unknown placeholder "\{\{id\}\}"[^\n]*\n.*capture/,
      ],
      [
        '  - steps:\n      - path: /a\n        capture: { id: "$.items[*]" }\n',
        /flows\[0\]\.steps\[0\]\.capture\.id: "\$\.items\[\*\]" is not a JSON path[^\n]*\n.*JSON path \(/,
      ],
      [
        '  - steps:\n      - path: /a\n        capture: { id: $.id }\n      - path: /b\n        capture: { id: $.id }\n',
        /steps\[0\] captures id already\n.*its own name/,
      ],
      ['  - name: empty\n    steps: []\n', /flows\[0\]\.steps: a flow needs at least one step\n/],
    ]
    for (const [flow, message] of cases) {
      const file = join(tmp, 'bad.yaml')
      await writeFile(file, `target: ${url}\nrate: 10\nduration: 1s\nflows:\n${flow}`)
      const r = await msvc(['loadtest', '-f', file])
      expect(r.exitCode).toBe(1)
      expect(r.stderr).toMatch(message)
      expect(r.stderr.trim().split('\n').length).toBeLessThanOrEqual(2)
    }
    expect(srv.state.creates + srv.state.other.length).toBe(0)
  })
})
