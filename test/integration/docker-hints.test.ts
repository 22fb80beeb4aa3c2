import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createService, msvc } from '../helpers/cli.js'
import { makeTempDir } from '../helpers/temp-dir.js'

// Issue 13, item 4: with no engine, msvc told users to run `sudo bash ../shared/ci/docker-env.sh`,
// a file of this repository's CI. The hints now name what a user has.

let tmp: string
let root: string
/** a socket path nothing listens on */
let env: Record<string, string>

beforeAll(async () => {
  tmp = await makeTempDir('msvc-docker-hints-')
  env = { DOCKER_HOST: `unix://${join(tmp, 'dead.sock')}` }
  const created = await createService(['shop', '--yes', '--service', 'order', '--http'], { cwd: tmp })
  expect(created.exitCode, created.stderr).toBe(0)
  root = join(tmp, 'shop')
}, 60_000)

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true })
})

describe('no Docker engine', () => {
  it('msvc ps fails in one line that says how to start or install Docker', async () => {
    const r = await msvc(['ps'], { cwd: root, env })
    expect(r.exitCode).toBe(1)
    expect(r.stderr).toContain(`cannot reach the Docker engine at ${env.DOCKER_HOST} (ENOENT)`)
    expect(r.stderr).toContain('sudo systemctl start docker')
    expect(r.stderr).toContain('https://docs.docker.com/engine/install/')
    expect(r.stderr).not.toContain('docker-env.sh')
  })

  it('msvc doctor reports the engine with the same hint', async () => {
    const r = await msvc(['doctor', '--json'], { cwd: root, env })
    expect(r.exitCode).toBe(2) // it ran, and found a problem
    const checks = JSON.parse(r.stdout) as { name: string; ok: boolean; fix?: string }[]
    const engine = checks.find((c) => c.name === 'docker engine')
    expect(engine?.ok).toBe(false)
    expect(engine?.fix).toContain('sudo systemctl start docker')
    expect(engine?.fix).toContain('https://docs.docker.com/engine/install/')
    expect(r.stdout + r.stderr).not.toContain('docker-env.sh')
  })
})
