/**
 * The gateway's part of the model: its routes, derived from the services and adjusted by msvc.yaml,
 * and the checks of every value (auth rule, rate limit, JWKS URL, trusted proxies). The grammars of
 * `auth` and `rateLimit` are the kit's own parsers, so msvc refuses exactly what the generated
 * gateway would refuse at start.
 */
import { isIP } from 'node:net'
import { parseAuthRule } from '../../../templates/workspace/files/packages/kit/src/gateway/auth-rule.js'
import { parseRateLimit } from '../../../templates/workspace/files/packages/kit/src/gateway/rate-limit.js'
import type { GatewayDefaults, GatewayRouteSpec, GatewaySpec, ServiceSpec } from './model.js'

/** What msvc.yaml may say about one route: off, a service's name, or the route's settings. */
export type RawRoute =
  | false
  | string
  | { service?: string; to?: string; auth?: string; rateLimit?: string; timeout?: string; retries?: number }

/** A gateway service's own keys in msvc.yaml. */
export interface RawGateway {
  auth?: string
  rateLimit?: string
  timeout?: string
  retries?: number
  routes?: Record<string, RawRoute>
  jwt?: { jwksUrl?: string; issuer?: string; audience?: string }
  trustedProxies?: string[]
  balance?: GatewaySpec['balance']
}

/** The keys only a gateway may have. */
export const GATEWAY_KEYS = [
  'auth',
  'rateLimit',
  'timeout',
  'retries',
  'routes',
  'jwt',
  'trustedProxies',
  'balance',
] as const

/** A problem in a gateway's settings: where (under the gateway service) and what. */
export interface GatewayProblem {
  path: (string | number)[]
  message: string
  hint?: string
  /** the problem is the key itself (a route's path), not its value */
  key?: boolean
}

/** Route settings when msvc.yaml gives none: a token on every route, 10 s, 2 retries, no limit. */
export const GATEWAY_DEFAULTS: GatewayDefaults = { auth: 'jwt', timeout: '10s', retries: 2 }

/** The prefix of every derived route: `/api/<resource>`. */
export const API_PREFIX = '/api'

/** Paths the gateway answers itself. */
const OWN_PATHS = ['/health', '/metrics']

/** `/a/b-c/d_e.f`: segments of unreserved characters (RFC 3986), no `.` or `..`, no trailing slash. */
const ROUTE_PATH = /^(\/[A-Za-z0-9._~-]+)+$/

/** The routes a gateway gets without declaring any: `/api/<resource>` for every HTTP service. */
export function deriveRoutes(
  services: Record<string, ServiceSpec>,
): { path: string; service: string; to: string }[] {
  return Object.keys(services)
    .sort()
    .filter((n) => services[n]!.kind !== 'gateway' && services[n]!.capabilities.includes('http'))
    .map((n) => ({
      path: `${API_PREFIX}/${services[n]!.resource}`,
      service: n,
      to: `/${services[n]!.resource}`,
    }))
}

/**
 * Resolves a gateway's settings against the other services: the derived routes, with msvc.yaml's
 * `routes:` turning some off (`false`), changing their settings, or adding new ones. Every value is
 * checked; problems name the route.
 */
export function resolveGateway(
  raw: RawGateway,
  services: Record<string, ServiceSpec>,
): { spec: GatewaySpec; problems: GatewayProblem[] } {
  const problems: GatewayProblem[] = []
  const defaults: GatewayDefaults = {
    auth: raw.auth ?? GATEWAY_DEFAULTS.auth,
    timeout: raw.timeout ?? GATEWAY_DEFAULTS.timeout,
    retries: raw.retries ?? GATEWAY_DEFAULTS.retries,
    ...(raw.rateLimit !== undefined ? { rateLimit: raw.rateLimit } : {}),
  }
  checkRule(defaults.auth, defaults.rateLimit, [], problems)
  checkTimeout(defaults.timeout, ['timeout'], problems)

  const routes = new Map<string, GatewayRouteSpec>()
  for (const d of deriveRoutes(services)) {
    const other = routes.get(d.path)
    if (other)
      problems.push({
        path: ['routes'],
        message: `services ${other.service} and ${d.service} would both be routed at ${d.path}`,
        hint: `give one another resource, or route it yourself: routes: { ${d.path}: { service: ${other.service} } }`,
      })
    else routes.set(d.path, { ...d, ...defaults })
  }
  // parents before the routes nested in them: a new route inherits from the route it sits under
  const declared = Object.entries(raw.routes ?? {}).sort(([a], [b]) => a.length - b.length)
  for (const [path, value] of declared) {
    const at = ['routes', path]
    const pathProblem = checkRoutePath(path)
    if (pathProblem) {
      problems.push({ path: at, key: true, ...pathProblem })
      continue
    }
    if (value === false) {
      if (!routes.delete(path))
        problems.push({
          path: at,
          key: true,
          message: `route ${path} is turned off, but no service has it`,
          hint: `derived routes: ${[...deriveRoutes(services)].map((r) => r.path).join(', ') || 'none'}`,
        })
      continue
    }
    const given = typeof value === 'string' ? { service: value } : value
    const derived = routes.get(path)
    const service = given.service ?? derived?.service
    if (service === undefined) {
      problems.push({
        path: at,
        message: `route ${path} names no service`,
        hint: `write ${path}: { service: <name> }`,
      })
      continue
    }
    const target = services[service]
    if (!target || target.kind === 'gateway') {
      problems.push({
        path: typeof value === 'string' ? at : [...at, 'service'],
        message: `route ${path} leads to unknown service "${service}"`,
        hint: `services with HTTP: ${deriveRoutes(services)
          .map((r) => r.service)
          .join(', ')}`,
      })
      continue
    }
    if (!target.capabilities.includes('http')) {
      problems.push({
        path: typeof value === 'string' ? at : [...at, 'service'],
        message: `route ${path} leads to ${service}, which serves no HTTP resource`,
        hint: `add http to ${service}'s capabilities, or route elsewhere`,
      })
      continue
    }
    const to = given.to ?? (derived && derived.service === service ? derived.to : `/${target.resource}`)
    const resource = `/${target.resource}`
    if (!(to === resource || to.startsWith(`${resource}/`)) || checkRoutePath(to) !== undefined) {
      problems.push({
        path: [...at, 'to'],
        message: `route ${path} leads to ${to}, which is not ${service}'s resource ${resource}`,
        hint: `${service} serves ${resource} and the paths below it`,
      })
      continue
    }
    // what it does not set comes from the route it replaces, else the one it is nested in (so a
    // route added below /api/orders to change its rate limit keeps /api/orders's roles), else the
    // gateway's defaults
    const base = derived ?? enclosing(routes, path) ?? defaults
    const rateLimit = given.rateLimit ?? base.rateLimit
    const route: GatewayRouteSpec = {
      path,
      service,
      to,
      auth: given.auth ?? base.auth,
      timeout: given.timeout ?? base.timeout,
      retries: given.retries ?? base.retries,
      ...(rateLimit !== undefined ? { rateLimit } : {}),
    }
    if (given.auth !== undefined || given.rateLimit !== undefined)
      checkRule(given.auth, given.rateLimit, at, problems)
    if (given.timeout !== undefined) checkTimeout(given.timeout, [...at, 'timeout'], problems)
    routes.set(path, route)
  }
  problems.push(...findOverlaps([...routes.keys()]))

  const jwt: GatewaySpec['jwt'] = {}
  if (raw.jwt?.jwksUrl !== undefined) {
    const why = checkJwksUrl(raw.jwt.jwksUrl)
    if (why) problems.push({ path: ['jwt', 'jwksUrl'], ...why })
    jwt.jwksUrl = raw.jwt.jwksUrl
  }
  if (raw.jwt?.issuer !== undefined) jwt.issuer = raw.jwt.issuer
  if (raw.jwt?.audience !== undefined) jwt.audience = raw.jwt.audience
  const trustedProxies = raw.trustedProxies ?? []
  trustedProxies.forEach((p, i) => {
    if (!isAddressOrCidr(p))
      problems.push({
        path: ['trustedProxies', i],
        message: `trusted proxy "${p}" is not an IP address or CIDR`,
        hint: 'for example 10.0.0.0/8, 192.168.1.10 or fd00::/8',
      })
  })
  return {
    spec: {
      defaults,
      routes: [...routes.values()].sort((a, b) => a.path.localeCompare(b.path)),
      jwt,
      trustedProxies,
      balance: raw.balance ?? 'least-outstanding',
    },
    problems,
  }
}

/** The route that `path` is nested in, the nearest one: `/api/orders` for `/api/orders/export`. */
function enclosing(routes: Map<string, GatewayRouteSpec>, path: string): GatewayRouteSpec | undefined {
  for (let p = path.slice(0, path.lastIndexOf('/')); p !== ''; p = p.slice(0, p.lastIndexOf('/'))) {
    const r = routes.get(p)
    if (r) return r
  }
  return undefined
}

/** A timeout the gateway can keep: whole milliseconds, at least one (the schema checked the form). */
function checkTimeout(text: string, at: (string | number)[], problems: GatewayProblem[]): void {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(text)
  const ms = m ? Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[m[2] as 'ms' | 's' | 'm'] : 0
  if (ms < 1)
    problems.push({ path: at, message: `timeout ${text} is under 1 ms`, hint: 'for example timeout: 5s' })
}

function checkRule(
  auth: string | undefined,
  rateLimit: string | undefined,
  at: (string | number)[],
  problems: GatewayProblem[],
): void {
  for (const [key, value] of [
    ['auth', auth],
    ['rateLimit', rateLimit],
  ] as const)
    if (value !== undefined && /[^\S ]/.test(value))
      problems.push({
        path: [...at, key],
        message: `${key} ${JSON.stringify(value)} holds a line break or tab`,
        hint: 'write it on one line',
      })
  if (auth !== undefined) {
    const r = parseAuthRule(auth)
    if ('error' in r)
      problems.push({
        path: [...at, 'auth'],
        message: r.error,
        hint: 'auth is none, jwt, or jwt(roles=admin,ops)',
      })
  }
  if (rateLimit !== undefined) {
    const r = parseRateLimit(rateLimit)
    if ('error' in r)
      problems.push({
        path: [...at, 'rateLimit'],
        message: r.error,
        hint: 'for example 100/s, 600/min burst 50',
      })
  }
}

/** Why a route's path cannot be one, or undefined. */
export function checkRoutePath(path: string): { message: string; hint: string } | undefined {
  if (!ROUTE_PATH.test(path) || path.split('/').some((seg) => seg === '.' || seg === '..'))
    return {
      message: `route path "${path}" is not a path prefix`,
      hint: 'start with /, use letters, digits, - . _ ~ between slashes, no trailing slash (e.g. /api/orders)',
    }
  const own = OWN_PATHS.find((p) => path === p || path.startsWith(`${p}/`))
  if (own) return { message: `route path ${path} is the gateway's own ${own}`, hint: 'pick another path' }
  return undefined
}

/**
 * Routes that would serve the same requests: the same path in another case (a client cannot tell
 * which one it reaches). A route below another (`/api/orders/export` under `/api/orders`) is not an
 * overlap: the longer prefix wins, as in every router.
 */
export function findOverlaps(paths: string[]): GatewayProblem[] {
  const seen = new Map<string, string>()
  const out: GatewayProblem[] = []
  for (const p of [...paths].sort()) {
    const k = p.toLowerCase()
    const other = seen.get(k)
    if (other !== undefined)
      out.push({
        path: ['routes', p],
        key: true,
        message: `route ${p} overlaps route ${other}`,
        hint: 'paths differing only in case would be one route to a client: keep one',
      })
    else seen.set(k, p)
  }
  return out
}

/** Why a JWKS URL is refused: https only, plain http only on the machine itself. */
export function checkJwksUrl(url: string): { message: string; hint: string } | undefined {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return {
      message: `jwksUrl "${url}" is not a URL`,
      hint: 'for example https://auth.example.com/.well-known/jwks.json',
    }
  }
  const local = ['localhost', '127.0.0.1', '[::1]'].includes(u.hostname)
  if (u.protocol === 'https:' || (u.protocol === 'http:' && local)) return undefined
  return {
    message: `jwksUrl ${url} is not https`,
    hint: 'keys fetched over plain http could be swapped on the way: use https (http only on localhost)',
  }
}

/** An IPv4/IPv6 address, or one with a /prefix in range. */
export function isAddressOrCidr(text: string): boolean {
  const [address, prefix, ...rest] = text.split('/')
  if (rest.length > 0 || address === undefined) return false
  const family = isIP(address)
  if (family === 0) return false
  if (prefix === undefined) return true
  if (!/^\d{1,3}$/.test(prefix)) return false
  return Number(prefix) <= (family === 4 ? 32 : 128)
}
