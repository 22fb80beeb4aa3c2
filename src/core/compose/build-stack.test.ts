import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parseWorkspace } from '../workspace/parse.js'
import type { Workspace } from '../workspace/model.js'
import { DEFAULT_OTLP_PORT } from '../../io/dashboard/otlp-receiver.js'
import {
  buildComposeStack,
  DASHBOARD_OTLP_PORT,
  listStackNames,
  renderComposeYaml,
  selectWithDependencies,
  stackMember,
} from './build-stack.js'

const ws = (text: string): Workspace => {
  const r = parseWorkspace(text)
  if (!r.ok) throw new Error(JSON.stringify(r.problems))
  return r.workspace
}

const SHOP = ws(`name: shop
services:
  order:
    capabilities: [http, grpc, events]
    ports: { http: 3001, grpc: 50051 }
    calls: [payment]
    publishes: [order.created]
  payment:
    capabilities: [http]
    ports: { http: 3002 }
    env: { FEATURE_X: "on" }
  search:
    capabilities: [http]
    ports: { http: 3003 }
    replicas: 3
events:
  order.created: { schema: { id: string } }
`)

describe('buildComposeStack', () => {
  it('derives the stack from the model', async () => {
    await expect(renderComposeYaml(buildComposeStack(SHOP))).toMatchFileSnapshot(
      '__snapshots__/shop.compose.yml',
    )
  })

  it("passes each service its base image as the BASE_IMAGE build arg: its own, the workspace's, else Node 24 (issue 13)", () => {
    const stack = (extra: string) =>
      buildComposeStack(
        ws(
          `name: x\n${extra}services:\n  a:\n    capabilities: [http]\n    ports: { http: 3001 }\n` +
            '  b:\n    capabilities: [http]\n    ports: { http: 3002 }\n    runtime: { image: node:20-slim }\n',
        ),
      ).services
    expect(stack('').a!.build).toEqual({ context: './services/a', args: { BASE_IMAGE: 'node:24-slim' } })
    expect(stack('runtime: { image: node:22-slim }\n').a!.build!.args).toEqual({ BASE_IMAGE: 'node:22-slim' })
    expect(stack('runtime: { image: node:22-slim }\n').b!.build!.args).toEqual({ BASE_IMAGE: 'node:20-slim' })
  })

  it("points every service's traces at the dashboard on the host, which msvc.yaml's env may override (issue #18)", () => {
    const stack = buildComposeStack(
      ws(
        'name: x\nservices:\n  a:\n    capabilities: [http]\n    ports: { http: 3001 }\n' +
          '  b:\n    capabilities: [http]\n    ports: { http: 3002 }\n    env: { OTEL_TRACES_SAMPLER_ARG: "0.1" }\n',
      ),
    ).services
    expect(stack.a!.environment).toMatchObject({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://host.docker.internal:4318',
      OTEL_SERVICE_NAME: 'a',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '1',
    })
    // Linux has no host.docker.internal of its own
    expect(stack.a!.extra_hosts).toEqual(['host.docker.internal:host-gateway'])
    expect(stack.b!.environment).toMatchObject({ OTEL_SERVICE_NAME: 'b', OTEL_TRACES_SAMPLER_ARG: '0.1' })
    // the port the dashboard's receiver listens on by default
    expect(DASHBOARD_OTLP_PORT).toBe(DEFAULT_OTLP_PORT)
  })

  it('leaves NATS out when no service has events', () => {
    const s = buildComposeStack(
      ws('name: x\nservices:\n  a:\n    capabilities: [http]\n    ports: { http: 3001 }\n'),
    )
    expect(Object.keys(s.services)).toEqual(['a'])
    expect(s.volumes).toBeUndefined()
    expect(s.services.a!.depends_on).toBeUndefined()
  })

  it('publishes every port on 127.0.0.1 only', () => {
    for (const svc of Object.values(buildComposeStack(SHOP).services))
      for (const p of svc.ports ?? []) expect(p).toMatch(/^127\.0\.0\.1:\d+:\d+$/)
  })

  it('labels every service with the workspace', () => {
    for (const [name, svc] of Object.entries(buildComposeStack(SHOP).services))
      expect(svc.labels).toEqual({ 'msvc.workspace': 'shop', 'msvc.service': name })
  })
})

describe('a saga owner', () => {
  it('names its saga runner by its container (SAGA_RUNNER=hostname); no other service gets one', () => {
    const shop = ws(readFileSync(new URL('../../../test/fixtures/sagas/msvc.yaml', import.meta.url), 'utf8'))
    const stack = buildComposeStack(shop)
    expect(stack.services.order!.environment!.SAGA_RUNNER).toBe('hostname')
    expect(stack.services.payment!.environment!.SAGA_RUNNER).toBeUndefined()
    expect(stack.services.inventory!.environment!.SAGA_RUNNER).toBeUndefined()
  })
})

describe('selectWithDependencies', () => {
  it.each([
    [['order'], ['nats', 'order', 'payment']],
    [['payment'], ['payment']],
    [
      ['search', 'payment'],
      ['payment', 'search'],
    ],
  ])('%j -> %j', (names, expected) => {
    expect(selectWithDependencies(SHOP, names)).toEqual(expected)
  })
})

describe('a postgres service and its database', () => {
  const PG = ws(`name: shop
services:
  order:
    capabilities: [http, events]
    ports: { http: 3001 }
    store: postgres
    publishes: [order.created]
  stock-keeping:
    capabilities: [grpc]
    ports: { http: 3002, grpc: 50051 }
    store: postgres
    database: { image: 'postgres:15' }
  memo:
    capabilities: [http]
    ports: { http: 3003 }
events:
  order.created: { schema: { id: string } }
`)

  it('gets <service>-db: healthcheck over TCP, a named volume, DATABASE_URL and a gate in depends_on', () => {
    const stack = buildComposeStack(PG)
    expect(stack.services['order-db']).toMatchObject({
      image: 'postgres:17',
      labels: { 'msvc.workspace': 'shop', 'msvc.service': 'order-db' },
      environment: { POSTGRES_USER: 'order', POSTGRES_PASSWORD: 'order-dev', POSTGRES_DB: 'order' },
      healthcheck: { test: ['CMD-SHELL', 'pg_isready -h 127.0.0.1 -U order -d order'] },
      volumes: ['order-db-data:/var/lib/postgresql/data'],
    })
    expect(stack.services['order-db']!.ports).toEqual(['127.0.0.1::5432'])
    expect(stack.services.order!.environment!.DATABASE_URL).toBe(
      'postgres://order:order-dev@order-db:5432/order',
    )
    expect(stack.services.order!.depends_on).toEqual({
      nats: { condition: 'service_healthy' },
      'order-db': { condition: 'service_healthy' },
    })
    expect(stack.services['stock-keeping-db']).toMatchObject({
      image: 'postgres:15',
      environment: { POSTGRES_USER: 'stock_keeping', POSTGRES_DB: 'stock_keeping' },
    })
    expect(stack.services['memo-db']).toBeUndefined()
    expect(stack.services.memo!.environment!.DATABASE_URL).toBeUndefined()
    expect(Object.keys(stack.volumes!)).toEqual(['nats-data', 'order-db-data', 'stock-keeping-db-data'])
  })

  it('starts a database with its service, and stack commands know its name', () => {
    expect(selectWithDependencies(PG, ['stock-keeping'])).toEqual(['stock-keeping', 'stock-keeping-db'])
    expect(listStackNames(PG)).toEqual([
      'memo',
      'order',
      'stock-keeping',
      'nats',
      'order-db',
      'stock-keeping-db',
    ])
    expect(stackMember(PG, 'order-db')).toEqual({
      kind: 'database',
      name: 'order-db',
      owner: 'order',
      ports: [5432],
    })
    expect(stackMember(PG, 'memo-db')).toBeUndefined()
    expect(stackMember(PG, 'order')).toMatchObject({ kind: 'service', ports: [3001], httpPort: 3001 })
  })
})
