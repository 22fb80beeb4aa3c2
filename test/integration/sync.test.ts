import { existsSync } from 'node:fs'
import { readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createService, msvc } from '../helpers/cli.js'
import { makeTempDir, treeHash } from '../helpers/temp-dir.js'

// docs/model.md, msvc sync: the model and the code stay in step; the user's files are theirs.

let tmp: string
let root: string
beforeEach(async () => {
  tmp = await makeTempDir('msvc-sync-')
  const r = await createService(
    ['shop', '--service', 'inventory', '--http', '--grpc', '--fields', 'sku:string!,quantity:integer'],
    { cwd: tmp },
  )
  expect(r.exitCode, r.stderr).toBe(0)
  root = join(tmp, 'shop')
})
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true })
})

const yamlPath = () => join(root, 'msvc.yaml')
const svc = (p: string) => join(root, 'services/inventory', p)
async function editYaml(from: string, to: string) {
  const text = await readFile(yamlPath(), 'utf8')
  expect(text).toContain(from)
  await writeFile(yamlPath(), text.replace(from, to))
}

describe('msvc sync', () => {
  it('is in step right after create-service', async () => {
    const check = await msvc(['sync', '--check'], { cwd: root })
    expect(check.exitCode, check.stderr).toBe(0)
    expect(check.stderr).toMatch(/in step with msvc\.yaml/)
    const sync = await msvc(['sync', '--json'], { cwd: root })
    expect(sync.exitCode, sync.stderr).toBe(0)
    expect(JSON.parse(sync.stdout)).toMatchObject({
      write: [],
      create: [],
      remove: [],
      migrations: [],
      lacking: [],
    })
  })

  it('after a field and an operation: --check exits 2 and writes nothing; sync re-derives, adds a migration, and names what the owned file lacks', async () => {
    await writeFile(
      svc('src/domain/inventory.ts'),
      (await readFile(svc('src/domain/inventory.ts'), 'utf8')) + '// mine\n',
    )
    await editYaml(
      '      quantity: integer\n',
      '      quantity: integer\n      reserved: integer=0\n    operations:\n      reserve: { input: { quantity: integer! } }\n',
    )
    const before = await treeHash(root)
    const first = await readFile(svc('drizzle/0000_init.sql'), 'utf8')
    const check = await msvc(['sync', '--check', '--json'], { cwd: root })
    expect(check.exitCode).toBe(2)
    const stale = JSON.parse(check.stdout) as Record<string, unknown>
    expect(stale).toMatchObject({
      upToDate: false,
      write: expect.arrayContaining([
        'services/inventory/proto/inventory.proto',
        'services/inventory/src/domain/inventory.model.ts',
        'services/inventory/src/http/routes.ts',
      ]),
      create: ['services/inventory/test/domain.test.ts'],
      migrations: ['services/inventory/drizzle/0001_sync.sql'],
      risks: [],
      lacking: [
        expect.stringMatching(
          /src\/domain\/inventory\.ts: add reserve\(id: string, input: ReserveInventoryInput\)/,
        ),
      ],
    })
    expect(await treeHash(root)).toBe(before)

    const sync = await msvc(['sync'], { cwd: root })
    expect(sync.exitCode, sync.stderr).toBe(0)
    expect(sync.stderr).toContain('migrate services/inventory/drizzle/0001_sync.sql')
    expect(sync.stderr).toMatch(/! services\/inventory\/src\/domain\/inventory\.ts: add reserve/)
    // the new column, and the idempotency keys its first operation brings (docs/sagas.md)
    const migration = await readFile(svc('drizzle/0001_sync.sql'), 'utf8')
    expect(migration).toContain(
      'ALTER TABLE "inventories" ADD COLUMN "reserved" bigint DEFAULT 0 NOT NULL;\n',
    )
    expect(migration).toContain('CREATE TABLE "idempotency_keys" (')
    expect(await readFile(svc('drizzle/0000_init.sql'), 'utf8')).toBe(first)
    expect(await readFile(svc('src/http/routes.ts'), 'utf8')).toContain("'/inventories/:id/reserve'")
    // the user's file is as they left it
    expect(await readFile(svc('src/domain/inventory.ts'), 'utf8')).toMatch(/\/\/ mine\n$/)
    // still out of step until the owned file has the method
    expect((await msvc(['sync', '--check'], { cwd: root })).exitCode).toBe(2)
    const owned = await readFile(svc('src/domain/inventory.ts'), 'utf8')
    await writeFile(
      svc('src/domain/inventory.ts'),
      owned
        .replace(
          'import type { InventoryOperations }',
          'import type { Inventory, InventoryOperations, ReserveInventoryInput }',
        )
        .replace(
          'implements InventoryOperations {}',
          'implements InventoryOperations {\n  async reserve(id: string, _input: ReserveInventoryInput): Promise<Inventory> {\n    return this.get(id)\n  }\n}',
        ),
    )
    const again = await msvc(['sync', '--check'], { cwd: root })
    expect(again.exitCode, again.stderr).toBe(0)
  })

  it('records what was in step beside it, and still sees a client or a migration changed by hand', async () => {
    expect((await msvc(['sync'], { cwd: root })).exitCode).toBe(0)
    expect(existsSync(svc('drizzle/meta/msvc-sync.json'))).toBe(true)
    expect(existsSync(join(root, 'packages/clients/msvc-sync.json'))).toBe(true)
    // committed with the workspace: laid out as prettier lays out JSON
    expect(await readFile(join(root, 'packages/clients/msvc-sync.json'), 'utf8')).toMatch(
      /^\{\n {2}"input": "[0-9a-f]{64}",\n {2}"output": "[0-9a-f]{64}"\n\}\n$/,
    )
    const gen = join(root, 'packages/clients/src/gen')
    const [client] = (await readdir(gen, { recursive: true })).filter((f) => f.endsWith('.ts'))
    const clientPath = join(gen, client!)
    const original = await readFile(clientPath, 'utf8')
    await writeFile(clientPath, original + '// edited\n')
    const stale = await msvc(['sync', '--check', '--json'], { cwd: root })
    expect(stale.exitCode).toBe(2)
    expect(JSON.parse(stale.stdout)).toMatchObject({ clients: true })
    expect((await msvc(['sync'], { cwd: root })).exitCode).toBe(0)
    expect(await readFile(clientPath, 'utf8')).toBe(original)
    // the migrations gone: drizzle-kit is asked again, and writes them again
    await rm(svc('drizzle'), { recursive: true })
    const again = await msvc(['sync', '--check', '--json'], { cwd: root })
    expect(again.exitCode).toBe(2)
    expect(JSON.parse(again.stdout)).toMatchObject({
      migrations: expect.arrayContaining([expect.stringMatching(/0000_init\.sql$/)]),
    })
  })

  it('names what a migration may do to stored rows before anyone applies it', async () => {
    await editYaml('      quantity: integer\n', '      note: string!\n')
    const sync = await msvc(['sync', '--json'], { cwd: root })
    expect(sync.exitCode, sync.stderr).toBe(0)
    expect(JSON.parse(sync.stdout)).toMatchObject({
      migrations: ['services/inventory/drizzle/0001_sync.sql'],
      risks: [
        'services/inventory/drizzle/0001_sync.sql: drops column inventories.quantity and its data',
        'services/inventory/drizzle/0001_sync.sql: adds required inventories.note with no default: fails while the table has rows',
      ],
    })
  })

  it('removes generated files the model no longer has, and leaves one whose generated line the user removed', async () => {
    // a copy the user made of a generated file, where no template writes: theirs
    const copy = svc('src/grpc/server-copy.ts')
    await writeFile(copy, await readFile(svc('src/grpc/server.ts'), 'utf8'))
    const routes = svc('src/http/routes.ts')
    await writeFile(
      routes,
      (await readFile(routes, 'utf8')).replace(/^\/\/ Generated by msvc[^\n]*\n/, '// mine now\n'),
    )
    await editYaml('capabilities: [http, grpc]', 'capabilities: [http]')
    await editYaml('ports: { http: 3001, grpc: 50051 }', 'ports: { http: 3001 }')
    const sync = await msvc(['sync'], { cwd: root })
    expect(sync.exitCode, sync.stderr).toBe(0)
    expect(existsSync(svc('src/grpc/server.ts'))).toBe(false)
    expect(existsSync(svc('proto/inventory.proto'))).toBe(false)
    expect(existsSync(svc('test/grpc.test.ts'))).toBe(false)
    expect(sync.stderr).toContain(
      'services/inventory/src/http/routes.ts no longer says it is generated: left as you wrote it',
    )
    expect(await readFile(routes, 'utf8')).toMatch(/^\/\/ mine now\n/)
    expect(existsSync(copy)).toBe(true)
    expect(sync.stderr).toContain(
      'services/inventory/src/grpc/server-copy.ts says it is generated by msvc, but no template writes that path: left alone',
    )
  })

  it('refuses a bad msvc.yaml with its line, and writes nothing', async () => {
    await editYaml('      quantity: integer\n', '      quantity: integr\n')
    const before = await treeHash(root)
    const r = await msvc(['sync'], { cwd: root })
    expect(r.exitCode).toBe(1)
    expect(r.stderr).toMatch(/msvc\.yaml:\d+:\d+.*unknown field type "integr"/)
    expect(await treeHash(root)).toBe(before)
  })
})
