import { describe, expect, it } from 'vitest'
import type { Workspace } from '../workspace/model.js'
import { compileTemplate } from './request.js'
import { createBody, loadTarget, serviceTarget } from './targets.js'
import { parseWorkspace } from '../workspace/parse.js'

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
    expect(JSON.parse([...names][0]!)).toMatchObject({ name: expect.stringMatching(/^name [0-9a-f-]{36}$/) })
  })
})

describe('where a service is loaded (issue 16)', () => {
  const shop = (extra = '') => {
    const r = parseWorkspace(`name: shop
services:
  order:
    capabilities: [http]
    ports: { http: 3001 }
  stats:
    capabilities: [http]
    ports: { http: 3002 }
${extra}`)
    if (!r.ok) throw new Error(r.problems[0]!.message)
    return r.workspace
  }

  it('goes to its own port without a gateway, or when it publishes one', () => {
    expect(loadTarget(shop(), 'order')).toMatchObject({ url: new URL('http://127.0.0.1:3001') })
    const published = shop('  gateway:\n    kind: gateway\n    ports: { http: 8080 }\n').services
    published.order!.publish = true
    expect(loadTarget({ ...shop(), services: published }, 'order')).not.toHaveProperty('via')
  })

  it('goes through the gateway route to its resource otherwise, paths rewritten', () => {
    const ws = shop(
      '  gateway:\n    kind: gateway\n    ports: { http: 8080 }\n    routes:\n      /api/stats: false\n      /api/a: { service: order, auth: none }\n',
    )
    const t = loadTarget(ws, 'order') as Exclude<
      ReturnType<typeof loadTarget>,
      { unreachable: string } | undefined
    >
    expect(t.url.href).toBe('http://127.0.0.1:8080/')
    expect(t.via).toMatchObject({ gateway: 'gateway', route: { path: '/api/orders', auth: 'jwt' } })
    expect(t.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /api/orders?limit=20',
      'POST /api/orders',
    ])
    expect(loadTarget(ws, 'stats')).toEqual({
      unreachable:
        'stats publishes no port (the gateway is the entry point) and the gateway has no route to /stats',
    })
  })
})

describe('createBody: what the model says a create takes', () => {
  it('sends every field, each unique one fresh, and the body passes the route schema', async () => {
    const { Ajv } = await import('ajv')
    const { parseFieldsYaml } = await import('../workspace/fields.js')
    const { fieldSchema } = await import('../scaffold/entity-vars.js')
    const { unwrap } = await import('../scaffold/ts-literal.js')
    const parsed = parseFieldsYaml({
      sku: { type: 'string', required: true, unique: true, maxLength: 64 },
      code: { type: 'integer', unique: true, min: 1 },
      ref: { type: 'uuid', unique: true },
      items: '{sku:string!,quantity:integer!}[]!',
      kind: 'enum(raw|done)=raw',
    })
    if (!parsed.ok) throw new Error('bad fields')
    const spec = { resource: 'stocks', fields: parsed.fields } as never
    const body = compileTemplate(createBody(spec))
    const validate = new Ajv().compile({
      type: 'object',
      additionalProperties: false,
      required: ['sku', 'items'],
      properties: Object.fromEntries(parsed.fields.map((f) => [f.name, unwrap(fieldSchema(f))])),
    })
    const seen = new Set<string>()
    for (const seq of [0, 1, 2]) {
      const sent = JSON.parse(body.render({ seq, random: Math.random, nowMs: 0 })) as Record<string, unknown>
      expect(validate(sent), JSON.stringify(validate.errors)).toBe(true)
      seen.add(`${String(sent.sku)}|${String(sent.code)}|${String(sent.ref)}`)
      expect(sent.items).toEqual([{ sku: 'sku-1', quantity: 1 }])
    }
    expect(seen.size).toBe(3)
  })
})
