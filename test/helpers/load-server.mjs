// A local HTTP server for the loadtest tests, in its own process so that it is a real peer.
// argv[2] is JSON: { stallEveryMs, stallMs, firstStallInMs, delayMs, maxRequestsPerSocket }. Prints {"port","t0"} once listening.
//   - stalls: a request arriving while (now - t0) mod stallEveryMs < stallMs is held until the stall ends
//   - GET /count answers how many other requests arrived; GET /fail answers 500; GET /orders a list; POST /orders 201 when the body is the default aggregate's ({ name, description?, status? }), else 400
import { Buffer } from 'node:buffer'
import http from 'node:http'
import { setTimeout } from 'node:timers'

const o = JSON.parse(process.argv[2] ?? '{}')
const t0 = Date.now() + (o.firstStallInMs ?? 0)
let created = 0
/** requests that arrived, but for GET /count's own */
let seen = 0

function stallLeft(now) {
  if (!o.stallEveryMs) return 0
  const phase = (((now - t0) % o.stallEveryMs) + o.stallEveryMs) % o.stallEveryMs
  return phase < o.stallMs ? o.stallMs - phase : 0
}

function answer(req, res, body) {
  const json = (status, value) => {
    const text = JSON.stringify(value)
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
    res.end(text)
  }
  const path = req.url.split('?')[0]
  if (path === '/count') return json(200, { seen })
  if (path === '/fail') return json(500, { error: 'failing on purpose' })
  if (path === '/chunked') {
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.write('part one, ')
    return res.end('part two')
  }
  if (path === '/orders' && req.method === 'GET') return json(200, { items: [] })
  if (path === '/orders' && req.method === 'POST') {
    try {
      const v = JSON.parse(body)
      const keys = Object.keys(v)
      const known = ['name', 'description', 'status']
      if (
        typeof v.name === 'string' &&
        v.name &&
        keys.every((k) => known.includes(k)) &&
        (v.status === undefined || v.status === 'active' || v.status === 'inactive')
      )
        return json(201, { id: String(++created), ...v })
    } catch {
      /* 400 below */
    }
    return json(400, { error: 'bad body' })
  }
  return json(200, { ok: true })
}

const server = http.createServer((req, res) => {
  const arrived = Date.now()
  if (!req.url.startsWith('/count')) seen++
  let body = ''
  req.on('data', (c) => (body += c))
  req.on('end', () => {
    const wait = stallLeft(arrived) + (o.delayMs ?? 0)
    if (wait > 0) setTimeout(() => answer(req, res, body), wait)
    else answer(req, res, body)
  })
})
server.keepAliveTimeout = 60_000
if (o.maxRequestsPerSocket) server.maxRequestsPerSocket = o.maxRequestsPerSocket
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.address().port, t0 }) + '\n')
})
process.on('SIGTERM', () => process.exit(0))
