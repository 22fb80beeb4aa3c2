// The bus's connection: connect (retrying until the broker is there), watch it, make sure the
// workspace's stream exists, and drain on close.
import {
  RetentionPolicy,
  StorageType,
  jetstream,
  jetstreamManager,
  type JetStreamClient,
} from '@nats-io/jetstream'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import type { Logger } from '../logger.js'
import { subjects } from './envelope.js'

export const NS = 1_000_000
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export interface ConnectionOptions {
  workspace: string
  service: string
  /** parsed NATS_URL (comma-separated servers) */
  url: string
  logger: Logger
  publishTimeoutMs?: number
  retentionMs?: number
}

export class BrokerConnection {
  nc?: NatsConnection
  js?: JetStreamClient
  /** why it is not connected ('' while it is) */
  lastError = 'not connected yet'
  /** close() was called: no new publish, no new delivery handled */
  stopping = false
  readonly stream: string

  constructor(private readonly opts: ConnectionOptions) {
    this.stream = subjects.stream(opts.workspace)
  }

  get connected(): boolean {
    return this.nc !== undefined && !this.nc.isClosed() && this.lastError === ''
  }

  /** Connects, retrying until it succeeds or close() is called; then the stream. False when closed first. */
  async open(): Promise<boolean> {
    const log = this.opts.logger
    for (let attempt = 1; !this.stopping; attempt++) {
      try {
        this.nc = await connect({
          servers: this.opts.url.split(','),
          name: this.opts.service,
          timeout: 2000,
          maxReconnectAttempts: -1,
          reconnectTimeWait: 250,
          pingInterval: 5000,
          // no stack capture per request: it costs more than the publish itself, and our errors
          // carry their own context (type, event id, cause)
          noAsyncTraces: true,
        })
        break
      } catch (e) {
        this.lastError = `cannot reach the broker at ${this.opts.url}: ${(e as Error).message}`
        if (attempt === 1 || attempt % 10 === 0) log.warn({ attempt }, `${this.lastError}; retrying`)
        await sleep(Math.min(5000, 250 * attempt))
      }
    }
    const nc = this.nc
    if (!nc) return false
    this.lastError = ''
    void this.watchStatus(nc)
    this.js = jetstream(nc, { timeout: this.opts.publishTimeoutMs ?? 5000 })
    try {
      await this.ensureStream()
    } catch (e) {
      throw new Error(
        `cannot create the stream ${this.stream} on ${this.opts.url} (${(e as Error).message}); is JetStream on (nats-server -js)?`,
      )
    }
    log.info({ url: this.opts.url, stream: this.stream }, 'event bus connected')
    return true
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        this.lastError = `lost the broker connection (${this.opts.url})`
        this.opts.logger.warn(this.lastError)
      } else if (s.type === 'reconnect') {
        this.lastError = ''
        this.opts.logger.info({ url: this.opts.url }, 'broker connection back')
      }
    }
  }

  private async ensureStream(): Promise<void> {
    const jsm = await jetstreamManager(this.nc!)
    const ws = this.opts.workspace
    try {
      await jsm.streams.add({
        name: this.stream,
        subjects: [subjects.allEvents(ws), subjects.allDeadLetters(ws)],
        retention: RetentionPolicy.Limits,
        storage: StorageType.File,
        max_age: (this.opts.retentionMs ?? 7 * 24 * 3600_000) * NS,
        duplicate_window: 120_000 * NS,
      })
    } catch (e) {
      // another service created it first (or with other limits): using it is fine
      await jsm.streams.info(this.stream).catch(() => {
        throw e
      })
    }
  }

  /** Drains the connection (pending publishes and acks flushed); without the broker, closes it. */
  async drain(): Promise<void> {
    const nc = this.nc
    if (nc && !nc.isClosed()) await nc.drain().catch(() => nc.close())
  }
}
