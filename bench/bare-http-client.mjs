// The bare Node.js load loop that bench/loadtest.mjs measures beside msvc, wrk and wrk2: the
// least a Node client does for the same work, so that the bench can tell msvc's own cost from the
// runtime's. Keep-alive sockets from node:net writing prebuilt GET bytes; an answer is found by
// the blank line after its head (the bench's target answers a fixed 11-byte body with its
// content-length in the head, so an answer's bytes arrive with its head). No parsing, no recording
// beyond an array of numbers; the schedule of the open model is a constant rate with 0.1 ms naps
// between sends, as msvc's.
//   node bench/bare-http-client.mjs closed <port> <connections> <seconds>
//   node bench/bare-http-client.mjs open <port> <connections> <seconds> <rate> [<warm-up ms>]
// prints one JSON line: closed {rps}; open {p99, lagP99, requests} over what was due after the warm-up
import { connect } from 'node:net'
import { setImmediate } from 'node:timers'

const [mode, portArg, connArg, secondsArg, rateArg, warmArg] = process.argv.slice(2)
const port = Number(portArg)
const connections = Number(connArg)
const seconds = Number(secondsArg)
if (!['closed', 'open'].includes(mode) || !(port > 0) || !(connections > 0) || !(seconds > 0)) {
  console.error(
    'usage: bare-http-client.mjs closed|open <port> <connections> <seconds> [<rate> [<warm-up ms>]]',
  )
  process.exit(1)
}
const request = Buffer.from(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`)
const HEAD_END = Buffer.from('\r\n\r\n')

/** Opens `n` sockets; `onAnswer(socket)` for each answer; resolves once all are connected. */
const openSockets = (n, onAnswer) =>
  Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise((resolve, reject) => {
          const s = connect({ port, host: '127.0.0.1', noDelay: true })
          s.intended = []
          s.on('data', (chunk) => {
            for (let at = chunk.indexOf(HEAD_END); at !== -1; at = chunk.indexOf(HEAD_END, at + 4))
              onAnswer(s)
          })
          s.once('connect', () => resolve(s))
          s.once('error', reject)
        }),
    ),
  )

const percentile = (values, q) => {
  const sorted = Float64Array.from(values).sort()
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? NaN
}

if (mode === 'closed') {
  let answers = 0
  let sending = true
  const sockets = await openSockets(connections, (s) => {
    answers++
    if (sending) s.write(request)
  })
  const t0 = performance.now()
  for (const s of sockets) s.write(request)
  await new Promise((r) => setTimeout(r, seconds * 1000))
  sending = false
  const elapsed = (performance.now() - t0) / 1000
  console.log(JSON.stringify({ rps: answers / elapsed }))
  for (const s of sockets) s.destroy()
} else {
  const rate = Number(rateArg)
  const warmMs = Number(warmArg ?? 0)
  if (!(rate > 0) || !(warmMs >= 0)) {
    console.error('open: give a rate above 0 and a warm-up of 0 ms or more')
    process.exit(1)
  }
  const every = 1000 / rate
  const total = Math.round((rate * (warmMs + seconds * 1000)) / 1000)
  const lags = []
  const latencies = []
  const idle = []
  const backlog = []
  let t0 = 0
  let due = 0
  let answered = 0
  const nap = new Int32Array(new SharedArrayBuffer(4))
  const write = (s, intended) => {
    if (intended - t0 >= warmMs) lags.push(performance.now() - intended)
    s.intended.push(intended)
    s.write(request)
  }
  const sendDue = () => {
    const now = performance.now() - t0
    while (due < total && due * every <= now) {
      const intended = t0 + due++ * every
      const s = idle.pop()
      if (s) write(s, intended)
      else backlog.push(intended)
    }
  }
  const sockets = await openSockets(connections, (s) => {
    const intended = s.intended.shift()
    answered++
    if (intended - t0 >= warmMs) latencies.push(performance.now() - intended)
    if (backlog.length) write(s, backlog.shift())
    else idle.push(s)
    sendDue()
  })
  idle.push(...sockets)
  await new Promise((resolve) => {
    const tick = () => {
      sendDue()
      if (due >= total) return resolve()
      const wait = due * every - (performance.now() - t0)
      if (wait > 2) return void setTimeout(tick, wait - 1)
      if (wait > 0) Atomics.wait(nap, 0, 0, Math.min(wait, 0.1))
      setImmediate(tick)
    }
    t0 = performance.now()
    tick()
  })
  // the last answers, up to 10 s
  for (let waited = 0; answered < total && waited < 10_000; waited += 10)
    await new Promise((r) => setTimeout(r, 10))
  console.log(
    JSON.stringify({
      p99: percentile(latencies, 0.99),
      lagP99: percentile(lags, 0.99),
      requests: latencies.length,
    }),
  )
  for (const s of sockets) s.destroy()
}
