/**
 * The files a load run reads besides msvc.yaml: a scenario (`-f`) and a chaos journal or restore
 * ledger (`--chaos-journal`), each read and parsed, or a UserError naming the file.
 */
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import type { Journal } from '../../core/chaos/journal.js'
import { parseLedger, type Ledger } from '../../core/chaos/ledger.js'
import { parseScenario, type Scenario } from '../../core/loadtest/scenario.js'
import { UserError } from '../../errors.js'

export async function readScenarioFile(cwd: string, file: string): Promise<Scenario> {
  const text = await readFile(resolve(cwd, file), 'utf8').catch(() => {
    throw new UserError(`cannot read scenario ${file}`)
  })
  const parsed = parseScenario(text)
  if (!parsed.ok) {
    const more =
      parsed.problems.length > 1
        ? `${parsed.problems.length - 1} more: ${parsed.problems.slice(1, 4).join('; ')}`
        : undefined
    throw new UserError(
      `${file}: ${parsed.problems[0]}`,
      [parsed.hint, more].filter(Boolean).join('; ') || undefined,
    )
  }
  return parsed.scenario
}

/** A chaos journal (`msvc chaos run --journal`) or a restore ledger, whose faults mark a report's timelines. */
export async function readChaosSource(cwd: string, file: string): Promise<Journal | Ledger> {
  const text = await readFile(resolve(cwd, file), 'utf8').catch(() => {
    throw new UserError(`cannot read ${file}`)
  })
  try {
    const data = JSON.parse(text) as { method?: unknown; faults?: unknown }
    if (Array.isArray(data.method)) return data as Journal
    if (Array.isArray(data.faults)) return parseLedger(text).ledger
  } catch {
    /* reported below */
  }
  throw new UserError(
    `${file} is neither a chaos journal nor a restore ledger`,
    'use the file of `msvc chaos run --journal` or .msvc/chaos-ledger.json',
  )
}
