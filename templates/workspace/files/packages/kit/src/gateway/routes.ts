// A gateway's routes as configured, checked and turned into what serving them takes.
import { parseAuthRule, type AuthRule } from './auth.js'
import { isUpstreamFailure, type ExchangeRoute } from './exchange.js'
import type { GatewayMetrics } from './gateway-metrics.js'
import { badRoutePath } from './paths.js'
import type { GatewayOptions, GatewayRoute } from './proxy.js'
import { parseRateLimit, TokenBuckets, type RateLimit } from './rate-limit.js'
import { parseTarget, Upstream } from './upstream.js'

/** A route ready to serve: its rules parsed, its upstream and rate limit buckets made. */
export interface CompiledRoute extends ExchangeRoute {
  prefix: string
  rewrite: string | undefined
  auth: AuthRule
  limit: { limit: RateLimit; buckets: TokenBuckets } | undefined
}

/** An upstream and its metric series, shared by the routes that name it. */
type UpstreamEntry = Pick<ExchangeRoute, 'upstream' | 'series'> & { target: string }

/**
 * Checks every route (throwing on the first it cannot serve) and makes one Upstream per upstream
 * name, shared by the routes that name it.
 */
export function compileRoutes(
  opts: GatewayOptions,
  metrics: GatewayMetrics,
): { routes: CompiledRoute[]; upstreams: Upstream[] } {
  const byName = new Map<string, UpstreamEntry>()
  const prefixes = new Set<string>()
  const routes = opts.routes.map((r) => {
    if (prefixes.has(r.prefix)) throw new Error(`gateway route ${r.prefix}: the prefix has two routes`)
    prefixes.add(r.prefix)
    return compileRoute(r, opts, byName, metrics)
  })
  return { routes, upstreams: [...byName.values()].map((e) => e.upstream) }
}

/** Checks a route and builds what serving it takes; its upstream is shared with routes to the same name. */
function compileRoute(
  route: GatewayRoute,
  opts: GatewayOptions,
  upstreams: Map<string, UpstreamEntry>,
  metrics: GatewayMetrics,
): CompiledRoute {
  const where = `gateway route ${route.prefix}`
  const problem =
    badRoutePath('prefix', route.prefix) ??
    (route.rewrite !== undefined ? badRoutePath('rewrite', route.rewrite) : undefined)
  if (problem) throw new Error(`${where}: ${problem}`)
  const auth = parseAuthRule(route.auth)
  if ('error' in auth) throw new Error(`${where}: ${auth.error}`)
  const limit = route.rateLimit === undefined ? undefined : parseRateLimit(route.rateLimit)
  if (limit && 'error' in limit) throw new Error(`${where}: ${limit.error}`)
  if (route.timeoutMs !== undefined && !(Number.isInteger(route.timeoutMs) && route.timeoutMs > 0))
    throw new Error(`${where}: timeoutMs ${route.timeoutMs} is not a whole number of milliseconds above 0`)
  if (route.retries !== undefined && !(Number.isInteger(route.retries) && route.retries >= 0))
    throw new Error(`${where}: retries ${route.retries} is not a whole number, 0 or more`)
  const { upstream, series } = upstreamFor(route, opts, upstreams, metrics)
  return {
    prefix: route.prefix,
    rewrite: route.rewrite,
    auth,
    limit: limit && { limit, buckets: new TokenBuckets(limit, opts.clock) },
    upstream,
    series,
    timeoutMs: route.timeoutMs ?? 10_000,
    retries: route.retries ?? 2,
  }
}

/** The route's upstream and its metric series, made by the first route that names it. */
function upstreamFor(
  route: GatewayRoute,
  opts: GatewayOptions,
  upstreams: Map<string, UpstreamEntry>,
  metrics: GatewayMetrics,
): UpstreamEntry {
  const known = upstreams.get(route.upstream)
  if (known) {
    if (known.upstream.authority !== parseTarget(route.target).authority)
      throw new Error(
        `gateway upstream ${route.upstream} has two targets: ${known.target} and ${route.target}`,
      )
    return known
  }
  const series = metrics.forUpstream(route.upstream)
  const upstream = new Upstream({
    name: route.upstream,
    target: route.target,
    logger: opts.logger,
    registry: opts.metrics.registry,
    isFailure: isUpstreamFailure,
    onEject: () => series.ejections.inc(),
    resolve: opts.resolve,
    balance: opts.balance,
    eject: opts.eject,
    breaker: opts.breaker,
    retryBudget: opts.retryBudget,
    resolveIntervalMs: opts.resolveIntervalMs,
    healthIntervalMs: opts.healthIntervalMs,
  })
  upstreams.set(route.upstream, { upstream, series, target: route.target })
  return { upstream, series, target: route.target }
}
