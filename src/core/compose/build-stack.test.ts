import { describe, expect, it } from 'vitest'
import { parseWorkspace } from '../workspace/parse.js'
import type { Workspace } from '../workspace/model.js'
import { buildComposeStack, renderComposeYaml, selectWithDependencies } from './build-stack.js'

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
