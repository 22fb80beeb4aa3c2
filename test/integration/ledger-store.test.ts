// The restore ledger on a real file system (docs/chaos.md, The restore ledger): written whole
// (temp file + rename) under a lock file, so concurrent writers lose nothing; a lock left by a
// dead msvc, or too old, is taken over.
import { spawnSync } from 'node:child_process'
import { mkdir, readdir, rm, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { LedgerEntry } from '../../src/core/chaos/ledger.js'
import { readLedger, updateLedger } from '../../src/io/chaos/ledger-store.js'
import { makeTempDir } from '../helpers/temp-dir.js'

const entry = (id: string): LedgerEntry =>
  ({
    id,
    service: 'web',
    spec: { kind: 'loss', percent: 10 },
    targets: [],
    ports: [3001],
    appliedAt: new Date().toISOString(),
    state: 'active',
  }) as unknown as LedgerEntry

describe('ledger store', () => {
  let root = ''
  beforeEach(async () => {
    root = await makeTempDir('msvc-ledger-')
  })
  afterEach(async () => {
    await rm(root, { recursive: true, force: true })
  })

  it('20 concurrent writers: every entry is kept, no temp or lock file is left', async () => {
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        updateLedger(root, async (l) => {
          await new Promise((r) => setTimeout(r, Math.random() * 5))
          l.faults.push(entry(`f${i}`))
        }),
      ),
    )
    const ids = (await readLedger(root)).faults.map((f) => f.id).sort()
    expect(ids).toEqual(Array.from({ length: 20 }, (_, i) => `f${i}`).sort())
    expect(await readdir(join(root, '.msvc'))).toEqual(['chaos-ledger.json'])
  })

  it('takes over a lock whose holder is dead, at once', async () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!
    await mkdir(join(root, '.msvc'), { recursive: true })
    await writeFile(join(root, '.msvc/chaos-ledger.lock'), String(dead))
    const t0 = Date.now()
    await updateLedger(root, (l) => l.faults.push(entry('after-crash')))
    expect(Date.now() - t0).toBeLessThan(1000)
    expect((await readLedger(root)).faults.map((f) => f.id)).toEqual(['after-crash'])
  })

  it('takes over a lock older than 10 s even when its holder lives', async () => {
    await mkdir(join(root, '.msvc'), { recursive: true })
    const lock = join(root, '.msvc/chaos-ledger.lock')
    await writeFile(lock, String(process.ppid))
    const old = new Date(Date.now() - 11_000)
    await utimes(lock, old, old)
    const t0 = Date.now()
    await updateLedger(root, (l) => l.faults.push(entry('stale-lock')))
    expect(Date.now() - t0).toBeLessThan(1000)
    expect((await readLedger(root)).faults.map((f) => f.id)).toEqual(['stale-lock'])
  })

  it('waits for a live, fresh lock (up to 5 s) instead of writing beside it', async () => {
    await mkdir(join(root, '.msvc'), { recursive: true })
    const lock = join(root, '.msvc/chaos-ledger.lock')
    await writeFile(lock, String(process.ppid))
    setTimeout(() => void rm(lock, { force: true }), 300)
    const t0 = Date.now()
    await updateLedger(root, (l) => l.faults.push(entry('waited')))
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250)
    expect((await readLedger(root)).faults.map((f) => f.id)).toEqual(['waited'])
  })
})
