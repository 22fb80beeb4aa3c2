import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { HealthRegistry, keepReadyFile } from './health.js'

const dirs: string[] = []
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})

const exists = (p: string) =>
  stat(p).then(
    (s) => s.mtimeMs,
    () => undefined,
  )

async function until(ok: () => Promise<boolean>, ms = 2000) {
  const deadline = Date.now() + ms
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error('not within the time')
    await new Promise((r) => setTimeout(r, 10))
  }
}

describe('keepReadyFile', () => {
  it('rewrites the file while ready, removes it while not, and when stopped', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kit-ready-'))
    dirs.push(dir)
    const file = join(dir, 'ready')
    const health = new HealthRegistry()
    let dbUp = true
    health.addReadinessCheck('db', () => dbUp)
    const stop = keepReadyFile(health, file, { everyMs: 20, contents: '3001' })
    await until(async () => (await exists(file)) !== undefined)
    expect(await readFile(file, 'utf8')).toBe('3001')
    // rewritten: its time moves on
    const first = (await exists(file))!
    await until(async () => ((await exists(file)) ?? 0) > first)
    dbUp = false
    await until(async () => (await exists(file)) === undefined)
    dbUp = true
    await until(async () => (await exists(file)) !== undefined)
    // shutting down is not ready
    health.markShuttingDown()
    await until(async () => (await exists(file)) === undefined)
    await stop()
    expect(await exists(file)).toBeUndefined()
  })

  it('says once why it cannot write the file, and keeps trying', async () => {
    const warned: unknown[] = []
    const stop = keepReadyFile(new HealthRegistry(), '/nonexistent-dir/ready', {
      everyMs: 10,
      logger: { warn: (o: unknown) => void warned.push(o) },
    })
    await new Promise((r) => setTimeout(r, 100))
    await stop()
    expect(warned).toHaveLength(1)
    expect(warned[0]).toMatchObject({ path: '/nonexistent-dir/ready' })
  })
})
