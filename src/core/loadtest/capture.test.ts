import { describe, expect, it } from 'vitest'
import { captureValues, failedChecks, parseCaptures, parseChecks, type AnswerView } from './capture.js'

const answer = (body: string, headers: Record<string, string> = {}): AnswerView => ({
  body,
  header: (n) => headers[n],
})

describe('parseCaptures and parseChecks', () => {
  it('reads variables from JSON paths and headers', () => {
    const problems: string[] = []
    const captures = parseCaptures({ id: '$.id', where: 'header:Location' }, 'flows[0].steps[0]', problems, [
      'seq',
    ])
    expect(problems).toEqual([])
    expect(captures).toEqual([
      { name: 'id', from: { kind: 'json', path: ['id'], text: '$.id' } },
      { name: 'where', from: { kind: 'header', name: 'location', text: 'header:Location' } },
    ])
  })

  it('names each problem by its place', () => {
    const problems: string[] = []
    parseCaptures({ seq: '$.id', 'bad-name': '$.x', ok: 'id', h: 'header:' }, 's', problems, ['seq', 'uuid'])
    parseCaptures(JSON.parse('{"__proto__":"$.a","constructor":"$.b"}'), 'p', problems, [])
    parseCaptures(['$.id'], 't', problems, [])
    parseChecks({ '$.items[*]': 1 }, 'u', problems)
    expect(problems).toEqual([
      's.capture.seq: "seq" cannot name a variable (letters, digits and _; not seq, uuid, constructor, __proto__ and the like)',
      's.capture.bad-name: "bad-name" cannot name a variable (letters, digits and _; not seq, uuid, constructor, __proto__ and the like)',
      's.capture.ok: "id" is not a JSON path: it starts with $ ($.id, $.items[0].sku)',
      's.capture.h: "header:" names no header (header:location)',
      'p.capture.__proto__: "__proto__" cannot name a variable (letters, digits and _; not constructor, __proto__ and the like)',
      'p.capture.constructor: "constructor" cannot name a variable (letters, digits and _; not constructor, __proto__ and the like)',
      't.capture: a mapping of variable names to $.json.paths or header:names',
      'u.check: "$.items[*]" is not a JSON path: a bracket holds an index ([0]) or a quoted name ([\'a b\']) at character 8',
    ])
  })
})

describe('captureValues', () => {
  const captures = parseCaptures({ id: '$.id', n: '$.items[0].qty', loc: 'header:location' }, 's', [], [])
  it('gives strings as they are and other values as JSON', () => {
    expect(
      captureValues(answer('{"id":"o-1","items":[{"qty":2}]}', { location: '/orders/o-1' }), captures),
    ).toEqual({ vars: { id: 'o-1', n: '2', loc: '/orders/o-1' } })
  })
  it('says which value is missing', () => {
    expect(captureValues(answer('{"id":"o-1","items":[]}', { location: '/x' }), captures)).toEqual({
      problem: 'capture n: the answer has no $.items[0].qty',
    })
    expect(captureValues(answer('<html>', { location: '/x' }), captures)).toEqual({
      problem: 'capture id: the answer has no $.id',
    })
  })
})

describe('failedChecks', () => {
  const checks = parseChecks(
    { '$.status': 'confirmed', '$.total': 30, '$.tags': ['a'], 'header:content-type': 'application/json' },
    's',
    [],
  )
  it('passes only on equal values of the same type', () => {
    const h = { 'content-type': 'application/json' }
    expect(failedChecks(answer('{"status":"confirmed","total":30,"tags":["a"]}', h), checks)).toEqual([])
    expect(failedChecks(answer('{"status":"pending","total":"30","tags":["a","b"]}', h), checks)).toEqual([
      'check $.status: expected "confirmed", got "pending"',
      'check $.total: expected 30, got "30"',
      'check $.tags: expected ["a"], got ["a","b"]',
    ])
    expect(failedChecks(answer('not json'), checks)).toEqual([
      'check $.status: the answer has none',
      'check $.total: the answer has none',
      'check $.tags: the answer has none',
      'check header:content-type: the answer has none',
    ])
  })
})
