import { describe, expect, it } from 'vitest'
import { parseWorkspace, type Problem } from './parse.js'
import { checkJwksUrl, checkRoutePath, findOverlaps, isAddressOrCidr } from './gateway.js'
import { findGateway, publishesPorts } from './model.js'

const SHOP = `name: shop
services:
  order:
    capabilities: [http]
    ports: { http: 3001 }
    replicas: 3
  payment:
    capabilities: [http, grpc]
    ports: { http: 3002, grpc: 50051 }
  worker:
    capabilities: [events]
    ports: { http: 3003 }
  gateway:
    kind: gateway
    ports: { http: 8080 }
    rateLimit: 100/s burst 200
`

const withGateway = (extra: string) => SHOP + extra

function problemsOf(text: string): Problem[] {
  const r = parseWorkspace(text)
  if (r.ok) throw new Error('expected problems')
  return r.problems
}

function gatewayOf(text: string) {
  const r = parseWorkspace(text)
  if (!r.ok) throw new Error(r.problems.map((p) => p.message).join('\n'))
  return r.workspace
}

describe('the gateway in msvc.yaml (issue 16)', () => {
  it('derives /api/<resource> for every HTTP service, with the defaults, and calls its upstreams', () => {
    const ws = gatewayOf(SHOP)
    const gw = ws.services.gateway!
    expect(findGateway(ws)).toBe('gateway')
    expect(gw.kind).toBe('gateway')
    expect(gw.capabilities).toEqual([])
    expect(gw.calls).toEqual(['order', 'payment'])
    expect(gw.gateway!.routes).toEqual([
      {
        path: '/api/orders',
        service: 'order',
        to: '/orders',
        auth: 'jwt',
        rateLimit: '100/s burst 200',
        timeout: '10s',
        retries: 2,
      },
      {
        path: '/api/payments',
        service: 'payment',
        to: '/payments',
        auth: 'jwt',
        rateLimit: '100/s burst 200',
        timeout: '10s',
        retries: 2,
      },
    ])
    expect(gw.gateway!.balance).toBe('least-outstanding')
  })

  it('lets routes be turned off, changed and added, longest prefix beside shorter', () => {
    const ws = gatewayOf(
      withGateway(`    auth: none
    routes:
      /api/payments: false
      /api/orders: { auth: 'jwt(roles=admin,ops)', timeout: 2s, retries: 0 }
      /api/orders/export: { service: order, to: /orders/export, rateLimit: 5/min }
      /shop: order
`),
    )
    const routes = ws.services.gateway!.gateway!.routes
    expect(
      routes.map(
        (r) => `${r.path}->${r.service}${r.to} ${r.auth} ${r.rateLimit ?? '-'} ${r.timeout} ${r.retries}`,
      ),
    ).toEqual([
      '/api/orders->order/orders jwt(roles=admin,ops) 100/s burst 200 2s 0',
      '/api/orders/export->order/orders/export jwt(roles=admin,ops) 5/min 2s 0',
      '/shop->order/orders none 100/s burst 200 10s 2',
    ])
    expect(ws.services.gateway!.calls).toEqual(['order'])
  })

  it('gives a nested route what it does not set from the route it sits under, not the defaults', () => {
    const ws = gatewayOf(
      withGateway(`    routes:
      /api/orders: { auth: 'jwt(roles=admin)', timeout: 2s }
      /api/orders/export: { service: order, to: /orders/export, rateLimit: 5/min }
`),
    )
    expect(ws.services.gateway!.gateway!.routes.find((r) => r.path === '/api/orders/export')).toMatchObject({
      auth: 'jwt(roles=admin)',
      timeout: '2s',
      rateLimit: '5/min',
    })
  })

  it('refuses bad routes with one line each, naming the route', () => {
    const cases: [string, RegExp][] = [
      ['      /api/shipping: shipping\n', /route \/api\/shipping leads to unknown service "shipping"/],
      ['      /api/work: worker\n', /leads to worker, which serves no HTTP resource/],
      [
        '      /api/x: { service: order, to: /payments }\n',
        /leads to \/payments, which is not order's resource \/orders/,
      ],
      ['      /api/Orders: order\n', /route \/api\/orders overlaps route \/api\/Orders/],
      ['      /api/orders/: order\n', /route path "\/api\/orders\/" is not a path prefix/],
      ['      /api/../admin: order\n', /is not a path prefix/],
      ['      /health/x: order\n', /the gateway's own \/health/],
      ['      /api/x: { service: order, auth: jwt(roles=) }\n', /role "" in auth/],
      [
        '      /api/x: { service: order, auth: basic }\n',
        /auth "basic" is not none, jwt or jwt\(roles=a,b\)/,
      ],
      ['      /api/x: { service: order, rateLimit: lots }\n', /rate limit "lots" is not/],
      ['      /api/nothing: false\n', /route \/api\/nothing is turned off, but no service has it/],
      ['      /api/x: { to: /orders }\n', /route \/api\/x names no service/],
      ['      /api/x: gateway\n', /unknown service "gateway"/],
      [
        '      /api/x: { service: order, to: /orders/../admin }\n',
        /leads to \/orders\/..\/admin, which is not order's resource/,
      ],
      ['      /api/x: { service: order, timeout: 0s }\n', /timeout 0s is under 1 ms/],
      ['      /api/x: { service: order, auth: "jwt\\n" }\n', /holds a line break/],
    ]
    for (const [route, message] of cases) {
      const problems = problemsOf(withGateway(`    routes:\n${route}`))
      expect(problems.map((p) => p.message).join('\n'), route).toMatch(message)
      expect(problems[0]!.hint, route).toBeTruthy()
      expect(problems[0]!.line, route).toBe(18)
    }
  })

  it('refuses a JWKS URL that is not https outside localhost, bad proxies, and misplaced keys', () => {
    expect(
      problemsOf(withGateway('    jwt: { jwksUrl: http://auth.example.com/jwks }\n'))[0]!.message,
    ).toMatch(/jwksUrl http:\/\/auth.example.com\/jwks is not https/)
    expect(
      gatewayOf(withGateway('    jwt: { jwksUrl: http://localhost:9000/jwks, issuer: me }\n')).services
        .gateway!.gateway!.jwt,
    ).toEqual({
      jwksUrl: 'http://localhost:9000/jwks',
      issuer: 'me',
    })
    expect(problemsOf(withGateway('    trustedProxies: [10.0.0.0/33]\n'))[0]!.message).toMatch(
      /not an IP address or CIDR/,
    )
    expect(
      problemsOf(
        withGateway('    rateLimit: 1/fortnight\n').replace('    rateLimit: 100/s burst 200\n', ''),
      )[0]!.message,
    ).toMatch(/rate limit "1\/fortnight"/)
    expect(problemsOf(withGateway('    resource: things\n'))[0]!.message).toMatch(
      /is a gateway: it has no resource/,
    )
    expect(
      problemsOf(SHOP.replace('    replicas: 3\n', '    replicas: 3\n    routes: {}\n'))[0]!.message,
    ).toMatch(/services.order.routes is a gateway setting/)
    expect(
      problemsOf(withGateway('  edge:\n    kind: gateway\n    ports: { http: 8081 }\n'))[0]!.message,
    ).toMatch(/both gateways/)
    expect(
      problemsOf(
        SHOP.replace(
          '    ports: { http: 3002, grpc: 50051 }\n',
          '    ports: { http: 3002, grpc: 50051 }\n    calls: [gateway]\n',
        ),
      )[0]!.message,
    ).toMatch(/payment calls the gateway gateway/)
    expect(
      problemsOf(SHOP.replace('  worker:\n    capabilities: [events]\n', '  worker:\n'))[0]!.message,
    ).toMatch(/worker has no capabilities/)
  })

  it('refuses two services routed at the same derived path, and a gateway with replicas', () => {
    const twin = SHOP.replace(
      '  worker:\n',
      '  legacy:\n    capabilities: [http]\n    resource: orders\n    ports: { http: 3009 }\n  worker:\n',
    )
    expect(problemsOf(twin)[0]!.message).toMatch(
      /services legacy and order would both be routed at \/api\/orders/,
    )
    expect(problemsOf(withGateway('    replicas: 2\n'))[0]!.message).toMatch(/a gateway with 2 replicas/)
  })

  it('keeps "gateway" reserved for the gateway itself', () => {
    const plain = SHOP.replace('    kind: gateway\n', '    capabilities: [http]\n').replace(
      '    rateLimit: 100/s burst 200\n',
      '',
    )
    expect(problemsOf(plain)[0]!.message).toMatch(/"gateway" is reserved/)
  })

  it('publishes only the gateway and opted-in services once a gateway exists', () => {
    const ws = gatewayOf(
      SHOP.replace('    ports: { http: 3003 }\n', '    ports: { http: 3003 }\n    publish: true\n'),
    )
    expect(Object.keys(ws.services).filter((n) => publishesPorts(ws, n))).toEqual(['worker', 'gateway'])
    const without = gatewayOf(SHOP.slice(0, SHOP.indexOf('  gateway:')))
    expect(Object.keys(without.services).filter((n) => publishesPorts(without, n))).toEqual([
      'payment',
      'worker',
    ])
  })
})

describe('gateway value checks', () => {
  it('route paths', () => {
    expect(checkRoutePath('/api/orders')).toBeUndefined()
    expect(checkRoutePath('/a.b/c_d~e-f')).toBeUndefined()
    for (const bad of ['api', '/', '/api/', '/a//b', '/a/./b', '/a/%2e', '/a b', '/metrics'])
      expect(checkRoutePath(bad), bad).toBeDefined()
  })

  it('overlaps are paths equal but for case', () => {
    expect(findOverlaps(['/api/a', '/api/a/b', '/api/b'])).toEqual([])
    expect(findOverlaps(['/api/a', '/API/a'])).toHaveLength(1)
  })

  it('JWKS URLs and proxy addresses', () => {
    expect(checkJwksUrl('https://x.example/jwks')).toBeUndefined()
    expect(checkJwksUrl('http://127.0.0.1:1/jwks')).toBeUndefined()
    expect(checkJwksUrl('http://[::1]:1/jwks')).toBeUndefined()
    expect(checkJwksUrl('http://x.example/jwks')).toBeDefined()
    expect(checkJwksUrl('not a url')).toBeDefined()
    for (const ok of ['10.0.0.1', '10.0.0.0/8', '::1', 'fd00::/8', '0.0.0.0/0'])
      expect(isAddressOrCidr(ok), ok).toBe(true)
    for (const bad of ['10.0.0.0/33', 'fd00::/129', '10.0.0', 'host', '10.0.0.0/8/1', '10.0.0.0/x'])
      expect(isAddressOrCidr(bad), bad).toBe(false)
  })
})
