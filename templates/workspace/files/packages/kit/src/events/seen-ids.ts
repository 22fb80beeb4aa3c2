import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs'
import { dirname } from 'node:path'

/**
 * The ids of events a service has handled, so a redelivered event is acknowledged without
 * running its handler again. The kit records an id right after the handler resolves and before
 * the ack; a handler whose effect lives in a database should store `event.id` in the same
 * transaction as the effect to close the gap between the two (see docs/events.md).
 */
export interface SeenIds {
  has(id: string): boolean
  add(id: string): void
}

/** In memory, bounded (oldest forgotten first): enough for redeliveries within one process's life. */
export class MemorySeenIds implements SeenIds {
  private readonly ids = new Set<string>()
  constructor(private readonly capacity = 100_000) {}
  has(id: string): boolean {
    return this.ids.has(id)
  }
  add(id: string): void {
    this.ids.add(id)
    if (this.ids.size > this.capacity) {
      const oldest = this.ids.values().next().value
      if (oldest !== undefined) this.ids.delete(oldest)
    }
  }
}

/**
 * An append-only file of ids (one a line), read back at start: survives a crash or SIGKILL of
 * the process. Writes are synchronous so an id is on disk before its event is acknowledged.
 */
export class FileSeenIds implements SeenIds {
  private readonly memory: MemorySeenIds
  constructor(
    private readonly path: string,
    capacity = 1_000_000,
  ) {
    this.memory = new MemorySeenIds(capacity)
    mkdirSync(dirname(path), { recursive: true })
    if (existsSync(path))
      for (const line of readFileSync(path, 'utf8').split('\n')) if (line) this.memory.add(line)
  }
  has(id: string): boolean {
    return this.memory.has(id)
  }
  add(id: string): void {
    appendFileSync(this.path, `${id}\n`)
    this.memory.add(id)
  }
}
