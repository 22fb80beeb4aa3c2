// The bare peer of bench/saga.mjs: POST /orders doing place-order's work without the saga. The
// bench copies this file into the generated order service (src/bench-bare.ts) and bundles it as
// the service's own main.ts is bundled (esbuild, the same options), so that it runs as the owner
// runs: `node dist/bench-bare.js`, with order's environment, on order's database.
// Its handler creates the order, then makes the saga's three calls in sequence with the clients
// the generated code builds (inventory's ReserveInventory over gRPC, payment's POST
// /payments/charge over HTTP, order's own confirm in process), each with an idempotency key as a
// saga step's (BARE_KEYS=0: without, so that the callees skip their key table), and answers 201
// with the confirmed order. No saga row, no step record, no wait, no compensation: a failed call
// answers 500 and leaves what it did.
// Not part of msvc's build (tsconfig.json excludes it): it is type-checked where it runs, inside the
// generated workspace, by the bench (tsc of the order service).
import { randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { createHttpServer, createLogger, HealthRegistry, Metrics } from '@sagashop/kit'
import { openDatabase } from '@sagashop/kit/db'
import { IDEMPOTENCY_KEY_HEADER } from '@sagashop/kit/idempotency'
import { loadServiceConfig } from './config.js'
import { createDependencies } from './dependencies.js'
import { OrderService } from './domain/order.js'
import { NEW_ORDER_SCHEMA, ORDER_SCHEMA, type NewOrder } from './domain/order.model.js'
import { PgOrderRepository } from './domain/order.pg.js'
import { createGrpcClients } from './grpc-clients.js'

const config = loadServiceConfig()
const keys = process.env.BARE_KEYS !== '0'
const logger = createLogger('order', config.LOG_LEVEL)
const database = await openDatabase({
  url: config.DATABASE_URL,
  migrationsFolder: fileURLToPath(new URL('./drizzle', import.meta.url)),
  logger,
  startupTimeoutMs: config.DATABASE_STARTUP_TIMEOUT,
})
const health = new HealthRegistry()
const metrics = new Metrics('order', { processMetrics: true })
const app = createHttpServer({ service: 'order', logger, metrics, health })
const service = new OrderService(new PgOrderRepository(database.db))
const grpc = createGrpcClients(config, metrics)
const http = createDependencies(config, metrics)
const key = (): Record<string, string> => (keys ? { [IDEMPOTENCY_KEY_HEADER]: randomUUID() } : {})

app.post<{ Body: NewOrder }>(
  '/orders',
  { schema: { body: NEW_ORDER_SCHEMA, response: { 201: ORDER_SCHEMA } } },
  async (request, reply) => {
    const order = await service.create(request.body)
    const reserve = { id: order.productId, sku: order.sku, quantity: order.quantity }
    await grpc.inventory.reserveInventory(reserve, { deadlineMs: 2000, metadata: key() })
    const charged = await http.payment!.call('POST', '/payments/charge', {
      body: { orderId: order.id, amount: order.total },
      headers: key(),
      timeoutMs: 3000,
    })
    if (charged.status < 200 || charged.status >= 300) throw new Error(`charge answered ${charged.status}`)
    const confirmed = await service.confirm(order.id, {})
    return reply.code(201).header('location', `/orders/${order.id}`).send(confirmed)
  },
)

process.on('SIGTERM', () => {
  void app
    .close()
    .then(() => database.close())
    .finally(() => process.exit(0))
})
await app.listen({ port: config.PORT, host: config.HOST })
