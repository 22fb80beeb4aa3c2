import { describe, expect, it } from 'vitest'
import {
  clientIpOf,
  clientResponseHeaders,
  endToEnd,
  forwardedHeaders,
  traceContext,
  TrustedProxies,
  upstreamRequestHeaders,
  type Hop,
} from './forwarded.js'

const hop = (peer: string, trusted = false, host: string | undefined = 'shop.example'): Hop => ({
  peer,
  proto: 'http',
  host,
  trusted,
})

describe('endToEnd', () => {
  it('drops the hop-by-hop fields of RFC 9110 §7.6.1 and those Connection names, keeps the rest', () => {
    expect(
      endToEnd({
        connection: 'keep-alive, X-Secret , x-other',
        'keep-alive': 'timeout=5',
        'proxy-connection': 'keep-alive',
        te: 'trailers',
        'transfer-encoding': 'chunked',
        upgrade: 'websocket',
        trailer: 'x-checksum',
        'proxy-authorization': 'Basic x',
        'proxy-authenticate': 'Basic',
        expect: '100-continue',
        'x-secret': 'hop',
        'x-other': 'hop',
        authorization: 'Bearer kept',
        'set-cookie': ['a=1', 'b=2'],
        'content-type': 'application/json',
        absent: undefined,
      }),
    ).toEqual({
      authorization: 'Bearer kept',
      'set-cookie': ['a=1', 'b=2'],
      'content-type': 'application/json',
    })
  })

  it('reads Connection sent on several lines', () => {
    expect(endToEnd({ connection: ['x-a', 'x-b'], 'x-a': '1', 'x-b': '2', 'x-c': '3' })).toEqual({
      'x-c': '3',
    })
  })
})

describe('TrustedProxies', () => {
  const trusted = new TrustedProxies(['10.0.0.0/8', '192.168.1.7', 'fd00::/8', '::1'])

  it.each([
    ['10.1.2.3', true],
    ['11.0.0.1', false],
    ['192.168.1.7', true],
    ['192.168.1.8', false],
    ['::ffff:10.9.9.9', true],
    ['fd12::1', true],
    ['fe80::1', false],
    ['::1', true],
    ['unknown', false],
    ['', false],
  ])('%s trusted: %s', (ip, expected) => {
    expect(trusted.has(ip)).toBe(expected)
  })

  it('trusts nobody by default', () => {
    expect(new TrustedProxies().has('127.0.0.1')).toBe(false)
  })

  it.each(['10.0.0.0/33', 'fd00::/129', 'proxy.local', '10.0.0.0/8/1', '10.0.0/8', '10.0.0.0/x'])(
    'refuses %s',
    (entry) => {
      expect(() => new TrustedProxies([entry])).toThrow(/not an IP address or a CIDR range/)
    },
  )
})

describe('clientIpOf', () => {
  const trusted = new TrustedProxies(['10.0.0.0/8'])

  it('is the peer when the peer is not a trusted proxy, whatever X-Forwarded-For says', () => {
    expect(clientIpOf(hop('203.0.113.9'), '1.2.3.4', trusted)).toBe('203.0.113.9')
    expect(clientIpOf(hop('::ffff:203.0.113.9'), undefined, trusted)).toBe('203.0.113.9')
  })

  it('behind trusted proxies, is the rightmost address that is not one', () => {
    const viaProxy = hop('10.0.0.2', true)
    // the client wrote 6.6.6.6 itself; 203.0.113.9 is what the first proxy saw
    expect(clientIpOf(viaProxy, '6.6.6.6, 203.0.113.9, 10.0.0.5', trusted)).toBe('203.0.113.9')
    expect(clientIpOf(viaProxy, ['6.6.6.6', '203.0.113.9:4711'], trusted)).toBe('203.0.113.9')
    expect(clientIpOf(viaProxy, '[2001:db8::1]:443', trusted)).toBe('2001:db8::1')
    expect(clientIpOf(viaProxy, '10.0.0.9, 10.0.0.8', trusted)).toBe('10.0.0.9')
    expect(clientIpOf(viaProxy, undefined, trusted)).toBe('10.0.0.2')
  })
})

describe('forwardedHeaders', () => {
  const incoming = {
    forwarded: 'for=198.51.100.1;proto=https',
    'x-forwarded-for': '198.51.100.1',
    'x-forwarded-proto': 'https',
    'x-forwarded-host': 'shop.example',
  }

  it('replaces what an untrusted peer sent', () => {
    expect(forwardedHeaders(hop('203.0.113.9', false, 'gw.internal:8080'), incoming)).toEqual({
      forwarded: 'for=203.0.113.9;proto=http;host="gw.internal:8080"',
      'x-forwarded-for': '203.0.113.9',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': 'gw.internal:8080',
    })
  })

  it('appends to what a trusted proxy sent, keeping the original proto and host', () => {
    expect(forwardedHeaders(hop('10.0.0.2', true, 'gw.internal'), incoming)).toEqual({
      forwarded: 'for=198.51.100.1;proto=https, for=10.0.0.2;proto=http;host=gw.internal',
      'x-forwarded-for': '198.51.100.1, 10.0.0.2',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'shop.example',
    })
  })

  it('quotes an IPv6 peer in brackets (RFC 7239 §6), and leaves host out without one', () => {
    expect(forwardedHeaders({ peer: '::1', proto: 'http', host: undefined, trusted: false }, {})).toEqual({
      forwarded: 'for="[::1]";proto=http',
      'x-forwarded-for': '::1',
      'x-forwarded-proto': 'http',
    })
    expect(forwardedHeaders(hop('::ffff:127.0.0.1', false, 'a"b'), {}).forwarded).toBe(
      'for=127.0.0.1;proto=http;host="a\\"b"',
    )
  })
})

describe('traceContext', () => {
  const valid = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'

  it('passes a valid traceparent on, with its tracestate', () => {
    expect(traceContext({ traceparent: valid, tracestate: 'a=1' })).toEqual({
      traceparent: valid,
      tracestate: 'a=1',
    })
    expect(traceContext({ traceparent: valid })).toEqual({ traceparent: valid })
  })

  it.each([
    ['missing', undefined],
    ['a zero trace id', '00-00000000000000000000000000000000-00f067aa0ba902b7-01'],
    ['a zero parent id', '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01'],
    ['uppercase', valid.toUpperCase()],
    ['another version', `01${valid.slice(2)}`],
    ['short', valid.slice(0, -1)],
    ['sent twice', [valid, valid]],
  ])('starts a new trace (and drops tracestate) when it is %s', (_what, traceparent) => {
    const t = traceContext({ traceparent, tracestate: 'a=1' })
    expect(t.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/)
    expect(t.traceparent).not.toBe(traceparent)
    expect(t).not.toHaveProperty('tracestate')
  })
})

describe('upstreamRequestHeaders', () => {
  const incoming = {
    host: 'shop.example',
    'x-request-id': 'spoofed',
    'x-user-id': 'admin',
    'x-user-roles': 'admin',
    'x-forwarded-port': '443',
    'x-forwarded-prefix': '/shop',
    'content-length': '0',
    authorization: 'Bearer t',
    connection: 'close',
  }
  const add = { host: 'order:3001', requestId: 'rid', principal: {}, hasBody: false }

  it('writes the gateway fields over the client copies, and keeps authorization', () => {
    const headers = upstreamRequestHeaders(incoming, hop('203.0.113.9'), add)
    expect(headers).toMatchObject({
      host: 'order:3001',
      'x-request-id': 'rid',
      authorization: 'Bearer t',
      'x-forwarded-for': '203.0.113.9',
    })
    for (const name of [
      'x-user-id',
      'x-user-roles',
      'x-forwarded-port',
      'x-forwarded-prefix',
      'content-length',
      'connection',
    ])
      expect(headers).not.toHaveProperty(name)
  })

  it('sets the principal of a verified token, keeps a trusted proxy’s other x-forwarded-* and a body’s length', () => {
    const headers = upstreamRequestHeaders({ ...incoming, 'content-length': '12' }, hop('10.0.0.2', true), {
      ...add,
      principal: { 'x-user-id': 'alice' },
      hasBody: true,
    })
    expect(headers).toMatchObject({
      'x-user-id': 'alice',
      'x-forwarded-port': '443',
      'x-forwarded-prefix': '/shop',
      'content-length': '12',
    })
    expect(headers).not.toHaveProperty('x-user-roles')
  })
})

describe('clientResponseHeaders', () => {
  it('keeps the end-to-end fields of the answer but its request id', () => {
    expect(
      clientResponseHeaders({
        'x-request-id': 'upstream',
        connection: 'keep-alive',
        'keep-alive': 'timeout=5',
        'content-type': 'text/plain',
        'set-cookie': ['a=1', 'b=2'],
      }),
    ).toEqual({ 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'] })
  })
})
