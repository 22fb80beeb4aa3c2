import { describe, expect, it } from 'vitest'
import { badRoutePath, unsafePathReason, upstreamTarget } from './paths.js'

describe('unsafePathReason', () => {
  it.each([
    '/api/orders',
    '/api/orders/',
    '/api/orders/42',
    '/api/orders/a%20b',
    '/api/orders/..a',
    '/api/orders/a..',
    '/api/orders/.well-known',
    '/api/orders/%2e%2e%2e',
    '/api/orders/%252e%252e',
    '/api/orders//x',
  ])('lets %s through', (path) => {
    expect(unsafePathReason(path)).toBeUndefined()
  })

  it.each([
    ['/api/orders/..', 'the path has a dot segment'],
    ['/api/orders/../admin', 'the path has a dot segment'],
    ['/api/orders/./x', 'the path has a dot segment'],
    ['/api/orders/%2e%2e/admin', 'the path has a dot segment'],
    ['/api/orders/%2E%2E/admin', 'the path has a dot segment'],
    ['/api/orders/%2E./admin', 'the path has a dot segment'],
    ['/api/orders/.%2e/admin', 'the path has a dot segment'],
    ['/api/orders/%2e', 'the path has a dot segment'],
    ['/api/orders/a%2fb', 'the path has an encoded slash or backslash'],
    ['/api/orders/a%2F..%2Fb', 'the path has an encoded slash or backslash'],
    ['/api/orders/a%5cb', 'the path has an encoded slash or backslash'],
    ['/api/orders/a\\b', 'the path has a backslash'],
    ['/api/orders/%00', 'the path has an encoded control character'],
    ['/api/orders/%zz', 'the path has a malformed percent-encoding'],
    ['/api/orders/%e0%a4%a', 'the path has a malformed percent-encoding'],
  ])('refuses %s: %s', (path, reason) => {
    expect(unsafePathReason(path)).toBe(reason)
  })
})

describe('upstreamTarget', () => {
  it.each([
    ['/api/orders', '/orders', '/api/orders', '/orders'],
    ['/api/orders', '/orders', '/api/orders/', '/orders/'],
    ['/api/orders', '/orders', '/api/orders/42?x=1&y=%2F', '/orders/42?x=1&y=%2F'],
    ['/api/orders', '/orders', '/api/orders?x', '/orders?x'],
    ['/api/orders', '/', '/api/orders', '/'],
    ['/api/orders', '/', '/api/orders/42', '/42'],
    ['/api/orders', '/', '/api/orders?x', '/?x'],
    ['/api/orders', '/v2/', '/api/orders/42', '/v2/42'],
    ['/api/orders', undefined, '/api/orders/a%20b?q', '/api/orders/a%20b?q'],
    ['/', '/web', '/x/y', '/web/x/y'],
    ['/', undefined, '/x', '/x'],
  ])('%s rewritten to %s: %s → %s', (prefix, rewrite, url, target) => {
    expect(upstreamTarget(prefix, rewrite, url)).toBe(target)
  })

  it('gives nothing for a path that does not begin with the prefix as written', () => {
    expect(upstreamTarget('/api/orders', '/orders', '/api/%6Frders/1')).toBeUndefined()
    expect(upstreamTarget('/api/orders', '/orders', '/api/ordersX')).toBeUndefined()
  })
})

describe('badRoutePath', () => {
  it.each(['/', '/api', '/api/orders', '/api/v1.2/x_y~z-w'])('accepts the prefix %s', (prefix) => {
    expect(badRoutePath('prefix', prefix)).toBeUndefined()
  })

  it.each(['', 'api', '/api/', '/api/:id', '/api/*', '/api/../x', '/api//x', '/api/a b'])(
    'refuses the prefix %j',
    (prefix) => {
      expect(badRoutePath('prefix', prefix)).toMatch(/route prefix/)
    },
  )

  it('accepts a rewrite ending with a slash', () => {
    expect(badRoutePath('rewrite', '/v2/')).toBeUndefined()
  })
})
