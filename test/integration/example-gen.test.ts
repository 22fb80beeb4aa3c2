// Issue #20: `create-service <dir> --example ecommerce` writes the course's shop from one msvc.yaml
// through the same generators as everything else (in step with `msvc sync --check`), with the
// example's own files over the ones msvc writes once, renamed to the workspace's scope. The Docker
// run, the journey and the services' own tests are in test/e2e/example-shop.test.ts.
import { readdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { createService, msvc } from '../helpers/cli.js'
import { makeTempDir, treeHash } from '../helpers/temp-dir.js'

describe('create-service --example ecommerce', () => {
  let parent: string
  let ws: string

  beforeAll(async () => {
    parent = await makeTempDir('msvc-example-gen-')
    const r = await createService(['emporium', '--example', 'ecommerce'], { cwd: parent })
    expect(r.exitCode, r.stderr).toBe(0)
    ws = join(parent, 'emporium')
  }, 120_000)

  afterAll(async () => {
    if (parent) await rm(parent, { recursive: true, force: true })
  })

  it('writes the seven services of the course from one msvc.yaml, in step with msvc sync', async () => {
    const model = parse(await readFile(join(ws, 'msvc.yaml'), 'utf8'))
    expect(model.name).toBe('emporium')
    expect(Object.keys(model.services).sort()).toEqual([
      'gateway',
      'inventory',
      'notification',
      'order',
      'payment',
      'product',
      'user',
    ])
    expect(Object.keys(model.sagas)).toEqual(['place-order'])
    const ls = await msvc(['ls', '--json'], { cwd: ws })
    expect(ls.exitCode, ls.stderr).toBe(0)
    const listed = JSON.parse(ls.stdout) as { services: { name: string; replicas: number }[] }
    const replicas = Object.fromEntries(listed.services.map((s) => [s.name, s.replicas]))
    expect(replicas).toMatchObject({ order: 2, payment: 2, user: 1, gateway: 1 })
    const check = await msvc(['sync', '--check'], { cwd: ws })
    expect(check.exitCode, check.stdout + check.stderr).toBe(0)
    // each postgres service starts from one migration made for its whole model
    for (const s of ['inventory', 'notification', 'order', 'payment', 'product', 'user'])
      expect((await readdir(join(ws, 'services', s, 'drizzle'))).filter((f) => f.endsWith('.sql'))).toEqual([
        '0000_init.sql',
      ])
    // the gateway's development secret, which login signs with too
    expect(await readFile(join(ws, '.env'), 'utf8')).toMatch(/^MSVC_JWT_SECRET=\S{32,}$/m)
  })

  it("puts the example's own files over msvc's, in the workspace's scope", async () => {
    const user = await readFile(join(ws, 'services/user/src/domain/user.ts'), 'utf8')
    expect(user).toContain("import { signToken } from '@emporium/kit/gateway'")
    expect(user).not.toContain('@shop/')
    for (const f of ['README.md', 'load/shop.yaml', 'experiments/payment-outage.yaml'])
      expect((await readFile(join(ws, f), 'utf8')).length).toBeGreaterThan(100)
    const handlers = await readFile(join(ws, 'services/notification/src/events/handlers.ts'), 'utf8')
    expect(handlers).toContain("kind: 'welcome'")
  })

  it("never answers the user's password hash: the response schema leaves it out", async () => {
    const model = await readFile(join(ws, 'services/user/src/domain/user.model.ts'), 'utf8')
    const answered = /export const USER_ANSWERED_FIELDS = \{([\s\S]*?)\} as const/.exec(model)?.[1]
    expect(answered).toMatch(/email/)
    expect(answered).not.toMatch(/passwordHash/)
    expect(model).toMatch(/\.\.\.USER_ANSWERED_FIELDS,/)
    expect(model).toMatch(/USER_COUNT_FILTERS = \['email', 'name'\]/)
  })

  it('refuses an unknown example, and service flags beside one, writing nothing', async () => {
    const before = await treeHash(parent)
    const unknown = await createService(['other', '--example', 'bank'], { cwd: parent })
    expect(unknown.exitCode).toBe(1)
    expect(unknown.stderr).toMatch(/there is no example "bank"/)
    expect(unknown.stderr).toMatch(/hint: known: ecommerce/)
    const flags = await createService(['other', '--example', 'ecommerce', '--grpc-port', '50099'], {
      cwd: parent,
    })
    expect(flags.exitCode).toBe(1)
    expect(flags.stderr).toMatch(
      /--example ecommerce writes its own services: --grpc-port has no place beside it/,
    )
    const dry = await createService(['other', '--example', 'ecommerce', '--dry-run'], { cwd: parent })
    expect(dry.exitCode, dry.stderr).toBe(0)
    expect(dry.stdout).toMatch(/services\/payment\/src\/domain\/payment\.ts/)
    expect(await treeHash(parent)).toBe(before)
  })
})
