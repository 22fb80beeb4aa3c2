import { describe, expect, it } from 'vitest'
import { parseWorkspace, type Problem } from './parse.js'
import { addServiceToYaml, planAddService, renderNewWorkspaceYaml, withService } from './edit.js'
import { listBaseImages, toBaseImage, type Workspace } from './model.js'

const GOOD = `name: shop
services:
  order:
    description: Takes orders
    capabilities: [http, grpc, events]
    ports: { http: 3001, grpc: 50051 }
    calls: [payment]
    publishes: [order.created]
  payment:
    capabilities: [http]
    ports: { http: 3002 }
    subscribes: [order.created]
events:
  order.created:
    schema: { orderId: string, total: number }
`

function problemsOf(text: string): Problem[] {
  const r = parseWorkspace(text)
  if (r.ok) throw new Error('expected problems')
  return r.problems
}

describe('parseWorkspace', () => {
  it('reads observability: the backends turned on, each off unless true (issue 18)', () => {
    const none = parseWorkspace(GOOD)
    expect(none.ok && none.workspace.observability).toBeUndefined()
    const r = parseWorkspace(GOOD + 'observability: { prometheus: true, grafana: true }\n')
    if (!r.ok) throw new Error(JSON.stringify(r.problems))
    expect(r.workspace.observability).toEqual({ prometheus: true, grafana: true, jaeger: false })
  })

  it.each([
    [
      'observability: { prometheus: true, zipkin: true }',
      {
        line: 16,
        field: 'observability.zipkin',
        message: 'zipkin',
        hint: 'allowed: prometheus, grafana, jaeger',
      },
    ],
    [
      'observability: { prometheus: yes please }',
      {
        line: 16,
        field: 'observability.prometheus',
        message: 'observability.prometheus must be a boolean',
        hint: 'turn each backend on or off: observability: { prometheus: true, grafana: false }',
      },
    ],
    [
      'observability: [prometheus]',
      { line: 16, field: 'observability', message: 'observability must be an object' },
    ],
    [
      'observability: { grafana: true }',
      { line: 16, field: 'observability.grafana', message: 'observability.grafana needs prometheus' },
    ],
  ])('refuses observability %s with its line (issue 18)', (line, want) => {
    const problems = problemsOf(GOOD + line + '\n')
    expect(problems).toHaveLength(1)
    const { message, hint, ...where } = want as {
      message: string
      hint?: string
      line: number
      field: string
    }
    expect(problems[0]).toMatchObject(where)
    expect(problems[0]!.message).toContain(message)
    if (hint) expect(problems[0]!.hint).toBe(hint)
  })

  it('reads the optional deadline of calls to a service, and rejects one that is not a duration (issue 3)', () => {
    const r = parseWorkspace(
      GOOD.replace('    ports: { http: 3002 }', '    ports: { http: 3002 }\n    deadline: 750ms'),
    )
    expect(r.ok && r.workspace.services.payment?.deadline).toBe('750ms')
    expect(r.ok && 'deadline' in r.workspace.services.order!).toBe(false)
    const bad = problemsOf(
      GOOD.replace('    ports: { http: 3002 }', '    ports: { http: 3002 }\n    deadline: soon'),
    )
    expect(bad[0]?.line).toBe(12)
  })

  it('reads runtime.image per workspace and per service; the service wins, Node 24 is the default (issue 13)', () => {
    const none = parseWorkspace(GOOD)
    if (!none.ok) throw new Error(JSON.stringify(none.problems))
    expect(toBaseImage(none.workspace, 'order')).toBe('node:24-slim')
    const r = parseWorkspace(
      GOOD.replace('name: shop\n', 'name: shop\nruntime: { image: node:22-slim }\n').replace(
        '    ports: { http: 3002 }',
        '    ports: { http: 3002 }\n    runtime: { image: registry.example.com:5000/base/node:24.11-slim }',
      ),
    )
    if (!r.ok) throw new Error(JSON.stringify(r.problems))
    expect(toBaseImage(r.workspace, 'order')).toBe('node:22-slim')
    expect(toBaseImage(r.workspace, 'payment')).toBe('registry.example.com:5000/base/node:24.11-slim')
    expect(listBaseImages(r.workspace)).toEqual([
      'node:22-slim',
      'registry.example.com:5000/base/node:24.11-slim',
    ])
  })

  it.each([
    [
      '    runtime: { image: "Node:22 slim" }',
      { line: 12, col: 23, field: 'services.payment.runtime.image' },
      /"Node:22 slim" is not a Docker image reference/,
      /node:22-slim/,
    ],
    [
      '    runtime: { image: node:22-slim, base: x }',
      { line: 12, col: 37, field: 'services.payment.runtime.base' },
      /unknown field "base"/,
      /allowed: image/,
    ],
    [
      '    runtime: node:22-slim',
      { line: 12, col: 14, field: 'services.payment.runtime' },
      /must be an object/,
      undefined,
    ],
  ])('rejects %s in one located line with a hint', (line, where, message, hint) => {
    const [p] = problemsOf(GOOD.replace('    ports: { http: 3002 }', `    ports: { http: 3002 }\n${line}`))
    expect(p).toMatchObject(where)
    expect(p!.message).toMatch(message)
    expect(p!.message).not.toContain('\n')
    if (hint) expect(p!.hint).toMatch(hint)
  })

  it('fills defaults', () => {
    const r = parseWorkspace(GOOD)
    expect(r.ok).toBe(true)
    if (!r.ok) return
    expect(r.workspace.services.payment).toEqual({
      description: '',
      capabilities: ['http'],
      resource: 'payments',
      ports: { http: 3002 },
      calls: [],
      publishes: [],
      subscribes: ['order.created'],
      replicas: 1,
      env: {},
    })
  })

  it.each([
    ['not YAML', 'name: shop\nservices:\n  a: [\n', 4, /not valid YAML/],
    ['unknown top field', 'name: shop\nservices: {}\nservicez: {}\n', 3, /unknown field "servicez"/],
    [
      'bad port type',
      GOOD.replace('http: 3002', 'http: "x"'),
      11,
      /services\.payment\.ports\.http must be an integer/,
    ],
    ['port out of range', GOOD.replace('http: 3002', 'http: 70000'), 11, /<= 65535/],
    ['bad capability', GOOD.replace('capabilities: [http]', 'capabilities: [http, soap]'), 10, /"soap".*/],
    [
      'bad service name',
      GOOD.replace('  payment:', '  Payment:').replace('calls: [payment]', 'calls: []'),
      9,
      /not a valid name/,
    ],
    ['missing ports', 'name: shop\nservices:\n  a:\n    capabilities: []\n', 3, /missing "ports"/],
    ['duplicate port', GOOD.replace('http: 3002', 'http: 3001'), 11, /already used by order \(http\)/],
    ['reserved port', GOOD.replace('http: 3002', 'http: 4222'), 11, /reserved for NATS/],
    ['unknown callee', GOOD.replace('calls: [payment]', 'calls: [billing]'), 7, /unknown service "billing"/],
    [
      'unknown event',
      GOOD.replace('subscribes: [order.created]', 'subscribes: [order.shipped]'),
      12,
      /not in the events catalog/,
    ],
    ['bad event type', GOOD.replace('  order.created:\n', '  OrderCreated:\n'), 14, /lowercase\.dotted/],
    ['grpc without port', GOOD.replace('{ http: 3001, grpc: 50051 }', '{ http: 3001 }'), 6, /no ports\.grpc/],
    [
      'an operation that returns its own shape on a grpc service',
      GOOD.replace(
        '    publishes: [order.created]\n',
        '    publishes: [order.created]\n    operations:\n      quote: { returns: { total: number! } }\n',
      ),
      10,
      /services\.order\.operations\.quote\.returns: an operation that returns its own shape is not generated for gRPC yet/,
    ],
    [
      'a writeOnly field on a grpc service',
      GOOD.replace(
        '    publishes: [order.created]\n',
        '    publishes: [order.created]\n    fields:\n      secret: { type: string, writeOnly: true }\n',
      ),
      10,
      /services\.order\.fields\.secret: a writeOnly field is not generated for gRPC yet/,
    ],
    [
      'reserved name',
      GOOD.replace('  payment:', '  nats:').replace('calls: [payment]', 'calls: []'),
      9,
      /reserved/,
    ],
    ['duplicate key', GOOD + 'name: other\n', 16, /not valid YAML/],
  ])('$0: reports line $1', (_label, text, line, message) => {
    const problems = problemsOf(text)
    expect(problems).toContainEqual(
      expect.objectContaining({ line, message: expect.stringMatching(message) }),
    )
  })

  it('takes event fields with objects and arrays, and names a bad type with its line and column', () => {
    const nested = GOOD.replace(
      'schema: { orderId: string, total: number }',
      "schema: { orderId: string, total: number, items: '{sku:string,quantity:integer}[]', note: 'string?' }",
    )
    const parsed = parseWorkspace(nested)
    expect(parsed.ok && parsed.workspace.events['order.created']!.schema.items).toBe(
      '{sku:string,quantity:integer}[]',
    )
    const bad = GOOD.replace(
      'schema: { orderId: string, total: number }',
      'schema: { orderId: string, total: nmber }',
    )
    expect(problemsOf(bad)).toContainEqual(
      expect.objectContaining({
        line: 15,
        col: 39,
        message:
          'field total of order.created: "nmber" is not a type: use string, number, integer, boolean, {field:type,...}, or any of them with []',
      }),
    )
  })

  it('reads fields and operations, and names each bad one with its line and column', () => {
    const withModel = GOOD.replace(
      '    publishes: [order.created]\n',
      `    publishes: [order.created]
    fields:
      items: '{sku:string!,quantity:integer!}[]!'
      total: { type: number, min: 0 }
    operations:
      confirm: { idempotent: true, publishes: [order.created] }
`,
    )
    const parsed = parseWorkspace(withModel)
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems))
    const order = parsed.workspace.services.order!
    expect(order.fields!.map((f) => f.name)).toEqual(['items', 'total'])
    expect(order.operations).toEqual([
      { name: 'confirm', input: [], idempotent: true, on: 'record', publishes: ['order.created'] },
    ])
    expect(parsed.workspace.services.payment!.fields).toBeUndefined()

    const bad = withModel
      .replace('total: { type: number, min: 0 }', 'id: string')
      .replace('confirm:', 'update:')
    expect(problemsOf(bad)).toEqual([
      expect.objectContaining({
        line: 11,
        col: 7,
        message: expect.stringMatching(/fields.id: "id" is reserved/),
      }),
      expect.objectContaining({
        line: 13,
        col: 7,
        message: expect.stringMatching(/operations.update: "update" is a CRUD route/),
      }),
    ])
  })

  it.each([
    [
      'fields on a service without a resource',
      GOOD.replace(
        '    ports: { http: 3002 }\n',
        '    ports: { http: 3002 }\n    fields: { a: string }\n',
      ).replace(
        'capabilities: [http]\n    ports: { http: 3002 }',
        'capabilities: []\n    ports: { http: 3002 }',
      ),
      /service payment declares fields but serves no resource/,
    ],
    [
      'an operation publishing an event not in the catalog',
      GOOD.replace(
        '    publishes: [order.created]\n',
        '    publishes: [order.created]\n    operations: { confirm: { publishes: [order.confirmed] } }\n',
      ),
      /operation confirm publishes "order.confirmed", which is not in the events catalog/,
    ],
    [
      'an operation publishing an event its service does not list',
      GOOD.replace(
        '    subscribes: [order.created]\n',
        '    subscribes: [order.created]\n    operations: { pay: { publishes: [order.created] } }\n',
      ),
      /operation pay publishes "order.created", which payment does not list in publishes/,
    ],
  ])('refuses %s', (_what, text, message) => {
    expect(problemsOf(text)).toContainEqual(
      expect.objectContaining({ message: expect.stringMatching(message) }),
    )
  })

  it('rejects a cycle in calls', () => {
    const text = GOOD.replace('    capabilities: [http]\n', '    capabilities: [http]\n    calls: [order]\n')
    expect(problemsOf(text)[0]!.message).toMatch(/cycle: order -> payment -> order/)
  })
})

describe('planAddService', () => {
  const ws = (parseWorkspace(GOOD) as { workspace: Workspace }).workspace

  it('allocates the next free ports', () => {
    const { spec } = planAddService(ws, { name: 'inventory', capabilities: ['grpc', 'http'] })
    expect(spec.ports).toEqual({ http: 3003, grpc: 50052 })
    expect(spec.capabilities).toEqual(['http', 'grpc'])
    expect(spec.resource).toBe('inventories')
  })

  it('declares unknown event types', () => {
    const { newEvents } = planAddService(ws, {
      name: 'ship',
      capabilities: ['events'],
      subscribes: ['order.created', 'payment.done'],
    })
    expect(newEvents).toEqual(['payment.done'])
  })

  it.each([
    [{ name: 'order' }, /already exists/],
    [{ name: 'Bad_Name' }, /invalid service name/],
    [{ name: 'x', httpPort: 3001 }, /3001 is already used by order \(http\)/],
    [{ name: 'x', httpPort: 8222 }, /NATS monitoring/],
    [{ name: 'x', calls: ['nobody'] }, /unknown service "nobody".*|--calls/],
    [{ name: 'x', calls: ['x'] }, /cannot call itself/],
    [{ name: 'x', publishes: ['Bad'], capabilities: ['events' as const] }, /lowercase\.dotted/],
    [{ name: 'x', publishes: ['a.b'] }, /need the events capability/],
    [{ name: 'x', grpcPort: 50060 }, /without --grpc/],
  ])('rejects %j', (opts, message) => {
    expect(() => planAddService(ws, { capabilities: ['http'], ...opts })).toThrow(message)
  })
})

describe('msvc.yaml text', () => {
  it('writes a new workspace that parses back to the same model', () => {
    const empty: Workspace = { name: 'shop', services: {}, events: {} }
    const { spec, newEvents } = planAddService(empty, {
      name: 'order',
      description: 'Takes orders',
      capabilities: ['http', 'grpc', 'events'],
      publishes: ['order.created'],
    })
    const text = renderNewWorkspaceYaml('shop', 'order', spec, newEvents)
    expect(text).toMatchInlineSnapshot(`
      "# msvc.yaml: the one model of this system. Every msvc command reads it;
      # docker-compose.yml and generated clients are derived from it.
      name: shop
      services:
        order:
          description: Takes orders
          capabilities: [http, grpc, events]
          resource: orders
          ports: { http: 3001, grpc: 50051 }
          publishes: [order.created]
          replicas: 1
          store: postgres
      events:
        order.created:
          schema: { id: string }
      "
    `)
    const back = parseWorkspace(text)
    expect(back.ok && back.workspace).toEqual(withService(empty, 'order', spec, newEvents))
  })

  it('adds a service keeping comments', () => {
    const text = '# my notes\n' + GOOD
    const ws = (parseWorkspace(text) as { workspace: Workspace }).workspace
    const { spec, newEvents } = planAddService(ws, { name: 'ship', capabilities: ['http'] })
    const out = addServiceToYaml(text, 'ship', spec, newEvents)
    expect(out.startsWith('# my notes\n')).toBe(true)
    expect(out).toContain(
      '  ship:\n    capabilities: [http]\n    resource: ships\n    ports: { http: 3003 }\n',
    )
    expect(parseWorkspace(out).ok).toBe(true)
  })
})
