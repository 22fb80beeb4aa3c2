import { mkdir, open, readFile, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { writeFileAtomic } from '../fs.js'
import { EMPTY_LEDGER, parseLedger, type Ledger } from '../../core/chaos/ledger.js'

export const LEDGER_DIR = '.msvc'
export const LEDGER_FILE = 'chaos-ledger.json'

export const ledgerPath = (root: string) => join(root, LEDGER_DIR, LEDGER_FILE)

/** The ledger, or an empty one when there is none (the common case: one failed read, no parsing). */
export async function readLedger(root: string): Promise<Ledger> {
  let text: string
  try {
    text = await readFile(ledgerPath(root), 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { ...EMPTY_LEDGER, faults: [] }
    throw e
  }
  return parseLedger(text).ledger
}

/** Atomic write: a temp file beside it, then rename, so a crash leaves the old or the new ledger. */
async function writeLedger(root: string, ledger: Ledger): Promise<void> {
  await writeFileAtomic(ledgerPath(root), JSON.stringify(ledger, null, 2) + '\n')
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Read-modify-write under a lock file (O_EXCL), so two msvc processes (a `--for` in one terminal,
 * `chaos restore` in another) never lose each other's entries. A lock whose holder died, or older
 * than 10 s, is taken over.
 */
export async function updateLedger<T>(root: string, fn: (l: Ledger) => T | Promise<T>): Promise<T> {
  const lock = join(root, LEDGER_DIR, 'chaos-ledger.lock')
  await mkdir(join(root, LEDGER_DIR), { recursive: true })
  const deadline = Date.now() + 5000
  for (;;) {
    try {
      const h = await open(lock, 'wx')
      await h.writeFile(String(process.pid))
      await h.close()
      break
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
      const holder = Number(await readFile(lock, 'utf8').catch(() => ''))
      const age = await stat(lock).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      )
      if ((holder && !isAlive(holder)) || age > 10_000 || Date.now() > deadline)
        await rm(lock, { force: true })
      else await new Promise((r) => setTimeout(r, 5))
    }
  }
  try {
    const ledger = await readLedger(root)
    const result = await fn(ledger)
    await writeLedger(root, ledger)
    return result
  } finally {
    await rm(lock, { force: true })
  }
}

export { isAlive as isProcessAlive }
