// One request passed to an upstream and its answer passed back, both streamed: the attempts
// (retries on another instance, within the budget), the breaker around them, the errors the
// gateway answers itself, and the accounting (balancer, metrics) of each attempt.
import type { IncomingHttpHeaders } from 'node:http'
import { Transform, Writable, type Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Dispatcher } from 'undici'
import { backoffDelay } from '../resilience/retry.js'
import { BreakerOpenError } from '../resilience/breaker.js'
import type { UpstreamOutcome, UpstreamSeries } from './gateway-metrics.js'
import { clientResponseHeaders } from './forwarded.js'
import { sendProblem } from './problem.js'
import { isConnectionError, type Picked, type Upstream } from './upstream.js'

/** What an exchange needs of its route. */
export interface ExchangeRoute {
  upstream: Upstream
  series: UpstreamSeries
  /** how long an attempt waits for response headers, and at most between two body chunks */
  timeoutMs: number
  /** retries after the first attempt, for requests that may be sent twice */
  retries: number
}

export interface Exchange {
  request: FastifyRequest
  reply: FastifyReply
  route: ExchangeRoute
  /** the upstream's request target (path and query) */
  target: string
  headers: Record<string, string | string[]>
  bodyLimit: number
  /** response fields the gateway adds to the upstream's (rate limit headers) */
  responseHeaders: Record<string, string>
}

/** How an exchange ended, for the gateway's log line. */
export interface ExchangeSummary {
  status: number
  attempts: number
  /** the instance of the last attempt */
  instance: string | undefined
  /** the answer's body was cut after its head had gone out: `upstream` or `client` */
  cut?: 'upstream' | 'client'
}

/** Methods a request of which may be sent twice, when it has no body (RFC 9110 §9.2.2). */
const RETRYABLE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE'])

/**
 * Why an attempt failed: the instance (`connection`, `timeout`, `protocol`: no valid answer), or
 * the client (`too-large`: past the body limit, `client-gone`: it went away, `invalid`: a request
 * undici will not send). Only the instance's failures count against it and its upstream.
 */
type FailureKind = 'connection' | 'timeout' | 'protocol' | 'too-large' | 'client-gone' | 'invalid'

class AttemptError extends Error {
  override name = 'AttemptError'
  constructor(
    readonly kind: FailureKind,
    cause: unknown,
  ) {
    super(`attempt failed (${kind}): ${(cause as Error)?.message ?? String(cause)}`, { cause })
  }

  get isUpstreamFault(): boolean {
    return isUpstreamFault(this.kind)
  }
}

/** A 5xx answer: a failure for the breaker, though the client got it as it came. */
class FailedAnswer extends Error {
  override name = 'FailedAnswer'
  constructor(
    readonly statusCode: number,
    readonly relay: Relay,
  ) {
    super(`the upstream answered ${statusCode}`)
  }
}

class NoInstanceError extends Error {
  override name = 'NoInstanceError'
}

function isUpstreamFault(kind: FailureKind): boolean {
  return kind === 'connection' || kind === 'timeout' || kind === 'protocol'
}

/** What the breaker counts as a failure: the upstream's doing, not a client's. */
export function isUpstreamFailure(error: unknown): boolean {
  return !(error instanceof AttemptError) || error.isUpstreamFault
}

/** Whether the request carries a body: a content-length above 0, or chunked. */
export function hasRequestBody(headers: IncomingHttpHeaders): boolean {
  return headers['transfer-encoding'] !== undefined || Number(headers['content-length'] ?? 0) > 0
}

/** A request body on its way upstream; `tooLarge` once a chunked body passed the limit. */
interface BodyIn {
  stream: Readable
  tooLarge: boolean
}

/**
 * The request body as undici reads it, never buffered. With a content-length (already checked
 * against the limit) the request stream itself; chunked, through a counter that fails the
 * stream, and with it the upstream request, once the limit is passed.
 */
function requestBody(request: FastifyRequest, limit: number): BodyIn | undefined {
  const raw = request.raw
  if (!hasRequestBody(raw.headers)) return undefined
  if (raw.headers['transfer-encoding'] === undefined) return { stream: raw, tooLarge: false }
  let seen = 0
  const body: BodyIn = {
    stream: new Transform({
      transform(chunk: Buffer, _encoding, done) {
        seen += chunk.length
        if (seen <= limit) return done(null, chunk)
        body.tooLarge = true
        done(new Error(`the request body is larger than ${limit} bytes`))
      },
    }),
    tooLarge: false,
  }
  // pipe, not pipeline: failing the counter must leave the client's connection open for the 413
  raw.pipe(body.stream as Transform)
  raw.once('error', (e) => body.stream.destroy(e))
  return body
}

/** State of one exchange across its attempts. */
interface Attempts {
  x: Exchange
  body: BodyIn | undefined
  retryable: boolean
  /** aborts the attempt under way: the client went away, or the answer is late */
  aborter: AbortController
  /** the attempt under way was aborted for being late */
  late: boolean
  count: number
  instance: string | undefined
  cut: 'upstream' | 'client' | undefined
}

/**
 * Sends the request upstream and relays the answer, or answers with a problem: 503 (breaker
 * open, no instance), 504 (timeout), 502 (connection failed, no valid answer), 413 (a chunked
 * body past the limit). Upstream answers pass unchanged, 4xx and 5xx included, unless retried.
 *
 * The answer is relayed by undici's stream(): once its head arrives, the fastify reply is taken
 * over (hijack) and undici writes the body straight into node's response, with backpressure.
 * Going through reply.send(stream) instead halved the gateway's requests per second
 * (architecture.md, "The gateway's speed"). The kit's request line and RED metrics of an answer
 * that finishes still come from fastify, which watches the response finish; one cut short has
 * only the gateway's line.
 */
export async function forward(x: Exchange): Promise<ExchangeSummary> {
  const { request, reply, route } = x
  const aborter = new AbortController()
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) aborter.abort()
  })
  reply.raw.once('finish', () => discardRest(request))
  const body = requestBody(request, x.bodyLimit)
  const state: Attempts = {
    x,
    body,
    retryable: RETRYABLE_METHODS.has(request.method) && body === undefined,
    aborter,
    late: false,
    count: 0,
    instance: undefined,
    cut: undefined,
  }
  route.upstream.budget.recordRequest()
  // the breaker and the retries see attempts up to the answer's head, so that a long body (a
  // download, a slow reader) never holds a half-open breaker's one trial
  let relay: Relay | undefined
  try {
    relay = await route.upstream.breaker.call(() => attemptAll(state))
  } catch (e) {
    if (e instanceof FailedAnswer) relay = e.relay
    else answerFailure(state, e)
  }
  if (relay) await settleRelay(state, relay)
  return {
    status: reply.statusCode,
    attempts: state.count,
    instance: state.instance,
    ...(state.cut ? { cut: state.cut } : {}),
  }
}

/** An answer whose head went to the client, its body on the way. */
interface Relay {
  picked: Picked
  attempt: Attempt
  /** settles once undici has written the whole body, or failed to */
  done: Promise<unknown>
}

/**
 * Waits for the body of the answer relayed, then tells the balancer and the upstream's series how
 * the attempt went, once: by its status, or as the instance's failure when it broke the body off
 * (the client's connection is then closed). A client that went away mid-body is not the
 * instance's failure.
 */
async function settleRelay(state: Attempts, { picked, attempt, done }: Relay): Promise<void> {
  const { series } = state.x.route
  try {
    await done
  } catch {
    const cause = cutBy(state)
    state.cut = cause ? 'upstream' : 'client'
    if (cause) {
      picked.done(false)
      count(series, bodyTimedOut(cause) ? 'timeout' : 'error', attempt.started)
      return
    }
  }
  picked.done(attempt.status < 500)
  count(series, attempt.status >= 500 ? 'error' : 'ok', attempt.started)
}

/**
 * Attempts until one gets an answer's head that is not retried, or a failure that is not: the
 * answer is then being relayed. A 5xx head is thrown (FailedAnswer) so that the breaker counts it.
 */
async function attemptAll(state: Attempts): Promise<Relay> {
  const { route } = state.x
  const tried = new Set<string>()
  for (;;) {
    const picked = route.upstream.pick(tried)
    if (!picked) throw new NoInstanceError(`upstream ${route.upstream.name} has no instance`)
    tried.add(picked.address)
    state.count++
    state.instance = picked.address
    const attempt: Attempt = { started: performance.now(), timer: undefined, status: 0, retry: false }
    // undici's own headersTimeout is checked about once a second: too coarse for short timeouts.
    // A late attempt is not retried, so aborting the exchange's one controller is enough.
    attempt.timer = setTimeout(() => {
      state.late = true
      state.aborter.abort()
    }, route.timeoutMs)
    const { head, done } = send(state, picked, attempt)
    try {
      await head
    } catch (e) {
      clearTimeout(attempt.timer)
      const kind = state.late ? 'timeout' : failureOf(e, state)
      picked.done(!isUpstreamFault(kind))
      if (isUpstreamFault(kind))
        count(route.series, kind === 'timeout' ? 'timeout' : 'error', attempt.started)
      if (kind === 'connection') route.upstream.connectionFailed()
      if (kind === 'connection' && retryAllowed(state)) {
        await backoff(state, tried)
        continue
      }
      throw new AttemptError(kind, e)
    }
    if (attempt.retry) {
      // the 502 or 503's body is read into a sink in the background; how that ends matters not
      done.catch(() => undefined)
      picked.done(false)
      count(route.series, 'error', attempt.started)
      await backoff(state, tried)
      continue
    }
    const relay = { picked, attempt, done }
    if (attempt.status >= 500) throw new FailedAnswer(attempt.status, relay)
    return relay
  }
}

/** One attempt in progress. */
interface Attempt {
  started: number
  timer: NodeJS.Timeout | undefined
  /** the answer's status, once its head came */
  status: number
  /** the answer (a 502 or 503) is thrown away and the request sent again */
  retry: boolean
}

/**
 * One attempt: `head` settles when the answer's head has come (and gone to the client, or to a
 * sink when it is retried) or the attempt failed before; `done` when the body has been relayed.
 * undici's bodyTimeout is the longest wait between two chunks of the answer.
 */
function send(
  state: Attempts,
  picked: Picked,
  attempt: Attempt,
): { head: Promise<void>; done: Promise<unknown> } {
  const { x } = state
  let headCame: () => void = () => {}
  const head = new Promise<void>((resolve) => (headCame = resolve))
  const done = picked.pool.stream(
    {
      method: x.request.method as Dispatcher.HttpMethod,
      path: x.target,
      headers: x.headers,
      body: state.body?.stream ?? null,
      headersTimeout: x.route.timeoutMs,
      bodyTimeout: x.route.timeoutMs,
      signal: state.aborter.signal,
    },
    ({ statusCode, headers }) => {
      clearTimeout(attempt.timer)
      attempt.status = statusCode
      headCame()
      if ((statusCode === 502 || statusCode === 503) && retryAllowed(state)) {
        attempt.retry = true
        return new Writable({ write: (_chunk, _encoding, next) => next() })
      }
      return commit(state, statusCode, headers)
    },
  )
  // a failure before the head fails the head; after it, only `done`
  return { head: Promise.race([head, done.then(() => undefined)]), done }
}

/**
 * Hands the answer's head to the client and returns node's response for undici to write the body
 * into. Fastify's reply is hijacked: it no longer writes, but the request id and any field set on
 * it go out with the upstream's end-to-end fields and the gateway's (rate limit) ones. A head node
 * refuses to write closes the client's connection (undici then counts the attempt as cut).
 */
function commit(
  state: Attempts,
  statusCode: number,
  upstream: Record<string, string | string[] | undefined>,
): Writable {
  const { reply, responseHeaders } = state.x
  reply.hijack()
  const res = reply.raw
  const fields = { ...reply.getHeaders(), ...clientResponseHeaders(upstream), ...responseHeaders }
  try {
    // a HEAD, 204 or 304 answer has no body: node writes none, whatever it is given
    res.writeHead(statusCode, fields as Record<string, string | string[]>)
  } catch (e) {
    res.destroy(e as Error)
  }
  return res
}

function count(series: UpstreamSeries, outcome: UpstreamOutcome, started: number): void {
  series.outcome[outcome].inc()
  series.duration.observe((performance.now() - started) / 1000)
}

/**
 * Whether to try again after a failed attempt: only a request that may be sent twice, within the
 * route's retries and the upstream's budget (a retry allowed is taken from the budget).
 */
function retryAllowed(state: Attempts): boolean {
  const { route } = state.x
  if (!state.retryable || state.count > route.retries || state.aborter.signal.aborted) return false
  if (!route.upstream.budget.tryRetry()) return false
  route.series.retries.inc()
  return true
}

/**
 * Before a retry: when every instance has been tried, the next attempt waits a little (backoff
 * with jitter) instead of hitting the same one at once.
 */
async function backoff(state: Attempts, tried: ReadonlySet<string>): Promise<void> {
  if (tried.size >= state.x.route.upstream.instances().length)
    await sleep(backoffDelay(state.count - 1, 25, 250, Math.random))
}

/**
 * Why the instance's answer broke off after its head went out, or undefined when the client cut
 * it. Either way undici reports only a premature close; but when the instance's connection failed
 * or its body timed out, undici destroyed node's response with that error first, while a client
 * that went away had closed the response already (and the abort undici was then told of found it
 * closed).
 */
function bodyTimedOut(error: Error): boolean {
  return (error as { code?: unknown }).code === 'UND_ERR_BODY_TIMEOUT'
}

function cutBy(state: Attempts): Error | undefined {
  const errored = state.x.reply.raw.errored
  if (!errored) return undefined
  const { code, name } = errored as { code?: unknown; name?: unknown }
  return code === 'UND_ERR_ABORTED' || name === 'AbortError' ? undefined : errored
}

function failureOf(error: unknown, state: Attempts): FailureKind {
  if (state.body?.tooLarge) return 'too-large'
  if (state.aborter.signal.aborted || isClientGone(state.x.request)) return 'client-gone'
  const code = (error as { code?: unknown }).code
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return 'timeout'
  if (code === 'UND_ERR_INVALID_ARG') return 'invalid'
  if (isConnectionError(error)) return 'connection'
  return 'protocol'
}

/** The client closed its connection before sending all of its request. */
function isClientGone(request: FastifyRequest): boolean {
  return request.raw.destroyed && !request.raw.complete
}

/**
 * Once the answer is out, reads what the client still sends of its body and throws it away. Node
 * does that by itself for a body nobody began to read, but not for one read halfway (an upload
 * cut at the limit, an instance that failed mid-upload): the connection would stall, and closing
 * it with unread data resets it, which can lose the answer. Node's requestTimeout bounds how long.
 */
function discardRest(request: FastifyRequest): void {
  if (request.raw.complete) return
  request.raw.unpipe()
  request.raw.resume()
}

/** The gateway's own answer to a request that got none from the upstream. */
function answerFailure(state: Attempts, error: unknown): FastifyReply {
  const { request, reply, route } = state.x
  const name = route.upstream.name
  const problem = (status: number, detail: string) =>
    sendProblem(request, reply, status, detail, state.x.responseHeaders)
  if (error instanceof BreakerOpenError || error instanceof NoInstanceError) {
    route.series.outcome.rejected.inc()
    return problem(
      503,
      error instanceof NoInstanceError
        ? `upstream ${name} has no instance`
        : `upstream ${name} is unavailable: its recent requests failed, so none are sent to it for a while`,
    )
  }
  if (!(error instanceof AttemptError)) throw error
  switch (error.kind) {
    case 'timeout':
      return problem(504, `upstream ${name} did not answer within ${route.timeoutMs} ms`)
    case 'connection':
      return problem(502, `upstream ${name} could not be reached`)
    case 'protocol':
      return problem(502, `upstream ${name} gave no valid answer`)
    case 'invalid':
      return problem(400, 'the request could not be passed on')
    case 'too-large':
      return problem(413, `the request body is larger than ${state.x.bodyLimit} bytes`)
    case 'client-gone':
      // nobody to answer: 499 (the client closed the request) for the request's log line
      return reply.code(499).send()
  }
}
