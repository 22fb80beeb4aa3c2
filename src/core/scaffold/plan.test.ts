import { describe, expect, it } from 'vitest'
import { parseWorkspace } from '../workspace/parse.js'
import { toTemplateVars } from './plan.js'

// docs/templates.md: what a service template sees.
const YAML = `name: shop-eu
services:
  order-items:
    capabilities: [http, grpc, events]
    ports: { http: 3001, grpc: 50051 }
    calls: [payment]
    publishes: [order.created]
  payment:
    capabilities: [http, grpc]
    ports: { http: 3002, grpc: 50052 }
events:
  order.created:
    schema: { id: string }
`

describe('toTemplateVars', () => {
  it('gives the workspace, the service in every case, its capabilities, ports, events and callees, and the runtime', () => {
    const parsed = parseWorkspace(YAML)
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems))
    const v = toTemplateVars(parsed.workspace, 'order-items', '1.2.3')
    expect(v.msvcVersion).toBe('1.2.3')
    expect(v.runtime.defaultImage).toBe('node:24-slim')
    expect(v.workspace).toEqual({
      name: 'shop-eu',
      kitPackage: '@shop-eu/kit',
      clientsPackage: '@shop-eu/clients',
    })
    expect(v.service).toMatchObject({
      http: true,
      grpc: true,
      events: true,
      resource: 'order-items',
      entity: 'OrderItem',
      entityCamel: 'orderItem',
      protoPackage: 'shop_eu.order_items.v1',
      ports: { http: 3001, grpc: 50051 },
      publishes: [expect.objectContaining({ type: 'order.created' })],
      subscribes: [],
      calls: [
        expect.objectContaining({
          ports: { http: 3002, grpc: 50052 },
          grpc: true,
          env: expect.objectContaining({ url: 'PAYMENT_URL', grpcAddress: 'PAYMENT_GRPC_ADDRESS' }),
        }),
      ],
    })
    expect(v.service.resourcePascal).toBe('OrderItems')
  })
})
