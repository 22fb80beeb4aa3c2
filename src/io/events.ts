import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { UserError } from '../errors.js'

/** One message read from the workspace's stream. */
export interface StoredEvent {
  subject: string
  seq: number
  /** when the broker stored it (ISO 8601) */
  time: string
  data: string
}

export interface Broker {
  nc: NatsConnection
  js: JetStreamClient
  jsm: JetStreamManager
  close: () => Promise<void>
}

/** Connects to the broker at `url` (nats://host:port); a bad URL or no answer is a UserError. */
export async function connectBroker(url: string, timeoutMs = 3000): Promise<Broker> {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new UserError(`${JSON.stringify(url)} is not a broker URL`, 'pass --server nats://127.0.0.1:4222')
  }
  if (parsed.protocol !== 'nats:' && parsed.protocol !== 'tls:')
    throw new UserError(
      `broker URL ${JSON.stringify(url)} must start with nats:// or tls://`,
      'pass --server nats://127.0.0.1:4222',
    )
  let nc: NatsConnection
  try {
    nc = await connect({ servers: url, timeout: timeoutMs, maxReconnectAttempts: 0 })
  } catch (e) {
    throw new UserError(
      `cannot reach the broker at ${url}: ${(e as Error).message}`,
      'start the stack with `msvc up` (NATS is published on 127.0.0.1:4222), or pass --server',
    )
  }
  const jsm = await jetstreamManager(nc).catch(async (e: Error) => {
    await nc.close()
    throw new UserError(`the broker at ${url} has no JetStream: ${e.message}`, 'run nats-server with -js')
  })
  return { nc, js: jetstream(nc), jsm, close: () => nc.close() }
}

/** True when `stream` exists on the broker. */
export async function hasStream(b: Broker, stream: string): Promise<boolean> {
  return b.jsm.streams.info(stream).then(
    () => true,
    () => false,
  )
}

/** Every message on `subject` (wildcards allowed) stored in `stream` right now, oldest first, at most `max`. */
export async function readSubject(
  b: Broker,
  stream: string,
  subject: string,
  max = 10_000,
): Promise<StoredEvent[]> {
  const info = await b.jsm.consumers.add(stream, {
    filter_subject: subject,
    ack_policy: AckPolicy.None,
    deliver_policy: DeliverPolicy.All,
    inactive_threshold: 10_000_000_000,
  })
  const want = Math.min(max, info.num_pending)
  const out: StoredEvent[] = []
  try {
    const consumer = await b.js.consumers.get(stream, info.name)
    while (out.length < want) {
      const batch = await consumer.fetch({ max_messages: Math.min(500, want - out.length), expires: 2000 })
      let got = 0
      for await (const m of batch) {
        got++
        out.push({ subject: m.subject, seq: m.seq, time: m.time.toISOString(), data: m.string() })
      }
      if (got === 0) break
    }
  } finally {
    await b.jsm.consumers.delete(stream, info.name).catch(() => undefined)
  }
  return out
}

/** Calls `onEvent` for every new message on `subject` until `signal` aborts. */
export async function tailSubject(
  b: Broker,
  stream: string,
  subject: string,
  onEvent: (e: StoredEvent) => void,
  signal: AbortSignal,
): Promise<void> {
  const info = await b.jsm.consumers.add(stream, {
    filter_subject: subject,
    ack_policy: AckPolicy.None,
    deliver_policy: DeliverPolicy.New,
    inactive_threshold: 10_000_000_000,
  })
  const consumer = await b.js.consumers.get(stream, info.name)
  const messages = await consumer.consume({ max_messages: 100 })
  const stop = () => void messages.close()
  if (signal.aborted) stop()
  signal.addEventListener('abort', stop, { once: true })
  try {
    for await (const m of messages)
      onEvent({ subject: m.subject, seq: m.seq, time: m.time.toISOString(), data: m.string() })
  } finally {
    signal.removeEventListener('abort', stop)
    await b.jsm.consumers.delete(stream, info.name).catch(() => undefined)
  }
}
