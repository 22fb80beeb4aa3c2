import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { parse } from 'yaml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createService, msvc } from '../helpers/cli.js'
import { makeTempDir } from '../helpers/temp-dir.js'

// Issue 13, item 2: compose wrote ORDER_GRPC_ADDR while the generated config read
// ORDER_GRPC_ADDRESS, so the address compose set was never read. Both must use the same names.

let tmp: string
let root: string

beforeAll(async () => {
  tmp = await makeTempDir('msvc-callee-env-')
  const created = await createService(['shop', '--yes', '--service', 'order', '--http', '--grpc'], {
    cwd: tmp,
  })
  expect(created.exitCode, created.stderr).toBe(0)
  root = join(tmp, 'shop')
  const added = await msvc(['add', 'checkout', '--yes', '--http', '--calls', 'order'], { cwd: root })
  expect(added.exitCode, added.stderr).toBe(0)
}, 60_000)

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true })
})

/** The keys of the generated CONFIG_SPEC object, in source order. */
function configKeys(source: string): string[] {
  const body = /export const CONFIG_SPEC = \{([\s\S]*?)\n\}/.exec(source)
  expect(body, 'config.ts has no CONFIG_SPEC object').not.toBeNull()
  return [...body![1]!.matchAll(/^ {2}([A-Z][A-Z0-9_]*):/gm)].map((m) => m[1]!)
}

describe('env names for a callee', () => {
  it('are the ones the caller config reads, for HTTP and gRPC', async () => {
    const r = await msvc(['compose', '--stdout'], { cwd: root })
    expect(r.exitCode, r.stderr).toBe(0)
    const written = Object.keys(parse(r.stdout).services.checkout.environment as object)
    const calleeWritten = written.filter((k) => k.startsWith('ORDER_'))
    expect(calleeWritten.sort()).toEqual(['ORDER_GRPC_ADDRESS', 'ORDER_URL'])
    const read = configKeys(await readFile(join(root, 'services/checkout/src/config.ts'), 'utf8'))
    expect(read.filter((k) => k.startsWith('ORDER_')).sort()).toEqual(calleeWritten.sort())
    // every name compose writes is one the service reads (SERVICE_NAME comes from the kit, the
    // standard OTEL_* variables are read by the kit's tracing: issue #18; MSVC_READY_FILE by main.ts)
    const main = await readFile(join(root, 'services/checkout/src/main.ts'), 'utf8')
    expect(main).toContain('process.env.MSVC_READY_FILE')
    const byKit = (k: string) => k === 'SERVICE_NAME' || k === 'MSVC_READY_FILE' || k.startsWith('OTEL_')
    expect(written.filter((k) => !read.includes(k) && !byKit(k))).toEqual([])
  })

  it("default to the callee's name and ports on the compose network, the values compose sets", async () => {
    const config = await readFile(join(root, 'services/checkout/src/config.ts'), 'utf8')
    expect(config).toContain("ORDER_URL: env.url('http://order:3001')")
    expect(config).toContain("ORDER_GRPC_ADDRESS: env.string('order:50051')")
    const r = await msvc(['compose', '--stdout'], { cwd: root })
    expect(parse(r.stdout).services.checkout.environment).toMatchObject({
      ORDER_URL: 'http://order:3001',
      ORDER_GRPC_ADDRESS: 'order:50051',
    })
  })
})
