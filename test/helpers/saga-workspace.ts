/**
 * The saga shop of test/fixtures/sagas, generated as a user gets it: create-service, msvc.yaml
 * replaced by the fixture's, `msvc sync`, the user's rules (test/fixtures/sagas/user) copied over
 * the files msvc wrote once, then npm install. Shared by the saga generation tests (integration,
 * and the Docker run against PostgreSQL).
 */
import { cp, copyFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { execa } from 'execa'
import { createService, msvc } from './cli.js'

const FIXTURE = fileURLToPath(new URL('../fixtures/sagas/', import.meta.url))

/** Runs a command in the workspace; throws with its output when it fails. */
export async function runIn(cwd: string, cmd: string, args: string[], env: Record<string, string> = {}) {
  const r = await execa(cmd, args, { cwd, reject: false, all: true, env: { CI: '1', NO_COLOR: '1', ...env } })
  if (r.exitCode !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.exitCode}):\n${r.all}`)
  return r.all
}

/** Generates the shop under `parent` (its folder: `<parent>/sagashop`) and installs it. */
export async function generateSagaShop(parent: string): Promise<string> {
  const created = await createService(
    ['sagashop', '--name', 'sagashop', '--yes', '--service', 'order', '--http', '--port', '3201'],
    { cwd: parent },
  )
  if (created.exitCode !== 0) throw new Error(`create-service failed: ${created.stderr}`)
  const ws = join(parent, 'sagashop')
  await copyFile(join(FIXTURE, 'msvc.yaml'), join(ws, 'msvc.yaml'))
  const synced = await msvc(['sync'], { cwd: ws })
  if (synced.exitCode !== 0) throw new Error(`msvc sync failed: ${synced.stderr}`)
  await cp(join(FIXTURE, 'user'), ws, { recursive: true })
  await runIn(ws, 'npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'])
  return ws
}
