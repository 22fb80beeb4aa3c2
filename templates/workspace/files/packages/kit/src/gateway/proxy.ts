/**
 * The API gateway's runtime: a kit HTTP server (health, metrics, request ids, the request log)
 * that routes by path prefix to upstream services, checks tokens, limits rates, and streams
 * requests and answers through undici.
 *
 *   createGateway(options: GatewayOptions): Gateway
 *     Gateway = { app: FastifyInstance, close(): Promise<void> }
 *     Throws at once on what it cannot serve: a bad prefix, rewrite, auth rule, rate limit,
 *     timeout or retry count, a jwt route without `jwt` settings, one upstream name with two
 *     targets, one prefix twice, a trusted proxy that is not an IP or CIDR.
 *     `await app.listen(...)` (or `app.ready()`) first resolves every upstream and checks its
 *     instances once; `app.close()` also closes the gateway, as `close()` does alone.
 *
 *   GatewayRoute = { prefix, upstream, target, auth, rewrite?, rateLimit?, timeoutMs?, retries? }
 *     prefix     `/api/orders`: serves `/api/orders` and `/api/orders/...` for GET HEAD POST PUT
 *                PATCH DELETE OPTIONS; any other method is a 405
 *     upstream   the upstream's name (metrics, logs); routes naming it share its instances
 *     target     `http://order:3001`: its host resolves to the instances (one per replica); its
 *                `host:port` is the Host the instances get
 *     auth       `none`, `jwt` or `jwt(roles=admin,ops)` (parseAuthRule)
 *     rewrite    `/orders`: replaces the prefix in the upstream's path (default: path unchanged)
 *     rateLimit  `100/s burst 200` (parseRateLimit), per client; default none
 *     timeoutMs  how long the upstream may take to send response headers, and at most between two
 *                chunks of its body: 504 past it (default 10 000)
 *     retries    retries of a request that may be sent twice (default 2)
 *
 *   GatewayOptions = { service, logger, metrics, health, routes, jwt?, trustedProxies?, bodyLimit?,
 *     resolveIntervalMs?, healthIntervalMs?, balance?, eject?, breaker?, retryBudget?, resolve?,
 *     clock?, plain? }, each described on the interface below.
 *   Resolver = (host: string) => Promise<string[]>: IPs, or `ip:port` for instances with their
 *     own port; the default looks the host up in DNS (every address).
 *
 * A request on a route goes through, in order: the path check (400: dot segments, encoded
 * separators), the declared body size (413), the token (401, 403), the rate limit (429), then the
 * upstream (exchange.ts: instance choice, retries, breaker; 502, 503, 504). Errors the gateway
 * makes itself are RFC 9457 problems (problem.ts); a path no route serves is a 404 problem.
 *
 * Choices worth knowing:
 *   - A request the token check refuses counts against its address's bucket on a rate limited
 *     route, so guessing tokens is limited like anything else (its 401 becomes a 429 once the
 *     bucket is empty).
 *   - The rate limit key is the verified token's subject, else the client's address. Not an API
 *     key header: the gateway verifies no API keys, so a client could send a new one with each
 *     request and get a fresh bucket each time.
 *   - The gateway is ready (/health/ready) only while every upstream has an instance that is
 *     ready and not ejected, so one upstream down makes the whole gateway not ready.
 *   - Each request on a route gets a `gateway` log line (client key, upstream, instance,
 *     attempts, status) beside the kit's `request` line.
 *   - Not passed on: WebSocket upgrades (Upgrade is hop-by-hop), request and response trailers.
 */
import { METHODS, STATUS_CODES, type IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { TLSSocket } from 'node:tls'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { HealthRegistry } from '../health.js'
import { preformattedLine, type Logger } from '../logger.js'
import type { Metrics } from '../metrics.js'
import type { BalancePolicy } from '../resilience/balancer.js'
import { createHttpServer } from '../server.js'
import { AuthError, principalHeaders, type JwtSettings, type JwtVerifier, type Principal } from './auth.js'
import { forward, hasRequestBody } from './exchange.js'
import { clientIpOf, TrustedProxies, upstreamRequestHeaders, type Hop } from './forwarded.js'
import { GatewayMetrics } from './gateway-metrics.js'
import { splitQuery, unsafePathReason, upstreamTarget } from './paths.js'
import { PROBLEM_CONTENT_TYPE, sendProblem } from './problem.js'
import { clientKey, rateLimitHeaders } from './rate-limit.js'
import type { RetryBudgetOptions } from './retry-budget.js'
import { compileRoutes, type CompiledRoute } from './routes.js'
import { CachingJwtVerifier } from './token-cache.js'
import type { Resolver } from './upstream.js'

export type { Resolver } from './upstream.js'

/** One route of the gateway, as msvc.yaml's `gateway.routes` describes it. */
export interface GatewayRoute {
  prefix: string
  upstream: string
  target: string
  auth: string
  rewrite?: string
  rateLimit?: string
  timeoutMs?: number
  retries?: number
}

export interface GatewayOptions {
  service: string
  logger: Logger
  metrics: Metrics
  health: HealthRegistry
  routes: GatewayRoute[]
  /** where tokens' keys come from; needed when a route's auth is jwt */
  jwt?: JwtSettings
  /** proxies (IPs, CIDRs) whose Forwarded / X-Forwarded-* headers are believed (default none) */
  trustedProxies?: string[]
  /** the largest request body passed on, in bytes (default 1 MiB) */
  bodyLimit?: number
  /** how often upstream hosts are resolved again (default 5 s) */
  resolveIntervalMs?: number
  /** how often each instance's /health/ready is checked (default 5 s) */
  healthIntervalMs?: number
  /** default least-outstanding */
  balance?: BalancePolicy
  /** passive ejection of an instance (defaults: after 3 failures in a row, for 5 s doubling, at most 60 s) */
  eject?: { after?: number; ms?: number; maxMs?: number }
  /** per upstream (defaults: opens after 5 failed requests in a row, for 5 s, one trial) */
  breaker?: { failureThreshold?: number; openMs?: number; halfOpenMaxCalls?: number }
  /** per upstream (defaults: retries up to 20 % of requests over 10 s, or 10 a second) */
  retryBudget?: Omit<RetryBudgetOptions, 'now'>
  /** how a target's host becomes instances (default: DNS, every address of the host) */
  resolve?: Resolver
  /** the clock of token expiry and rate limits, in ms (tests pass a fake one) */
  clock?: () => number
  /** the kit's plain logging and metrics (see createHttpServer) */
  plain?: boolean
}

export interface Gateway {
  app: FastifyInstance
  /** stops re-resolution and health checks and closes the upstream pools (app.close() does too) */
  close(): Promise<void>
}

/** The methods a route passes on; any other is answered 405. */
const PROXIED_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']

/** What every request of the gateway shares. */
interface GatewayContext {
  bodyLimit: number
  trusted: TrustedProxies
  verifier: JwtVerifier | undefined
  metrics: GatewayMetrics
  line: (fields: string) => void
}

/** Builds the gateway (see the top of this file). */
export function createGateway(opts: GatewayOptions): Gateway {
  const bodyLimit = opts.bodyLimit ?? 1024 * 1024
  const metrics = new GatewayMetrics(opts.metrics.registry, () => upstreams)
  const { routes, upstreams } = compileRoutes(opts, metrics)
  const ctx: GatewayContext = {
    bodyLimit,
    trusted: new TrustedProxies(opts.trustedProxies),
    verifier: routes.some((r) => r.auth.kind === 'jwt') ? verifierFor(opts) : undefined,
    metrics,
    line: preformattedLine(opts.logger, 'info', 'gateway'),
  }

  const app = createHttpServer({
    service: opts.service,
    logger: opts.logger,
    metrics: opts.metrics,
    health: opts.health,
    bodyLimit,
    ...(opts.plain !== undefined ? { plain: opts.plain } : {}),
  })
  // every method node knows (but CONNECT, a tunnel), so that any of them gets a problem answer
  for (const method of METHODS)
    if (method !== 'CONNECT' && !app.supportedMethods.includes(method))
      app.addHttpMethod(method, { hasBody: true })
  void app.register(async (scope) => registerRoutes(scope, routes, ctx))
  app.server.on('connect', refuseTunnel)

  opts.health.addReadinessCheck('upstreams', async () => {
    const without = upstreams.filter((u) => !u.hasUsableInstance()).map((u) => u.name)
    return without.length === 0 ? true : { ok: false, detail: `no ready instance: ${without.join(', ')}` }
  })

  let closing: Promise<void> | undefined
  const close = () => (closing ??= Promise.all(upstreams.map((u) => u.close())).then(() => {}))
  app.addHook('onReady', async () => {
    await Promise.all(upstreams.map((u) => u.start()))
  })
  app.addHook('onClose', close)
  return { app, close }
}

/**
 * Answers CONNECT (a request for a tunnel) with a 405 problem. Node hands CONNECT to a `connect`
 * listener, never to fastify, and without one drops the connection unanswered.
 */
function refuseTunnel(request: IncomingMessage, socket: Duplex): void {
  const body = JSON.stringify({
    type: 'about:blank',
    title: STATUS_CODES[405],
    status: 405,
    detail: 'CONNECT is not allowed: the gateway opens no tunnels',
    instance: request.url,
  })
  socket.on('error', () => {})
  socket.end(
    `HTTP/1.1 405 Method Not Allowed\r\nallow: ${PROXIED_METHODS.join(', ')}\r\n` +
      `content-type: ${PROBLEM_CONTENT_TYPE}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
      `connection: close\r\n\r\n${body}`,
  )
}

function verifierFor(opts: GatewayOptions): JwtVerifier {
  if (!opts.jwt) throw new Error('a route needs a token (auth: jwt) but the gateway has no jwt settings')
  return new CachingJwtVerifier(opts.jwt, opts.clock)
}

/**
 * The gateway's routes, in their own fastify scope: there, request bodies are left unread (one
 * catch-all content-type parser that does nothing, so undici streams them on) and errors are
 * problems. Each prefix serves the proxied methods, answers 405 for the others, and every other
 * path gets a 404 problem (unless a route has the prefix `/`).
 */
async function registerRoutes(scope: FastifyInstance, routes: CompiledRoute[], ctx: GatewayContext) {
  scope.removeAllContentTypeParsers()
  scope.addContentTypeParser('*', (_request, _payload, done) => done(null))
  scope.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode ?? 500
    if (status >= 500) request.log.error({ err: error }, 'gateway error')
    return sendProblem(request, reply, status, status >= 500 ? 'internal error' : error.message)
  })
  const otherMethods = scope.supportedMethods.filter((m) => !PROXIED_METHODS.includes(m))
  for (const route of routes) {
    const handler = (request: FastifyRequest, reply: FastifyReply) => serve(ctx, route, request, reply)
    const notAllowed = (request: FastifyRequest, reply: FastifyReply) =>
      sendProblem(request, reply, 405, `${request.method} is not allowed on ${route.prefix}`, {
        allow: PROXIED_METHODS.join(', '),
      })
    const urls = route.prefix === '/' ? ['/', '/*'] : [route.prefix, `${route.prefix}/*`]
    for (const url of urls) {
      scope.route({ method: PROXIED_METHODS, url, handler })
      scope.route({ method: otherMethods, url, handler: notAllowed })
    }
  }
  if (!routes.some((r) => r.prefix === '/'))
    scope.route({
      method: scope.supportedMethods,
      url: '/*',
      handler: (request, reply) => {
        const { path } = splitQuery(request.raw.url ?? '/')
        const unsafe = unsafePathReason(path)
        if (unsafe) return sendProblem(request, reply, 400, unsafe)
        return sendProblem(request, reply, 404, `no route for ${request.method} ${path}`)
      },
    })
}

/** One request on a route: checks, token, rate limit, then the upstream. */
async function serve(
  ctx: GatewayContext,
  route: CompiledRoute,
  request: FastifyRequest,
  reply: FastifyReply,
) {
  const url = request.raw.url ?? '/'
  const unsafe = unsafePathReason(splitQuery(url).path)
  const target = upstreamTarget(route.prefix, route.rewrite, url)
  const hop = hopOf(request, ctx.trusted)
  const ip = clientIpOf(hop, request.headers['x-forwarded-for'], ctx.trusted)
  const log = (clientId: string, status: number, extra: Record<string, unknown> = {}) =>
    writeLine(ctx, request, route, clientId, status, extra)
  if (unsafe || target === undefined) {
    log(clientKey({ ip }), 400)
    return sendProblem(request, reply, 400, unsafe ?? `the path must begin with ${route.prefix} as written`)
  }
  if (Number(request.headers['content-length'] ?? 0) > ctx.bodyLimit) {
    log(clientKey({ ip }), 413)
    return sendProblem(request, reply, 413, `the request body is larger than ${ctx.bodyLimit} bytes`)
  }

  const auth = await authorize(ctx, route, request)
  // a refused request is limited by its address, so that guessing tokens is limited too
  const key = auth instanceof AuthError ? clientKey({ ip }) : clientKey({ sub: auth?.sub, ip })
  const limited = route.limit && takeToken(route, key)
  if (limited && !limited.allowed) {
    ctx.metrics.countRateLimited(route.prefix)
    log(key, 429)
    return sendProblem(
      request,
      reply,
      429,
      'too many requests; retry after the time in Retry-After',
      limited.headers,
    )
  }
  if (auth instanceof AuthError) {
    ctx.metrics.countAuthRefused(route.prefix, auth.statusCode)
    log(key, auth.statusCode)
    return sendProblem(request, reply, auth.statusCode, auth.message, {
      'www-authenticate': auth.challenge(),
      ...limited?.headers,
    })
  }

  const summary = await forward({
    request,
    reply,
    route,
    target,
    bodyLimit: ctx.bodyLimit,
    responseHeaders: limited?.headers ?? {},
    headers: upstreamRequestHeaders(request.headers, hop, {
      host: route.upstream.authority,
      requestId: request.id,
      principal: principalHeaders(auth),
      hasBody: hasRequestBody(request.headers),
    }),
  })
  log(key, summary.status, {
    attempts: summary.attempts,
    instance: summary.instance,
    ...(summary.cut ? { cut: summary.cut } : {}),
  })
  return reply
}

/** The principal of the request's token, undefined on a route without auth, or why it is refused. */
async function authorize(
  ctx: GatewayContext,
  route: CompiledRoute,
  request: FastifyRequest,
): Promise<Principal | undefined | AuthError> {
  if (route.auth.kind === 'none') return undefined
  try {
    return await ctx.verifier!.authorize(route.auth, single(request.headers.authorization))
  } catch (e) {
    if (e instanceof AuthError) return e
    throw e
  }
}

function takeToken(route: CompiledRoute, key: string) {
  const { limit, buckets } = route.limit!
  const decision = buckets.take(key)
  return { allowed: decision.allowed, headers: rateLimitHeaders(route.prefix, limit, decision) }
}

function hopOf(request: FastifyRequest, trusted: TrustedProxies): Hop {
  const socket = request.raw.socket
  const peer = socket.remoteAddress ?? ''
  return {
    peer,
    proto: (socket as TLSSocket).encrypted ? 'https' : 'http',
    host: request.headers.host,
    trusted: trusted.has(peer),
  }
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

/**
 * The gateway's line for a request on a route: who (the client key: a token's subject, an API
 * key's fingerprint, or the address), where to, and how it ended. The kit's request line has
 * the method, route template, status and duration. Never a header's value, so never a token.
 */
function writeLine(
  ctx: GatewayContext,
  request: FastifyRequest,
  route: CompiledRoute,
  clientId: string,
  status: number,
  extra: Record<string, unknown>,
): void {
  const fields = {
    requestId: request.id,
    clientId,
    route: route.prefix,
    upstream: route.upstream.name,
    status,
    ...extra,
  }
  ctx.line(JSON.stringify(fields).slice(1, -1))
}
