import { create, toBinary } from '@bufbuild/protobuf'
import { base64Encode } from '@bufbuild/protobuf/wire'
import { FileDescriptorProtoSchema, file_google_protobuf_timestamp } from '@bufbuild/protobuf/wkt'
import { describe, expect, it } from 'vitest'
import type { ServiceSpec, Workspace } from '../workspace/model.js'
import { resolveGrpcCall, toGrpcCatalog, toTsProtoName } from './grpc-message.js'
import { checkGrpcServices, grpcAddress, grpcServiceMix, type GrpcCallSpec } from './grpc-scenario.js'
import { parseGrpcExpect } from './grpc-status.js'
import { parseScenario } from './scenario.js'

const svc = (capabilities: ServiceSpec['capabilities'], ports: ServiceSpec['ports']): ServiceSpec => ({
  description: '',
  capabilities,
  resource: 'orders',
  ports,
  calls: [],
  publishes: [],
  subscribes: [],
  replicas: 1,
  env: {},
})
const WS: Workspace = {
  name: 'shop',
  services: {
    order: svc(['http', 'grpc'], { http: 3001, grpc: 50051 }),
    payment: svc(['http'], { http: 3002 }),
  },
  events: {},
}

// A compiled proto as `msvc proto gen` embeds it: base64 FileDescriptorProtos, imports first.
const T = { STRING: 9, INT32: 5, INT64: 3, DOUBLE: 1, BOOL: 8, BYTES: 12, MESSAGE: 11, ENUM: 14 }
const OPT = 1
const REP = 3
const field = (name: string, number: number, type: number, extra: Record<string, unknown> = {}) => ({
  name,
  number,
  type,
  label: OPT,
  jsonName: toTsProtoName(name),
  ...extra,
})
const orderProto = create(FileDescriptorProtoSchema, {
  name: 'order.proto',
  package: 'shop.order.v1',
  syntax: 'proto3',
  dependency: ['google/protobuf/timestamp.proto'],
  enumType: [
    {
      name: 'OrderStatus',
      value: [
        { name: 'ORDER_STATUS_UNSPECIFIED', number: 0 },
        { name: 'ORDER_STATUS_ACTIVE', number: 1 },
      ],
    },
  ],
  messageType: [
    { name: 'GetOrderRequest', field: [field('id', 1, T.STRING)] },
    { name: 'Money', field: [field('units', 1, T.INT64), field('currency', 2, T.STRING)] },
    {
      name: 'CreateOrderRequest',
      field: [
        field('name', 1, T.STRING),
        field('page_size', 2, T.INT32),
        field('status', 3, T.ENUM, { typeName: '.shop.order.v1.OrderStatus' }),
        field('urgent', 4, T.BOOL),
        field('ratio', 5, T.DOUBLE),
        field('tags', 6, T.STRING, { label: REP }),
        field('total', 7, T.MESSAGE, { typeName: '.shop.order.v1.Money' }),
        field('due', 8, T.MESSAGE, { typeName: '.google.protobuf.Timestamp' }),
        field('labels', 9, T.MESSAGE, {
          label: REP,
          typeName: '.shop.order.v1.CreateOrderRequest.LabelsEntry',
        }),
        field('blob', 10, T.BYTES),
      ],
      nestedType: [
        {
          name: 'LabelsEntry',
          field: [field('key', 1, T.STRING), field('value', 2, T.INT32)],
          options: { mapEntry: true },
        },
      ],
    },
    { name: 'Empty' },
  ],
  service: [
    {
      name: 'OrderService',
      method: [
        {
          name: 'GetOrder',
          inputType: '.shop.order.v1.GetOrderRequest',
          outputType: '.shop.order.v1.Empty',
          options: { idempotencyLevel: 1 },
        },
        {
          name: 'CreateOrder',
          inputType: '.shop.order.v1.CreateOrderRequest',
          outputType: '.shop.order.v1.Empty',
        },
        {
          name: 'WatchOrders',
          inputType: '.shop.order.v1.Empty',
          outputType: '.shop.order.v1.Empty',
          serverStreaming: true,
        },
      ],
    },
    {
      name: 'AdminService',
      method: [
        { name: 'GetOrder', inputType: '.shop.order.v1.GetOrderRequest', outputType: '.shop.order.v1.Empty' },
      ],
    },
  ],
})
const b64 = (p: typeof orderProto) => base64Encode(toBinary(FileDescriptorProtoSchema, p))
const CATALOG = toGrpcCatalog([b64(file_google_protobuf_timestamp.proto), b64(orderProto)])

const call = (over: Partial<GrpcCallSpec>): GrpcCallSpec => ({
  kind: 'grpc',
  name: 'x',
  weight: 1,
  service: 'order',
  method: 'OrderService.GetOrder',
  message: {},
  metadata: {},
  expect: [0],
  ...over,
})
const CTX = { seq: 7, random: () => 0.25, nowMs: 1000 }

describe('gRPC entries of a scenario', () => {
  it('reads a call with message, metadata, deadline, address, expectations and the resilience switch', () => {
    const r = parseScenario(`
grpc: { resilience: client }
requests:
  - name: get order
    weight: 3
    grpc:
      service: order
      method: GetOrder
      message: { id: "o-{{seq}}" }
      metadata: { X-Tenant: "t{{randomInt 1 3}}" }
      deadline: 500ms
      address: 127.0.0.1:50099
    expect: [OK, not_found, 14]
  - grpc: { service: order, method: ListOrders }
  - path: /orders
`)
    expect(r.ok).toBe(true)
    if (!r.ok) return
    expect(r.scenario.grpc).toEqual({ resilience: 'client' })
    expect(r.scenario.requests).toEqual([
      {
        kind: 'grpc',
        name: 'get order',
        weight: 3,
        service: 'order',
        method: 'GetOrder',
        message: { id: 'o-{{seq}}' },
        metadata: { 'x-tenant': 't{{randomInt 1 3}}' },
        deadlineMs: 500,
        address: '127.0.0.1:50099',
        expect: [0, 5, 14],
      },
      {
        kind: 'grpc',
        name: 'order.ListOrders',
        weight: 1,
        service: 'order',
        method: 'ListOrders',
        message: {},
        metadata: {},
        expect: [0],
      },
      expect.objectContaining({ method: 'GET', path: '/orders' }),
    ])
  })

  it('names every problem of a gRPC entry by its place', () => {
    const r = parseScenario(`
grpc: { resilience: sometimes }
requests:
  - grpc: { service: order, method: GetOrder }
    message: { id: x }
  - grpc: { service: order, method: GetOrder }
    path: /orders
  - grpc: { service: order, method: "Get Order", request: {}, deadline: soon, address: "no port" }
  - grpc: { service: order, method: GetOrder, message: { id: "{{nope}}" }, metadata: { "a b": x, "k-bin": y } }
    expect: 200
  - grpc: order
`)
    expect(r.ok).toBe(false)
    if (r.ok) return
    expect(r.problems).toEqual([
      "grpc: { resilience: off } (one attempt per call) or { resilience: client } (the client's retries and breaker)",
      'requests[0].message: goes inside grpc: (grpc: { service, method, message })',
      'requests[1].path: an entry is an HTTP request (path:) or a gRPC call (grpc:), not both',
      'requests[2].grpc.request: unknown key (known: service, method, message, metadata, deadline, address); the request is message:',
      "requests[2].grpc.method: a method of the service's proto, e.g. GetOrder",
      'requests[2].grpc.deadline: "soon" is not a duration (500ms, 2s)',
      'requests[2].grpc.address: host:port, e.g. 127.0.0.1:50051',
      expect.stringMatching(/^requests\[3\]\.grpc\.message\.id: unknown placeholder "\{\{nope\}\}"/),
      expect.stringMatching(/^requests\[3\]\.grpc\.metadata\.a b: not a metadata key/),
      expect.stringMatching(/^requests\[3\]\.grpc\.metadata\.k-bin: not a metadata key/),
      'requests[3].expect: a gRPC status (OK, NOT_FOUND or its number) or a list of them',
      'requests[4].grpc: a mapping like { service: order, method: GetOrder, message: { id: "..." } }',
    ])
  })

  it.each([
    ['OK', [0]],
    ['not_found', [5]],
    ['deadline-exceeded', [4]],
    [14, [14]],
    ['14', [14]],
    [
      ['OK', 'NOT_FOUND', 'OK'],
      [0, 5],
    ],
    [200, undefined],
    ['2xx', undefined],
    [[], undefined],
  ])('expect %j is %j', (v, codes) => expect(parseGrpcExpect(v)).toEqual(codes))
})

describe('gRPC calls against the workspace', () => {
  it('wants a service of the workspace with the grpc capability', () => {
    const problems = checkGrpcServices(
      [
        { spec: call({ service: 'ordr' }), at: 'requests[0]' },
        { spec: call({ service: 'payment' }), at: 'requests[1]' },
        { spec: call({}), at: 'requests[2]' },
      ],
      WS,
    )
    expect(problems).toEqual([
      {
        message: 'requests[0].grpc.service: unknown service "ordr"',
        hint: 'services of the workspace: order, payment',
      },
      {
        message: 'requests[1].grpc.service: payment has no grpc capability',
        hint: 'give it grpc in msvc.yaml (capabilities) and run msvc proto gen, or load its HTTP routes',
      },
    ])
  })

  it("goes to the service's gRPC port on 127.0.0.1 unless the call gives an address", () => {
    expect(grpcAddress(call({}), WS)).toBe('127.0.0.1:50051')
    expect(grpcAddress(call({ address: 'localhost:7000' }), WS)).toBe('localhost:7000')
  })

  it("a service's default gRPC mix mirrors the REST one: List 4 of 5, Create 1 of 5 with a unique name", () => {
    expect(grpcServiceMix(WS, 'order').map((c) => [c.name, c.weight, c.method, c.message])).toEqual([
      ['order.ListOrders', 4, 'ListOrders', { page_size: 20 }],
      [
        'order.CreateOrder',
        1,
        'CreateOrder',
        { name: 'load {{uuid}}', description: 'created by msvc loadtest' },
      ],
    ])
  })
})

describe('resolveGrpcCall (against the descriptors the generated client embeds)', () => {
  const problemOf = (spec: GrpcCallSpec) => {
    const r = resolveGrpcCall(spec, CATALOG, 'requests[0]')
    return r.ok ? undefined : r.problem
  }

  it('finds the factory, the caller method and the HTTP/2 path', () => {
    const r = resolveGrpcCall(call({ method: 'OrderService.GetOrder' }), CATALOG, 'requests[0]')
    expect(r.ok && { ...r.call, message: undefined }).toEqual({
      factory: 'createOrderServiceClient',
      callerMethod: 'getOrder',
      path: '/shop.order.v1.OrderService/GetOrder',
      idempotent: true,
      message: undefined,
    })
    expect(resolveGrpcCall(call({ method: 'shop.order.v1.AdminService/GetOrder' }), CATALOG, 'r').ok).toBe(
      true,
    )
    expect(resolveGrpcCall(call({ method: 'CreateOrder' }), CATALOG, 'r').ok).toBe(true)
  })

  it('refuses unknown, ambiguous and streaming methods, with a hint', () => {
    expect(problemOf(call({ method: 'GetOrdr' }))).toEqual({
      message: 'requests[0].grpc.method: order has no method GetOrdr',
      hint: 'methods of order: OrderService.GetOrder, OrderService.CreateOrder, OrderService.WatchOrders, AdminService.GetOrder',
    })
    expect(problemOf(call({ method: 'GetOrder' }))).toEqual({
      message: 'requests[0].grpc.method: GetOrder is declared by several services of order',
      hint: 'name one: OrderService.GetOrder, AdminService.GetOrder',
    })
    expect(problemOf(call({ method: 'WatchOrders' }))).toEqual({
      message: 'requests[0].grpc.method: OrderService.WatchOrders is a server-streaming method',
      hint: 'a load scenario sends unary calls only',
    })
  })

  it.each([[{ idd: 'x' }, 'requests[0].grpc.message.idd: GetOrderRequest has no field idd (fields: id)']])(
    'GetOrder message %j: %s',
    (message, problem) => {
      expect(problemOf(call({ message }))?.message).toBe(problem)
    },
  )

  it.each([
    [{ page_size: 'ten' }, 'requests[0].grpc.message.page_size: "ten" is not an integer (int32)'],
    [{ pageSize: 1.5 }, 'requests[0].grpc.message.pageSize: 1.5 is not an integer (int32)'],
    [
      { page_size: '{{uuid}}' },
      'requests[0].grpc.message.page_size: "{{uuid}}" does not give an integer (int32)',
    ],
    [
      { status: 'ACTIVE' },
      'requests[0].grpc.message.status: "ACTIVE" is not a value of OrderStatus (ORDER_STATUS_UNSPECIFIED, ORDER_STATUS_ACTIVE)',
    ],
    [{ status: '{{seq}}' }, expect.stringMatching(/status: placeholders are not allowed in an enum field/)],
    [{ urgent: 'yes' }, 'requests[0].grpc.message.urgent: "yes" is not a bool (true or false)'],
    [{ tags: 'a' }, 'requests[0].grpc.message.tags: a list (repeated field)'],
    [{ total: { units: 'x' } }, 'requests[0].grpc.message.total.units: "x" is not an integer (int64)'],
    [
      { total: { cents: 1 } },
      'requests[0].grpc.message.total.cents: Money has no field cents (fields: units, currency)',
    ],
    [
      { due: 'tomorrow' },
      'requests[0].grpc.message.due: "tomorrow" is not a time (ISO 8601, e.g. 2024-01-31T12:00:00Z)',
    ],
    [{ labels: { a: 'b' } }, 'requests[0].grpc.message.labels.a: "b" is not an integer (int32)'],
  ])('CreateOrder message %j: %s', (message, problem) => {
    expect(problemOf(call({ method: 'CreateOrder', message }))?.message).toEqual(problem)
  })

  it('builds typed messages: numbers, bools, enums, lists, maps, nested messages, times and bytes', () => {
    const r = resolveGrpcCall(
      call({
        method: 'CreateOrder',
        message: {
          name: 'order {{seq}}',
          page_size: '{{randomInt 10 20}}',
          status: 'ORDER_STATUS_ACTIVE',
          urgent: 'true',
          ratio: 0.5,
          tags: ['a', '{{seq}}'],
          total: { units: '{{seq}}', currency: 'EUR' },
          due: '2024-01-31T12:00:00Z',
          labels: { k: '{{seq}}' },
          blob: 'hi',
        },
      }),
      CATALOG,
      'r',
    )
    if (!r.ok) throw new Error(r.problem.message)
    expect(r.call.message.isStatic).toBe(false)
    expect(r.call.message.render(CTX)).toEqual({
      name: 'order 7',
      pageSize: 12,
      status: 1,
      urgent: true,
      ratio: 0.5,
      tags: ['a', '7'],
      total: { units: 7, currency: 'EUR' },
      due: new Date('2024-01-31T12:00:00Z'),
      labels: { k: 7 },
      blob: new TextEncoder().encode('hi'),
    })
  })

  it('a message without placeholders is built once and reused', () => {
    const r = resolveGrpcCall(call({ message: { id: 'o-1' } }), CATALOG, 'r')
    if (!r.ok) throw new Error(r.problem.message)
    expect(r.call.message.isStatic).toBe(true)
    expect(r.call.message.render(CTX)).toBe(r.call.message.render({ ...CTX, seq: 8 }))
    expect(r.call.message.render(CTX)).toEqual({ id: 'o-1' })
  })

  it.each([
    ['page_size', 'pageSize'],
    ['next_page_token', 'nextPageToken'],
    ['id', 'id'],
    ['SHOUT_CASE', 'shoutCase'],
  ])("ts-proto's property name of %s is %s", (name, ts) => expect(toTsProtoName(name)).toBe(ts))
})
