import { describe, expect, it } from 'vitest'
import { ResponseParser, type ParsedResponse } from './http-parser.js'

const enc = (s: string) => new TextEncoder().encode(s)

function parseAll(chunks: string[], head = false) {
  const got: ParsedResponse[] = []
  const p = new ResponseParser(
    (r) => got.push({ ...r }),
    () => !head,
  )
  for (const c of chunks) p.feed(enc(c))
  return { got, p }
}

const ok = 'HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nContent-Length: 5\r\n\r\nhello'
const chunked =
  'HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1a;ext=1\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nx-trailer: 1\r\n\r\n'

describe('ResponseParser', () => {
  it('frames responses by content-length, several per chunk (pipelining)', () => {
    const { got } = parseAll([ok + ok.replace('200 OK', '503 Busy') + ok])
    expect(got.map((r) => r.status)).toEqual([200, 503, 200])
  })

  it('survives any split of the bytes', () => {
    const all = ok + chunked + 'HTTP/1.1 204 No Content\r\n\r\n' + ok
    for (let cut = 1; cut < all.length; cut++) {
      const { got, p } = parseAll([all.slice(0, cut), all.slice(cut)])
      expect(p.error).toBeUndefined()
      expect(got.map((r) => r.status)).toEqual([200, 201, 204, 200])
    }
    const bytes = [...all].map((c) => c)
    expect(parseAll(bytes).got).toHaveLength(4)
  })

  it('reads a body to the end of the connection when nothing frames it', () => {
    const { got, p } = parseAll(['HTTP/1.1 200 OK\r\nserver: x\r\n\r\nsome body'])
    expect(got).toEqual([])
    expect(p.end()).toBe(true)
    expect(got).toEqual([{ status: 200, close: true }])
  })

  it('sees connection: close and HTTP/1.0', () => {
    expect(parseAll([ok.replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n')]).got[0]!.close).toBe(true)
    expect(parseAll([ok.replace('HTTP/1.1', 'HTTP/1.0')]).got[0]!.close).toBe(true)
    expect(
      parseAll([ok.replace('HTTP/1.1', 'HTTP/1.0').replace('\r\n\r\n', '\r\nconnection: keep-alive\r\n\r\n')])
        .got[0]!.close,
    ).toBe(false)
  })

  it('an answer to HEAD has no body despite its content-length', () => {
    const { got } = parseAll(
      ['HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n'],
      true,
    )
    expect(got).toHaveLength(2)
  })

  it('skips 100 Continue', () => {
    expect(parseAll(['HTTP/1.1 100 Continue\r\n\r\n' + ok]).got.map((r) => r.status)).toEqual([200])
  })

  it('reports garbage and a response cut short', () => {
    expect(parseAll(['SSH-2.0-OpenSSH\r\n\r\n']).p.error).toMatch(/not an HTTP/)
    expect(parseAll([ok.slice(0, -2)]).p.end()).toBe(false)
  })
})

describe('ResponseParser framing headers', () => {
  it('reads names in any case, with spaces before the colon, and rejects a bad length', () => {
    const { got } = parseAll(['HTTP/1.1 200 OK\r\nCONTENT-LENGTH : 3\r\nConnection: Close\r\n\r\nabc'])
    expect(got).toEqual([{ status: 200, close: true }])
    expect(parseAll(['HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\nabc']).p.error).toBe('bad content-length')
    // a header that merely starts like one of them is not it
    expect(
      parseAll(['HTTP/1.1 200 OK\r\ncontent-lengthy: 9\r\ncontent-length: 1\r\n\r\na']).got,
    ).toHaveLength(1)
  })
  it('keeps headers and body only of the responses asked for, across any split', () => {
    const all = ok + chunked + 'HTTP/1.1 200 OK\r\nSet-Cookie: a\r\nset-cookie: b\r\n\r\n{"id":1}'
    const dec = new TextDecoder()
    for (let cut = 1; cut < all.length; cut += 7) {
      const got: ParsedResponse[] = []
      let n = 0
      // the first response is not kept, the others are
      const p = new ResponseParser(
        (r) => got.push(r),
        () => true,
        () => n++ > 0,
      )
      p.feed(enc(all.slice(0, cut)))
      p.feed(enc(all.slice(cut)))
      expect(p.end()).toBe(true)
      expect(got.map((r) => r.kept && [r.kept.headers, dec.decode(r.kept.body)])).toEqual([
        undefined,
        [{ 'transfer-encoding': 'chunked' }, 'helloabcdefghijklmnopqrstuvwxyz'],
        [{ 'set-cookie': 'a, b' }, '{"id":1}'],
      ])
    }
  })
})
