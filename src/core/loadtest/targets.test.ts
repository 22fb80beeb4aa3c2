import { describe, expect, it } from 'vitest'
import type { Workspace } from '../workspace/model.js'
import { compileTemplate } from './request.js'
import { serviceTarget } from './targets.js'

const ws = {
  name: 'shop',
  services: {
    order: { capabilities: ['http'], resource: 'orders', ports: { http: 3001 } },
  },
  events: {},
} as unknown as Workspace

describe('a service target', () => {
  it('creates with names that differ between runs (the resource answers 409 to a name it has)', () => {
    const post = serviceTarget(ws, 'order')!.requests.find((r) => r.method === 'POST')!
    const body = compileTemplate(post.body!)
    // two runs: each numbers its requests from 0 with its own random source
    const names = new Set(
      [1, 2].flatMap(() => [0, 1, 2].map((seq) => body.render({ seq, random: Math.random, nowMs: 0 }))),
    )
    expect(names.size).toBe(6)
    expect(JSON.parse([...names][0]!)).toMatchObject({ name: expect.stringMatching(/^load [0-9a-f-]{36}$/) })
  })
})
