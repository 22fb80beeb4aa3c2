/**
 * A stand-in for a generated service's event side, built on the kit's own event bus (the same
 * sources the workspace template ships). Bundled by esbuild and run as a child process.
 *
 * WORKER_CONFIG (JSON) says what to do:
 * - consume: handle `type`, appending "<n> <id>" to `effects` for every event applied; data.fail
 *   makes the handler throw (a poison event). With `seen`, handled ids are kept in that file (the
 *   kit's FileSeenIds) and, as docs/events.md advises, the effect itself carries the event id: ids
 *   already in `effects` count as handled too, which closes the gap of a kill between the effect
 *   and the kit's record of it.
 * - publish: publish `count` events of `type` ({ n }), appending "<n> <id>" to `acked` for each
 *   acknowledged one and "<n> <error>" to `failed` for each refused one.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs'
import {
  EventBus,
  FileSeenIds,
  MemorySeenIds,
  type SeenIds,
} from '../../templates/workspace/files/packages/kit/src/events/index.js'
import { createLogger } from '../../templates/workspace/files/packages/kit/src/logger.js'

interface WorkerConfig {
  role: 'consume' | 'publish'
  url: string
  workspace: string
  service: string
  type: string
  effects?: string
  seen?: string
  acked?: string
  failed?: string
  count?: number
  /** publishes in flight at once */
  window?: number
  maxDeliveries?: number
  ackWaitMs?: number
  publishTimeoutMs?: number
  /** the n of one published event that carries fail: true */
  poison?: number
  /** how long the handler works on each event */
  handlerDelayMs?: number
}

const cfg = JSON.parse(process.env.WORKER_CONFIG ?? '{}') as WorkerConfig
const logger = createLogger(cfg.service, process.env.LOG_LEVEL ?? 'warn', undefined)
const schema = { n: 'integer', fail: 'boolean?' }
const bus = new EventBus<Record<string, { n: number; fail?: boolean }>>({
  workspace: cfg.workspace,
  service: cfg.service,
  url: cfg.url,
  schemas: { [cfg.type]: schema },
  logger,
  maxDeliveries: cfg.maxDeliveries ?? 5,
  backoff: { baseMs: 10, maxMs: 100 },
  ackWaitMs: cfg.ackWaitMs ?? 30_000,
  publishTimeoutMs: cfg.publishTimeoutMs ?? 5000,
  seenIds: cfg.seen ? withEffects(new FileSeenIds(cfg.seen), cfg.effects) : new MemorySeenIds(),
})

/** `ids`, plus the ids already recorded with their effect (the second word of each line). */
function withEffects(ids: SeenIds, effects: string | undefined): SeenIds {
  const applied = new Set<string>()
  if (effects && existsSync(effects))
    for (const line of readFileSync(effects, 'utf8').split('\n')) {
      const id = line.split(' ')[1]
      if (id) applied.add(id)
    }
  return { has: (id) => applied.has(id) || ids.has(id), add: (id) => ids.add(id) }
}

process.once('SIGTERM', () => {
  void bus.close().then(() => process.exit(0))
})

if (cfg.role === 'consume') {
  bus.subscribe(cfg.type, async (data, event) => {
    if (data.fail) throw new Error(`poison event ${data.n}`)
    if (cfg.handlerDelayMs) await new Promise((r) => setTimeout(r, cfg.handlerDelayMs))
    appendFileSync(cfg.effects!, `${data.n} ${event.id}\n`)
  })
  await bus.start()
  process.stdout.write('ready\n')
} else {
  await bus.start()
  process.stdout.write('ready\n')
  const count = cfg.count ?? 0
  let next = 0
  const one = async () => {
    for (let n = next++; n < count; n = next++) {
      try {
        const e = await bus.publish(cfg.type, n === cfg.poison ? { n, fail: true } : { n })
        appendFileSync(cfg.acked!, `${n} ${e.id}\n`)
      } catch (err) {
        appendFileSync(cfg.failed!, `${n} ${(err as Error).message}\n`)
      }
    }
  }
  await Promise.all(Array.from({ length: cfg.window ?? 1 }, one))
  await bus.close()
  process.exit(0)
}
