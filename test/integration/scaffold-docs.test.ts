import { execa } from 'execa'
import { existsSync } from 'node:fs'
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { stripVTControlCharacters } from 'node:util'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CREATE_BIN, createService, msvc } from '../helpers/cli.js'
import { makeTempDir } from '../helpers/temp-dir.js'

// docs/create-service.md and docs/add.md, claim by claim, with the real templates through the built
// bins (no terminal, CI set, as a script or a CI job runs them).

let tmp: string
beforeEach(async () => {
  tmp = await makeTempDir('msvc-scaffold-docs-')
})
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true })
})

describe('create-service', () => {
  it('asks nothing without a terminal: the first service is core with http, and the files are the documented ones', async () => {
    const r = await createService(['shop'], { cwd: tmp })
    expect(r.exitCode, r.stderr).toBe(0)
    const root = join(tmp, 'shop')
    expect((await readdir(root)).sort()).toEqual(
      [
        '.gitignore',
        '.prettierignore',
        '.prettierrc.json',
        'README.md',
        'eslint.config.js',
        'msvc.yaml',
        'package.json',
        'packages',
        'scripts',
        'services',
        'tsconfig.base.json',
        'tsconfig.check.json',
        'vitest.config.ts',
      ].sort(),
    )
    // packages/clients comes with the first grpc service (below), not before
    expect(await readdir(join(root, 'packages'))).toEqual(['kit'])
    expect(await readdir(join(root, 'scripts'))).toEqual(['build-service.mjs'])
    expect(await readdir(join(root, 'services'))).toEqual(['core'])
    expect(await readFile(join(root, 'msvc.yaml'), 'utf8')).toMatch(
      /^ {2}core:\n(?: {4}.*\n)*? {4}capabilities: \[http\]$/m,
    )
    for (const pkg of ['packages/kit', 'services/core'])
      expect(await readFile(join(root, pkg, 'vitest.config.ts'), 'utf8'), pkg).toMatch(/root:/)
    // the root's config makes each package a project of one run
    expect(await readFile(join(root, 'vitest.config.ts'), 'utf8')).toContain(
      "projects: ['packages/*', 'services/*']",
    )
    const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as {
      workspaces: string[]
      scripts: Record<string, string>
    }
    expect(pkg.workspaces).toEqual(['packages/*', 'services/*'])
    expect(Object.keys(pkg.scripts)).toEqual(
      expect.arrayContaining(['build', 'typecheck', 'test', 'lint', 'format', 'format:check']),
    )
    expect(r.stderr).toContain('Next steps:\n  cd shop\n  npm install && npm run build && npm test\n')
  })

  it('takes a --capabilities list and a --grpc-port, and a grpc service brings the generated clients', async () => {
    const r = await createService(['shop', '--capabilities', 'http,grpc', '--grpc-port', '50060'], {
      cwd: tmp,
    })
    expect(r.exitCode, r.stderr).toBe(0)
    const root = join(tmp, 'shop')
    expect(await readFile(join(root, 'msvc.yaml'), 'utf8')).toContain('ports: { http: 3001, grpc: 50060 }')
    expect(await readdir(join(root, 'packages'))).toEqual(['clients', 'kit'])
    expect(existsSync(join(root, 'packages/clients/src/gen/core/client.ts'))).toBe(true)
    const none = await createService(['bare', '--capabilities', 'none'], { cwd: tmp })
    expect(none.exitCode, none.stderr).toBe(0)
    expect(await readFile(join(tmp, 'bare/msvc.yaml'), 'utf8')).toContain('capabilities: []')
  })

  it.each([
    [
      ['--capabilities', 'http,bogus'],
      /^✖ unknown capability "bogus"\n {2}hint: choose from http, grpc, events/,
    ],
    [['--grpc-port', '50060'], /^✖ --grpc-port given without --grpc\n/],
    [['--events', '--publishes', 'Order.Created'], /^✖ event type "Order\.Created" is not lowercase\.dotted/],
    [
      ['--publishes', 'order.created'],
      /^✖ --publishes\/--subscribes need the events capability\n {2}hint: add --events/,
    ],
    [['--port', '80000'], /^✖ --port must be a port from 1024 to 65535, got "80000"/],
    [['--service', 'nats'], /^✖ invalid service name: "nats" is reserved for msvc's own stack/],
    [['--service', 'Pay_Ment'], /^✖ invalid service name: "Pay_Ment" has uppercase letters/],
  ])('refuses %j with exit 1, one line and a hint, and writes nothing', async (args, message) => {
    const r = await createService(['shop', ...args], { cwd: tmp })
    expect(r.exitCode).toBe(1)
    expect(r.stderr).toMatch(message)
    expect(await readdir(tmp)).toEqual([])
  })

  it('writes into an empty folder as it is; --force writes into a non-empty one, keeping what is not generated', async () => {
    await mkdir(join(tmp, 'empty'))
    expect((await createService(['empty'], { cwd: tmp })).exitCode).toBe(0)
    expect(existsSync(join(tmp, 'empty/msvc.yaml'))).toBe(true)

    const root = join(tmp, 'shop')
    await mkdir(root)
    await writeFile(join(root, 'notes.txt'), 'mine\n')
    await writeFile(join(root, 'README.md'), 'an old readme\n')
    const refused = await createService(['shop'], { cwd: tmp })
    expect(refused.exitCode).toBe(1)
    expect(refused.stderr).toContain('already exists and is not empty')
    expect((await readdir(root)).sort()).toEqual(['README.md', 'notes.txt'])

    const forced = await createService(['shop', '--force'], { cwd: tmp })
    expect(forced.exitCode, forced.stderr).toBe(0)
    expect(await readFile(join(root, 'notes.txt'), 'utf8')).toBe('mine\n')
    expect(await readFile(join(root, 'README.md'), 'utf8')).toContain('# shop')
    expect(existsSync(join(root, 'services/core/src/main.ts'))).toBe(true)
    // no staging folder is left behind
    expect((await readdir(tmp)).sort()).toEqual(['empty', 'shop'])
  })

  it('exits 130 and writes nothing when Ctrl-C is pressed at a prompt (a real terminal)', async () => {
    // `script` gives the command a pseudo-terminal, so that it asks; Ctrl-C is typed into it
    const child = execa(
      'script',
      ['-qefc', `${JSON.stringify(process.execPath)} ${CREATE_BIN} shop`, '/dev/null'],
      {
        cwd: tmp,
        reject: false,
        extendEnv: false,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', TERM: 'xterm' },
        stdin: 'pipe',
      },
    )
    let out = ''
    child.stdout?.on('data', (b: Buffer) => (out += b.toString()))
    const until = Date.now() + 15_000
    while (!stripVTControlCharacters(out).includes('Service name') && Date.now() < until)
      await new Promise((r) => setTimeout(r, 50))
    expect(stripVTControlCharacters(out)).toContain('Service name')
    child.stdin?.write('\u0003')
    const r = await child
    child.stdin?.end()
    expect(r.exitCode, out).toBe(130)
    expect(stripVTControlCharacters(out)).toContain('cancelled; nothing was written')
    expect(await readdir(tmp)).toEqual([])
  })
})

describe('msvc add', () => {
  let root: string
  beforeEach(async () => {
    expect(
      (await createService(['shop', '--service', 'order', '--http', '--grpc'], { cwd: tmp })).exitCode,
    ).toBe(0)
    root = join(tmp, 'shop')
  })

  it.each([
    [
      ['payment', '--calls', 'payment'],
      /^✖ service payment cannot call itself\n {2}hint: remove it from --calls/,
    ],
    [
      ['payment', '--calls', 'nobody'],
      /^✖ --calls names unknown service "nobody"\n {2}hint: known services: order/,
    ],
    [['payment', '--port', '3001'], /^✖ port 3001 is already used by order \(http\)/],
    [['order'], /^✖ service "order" already exists in msvc\.yaml/],
    [[], /^✖ missing service name\n {2}hint: for example: msvc add payment --http/],
    [['nats'], /^✖ invalid service name: "nats" is reserved for msvc's own stack/],
    [['payment', '--capabilities', 'ftp'], /^✖ unknown capability "ftp"/],
    [['payment', '--grpc-port', '50060'], /^✖ --grpc-port given without --grpc/],
    [['payment', '--subscribes', 'order.created'], /^✖ --publishes\/--subscribes need the events capability/],
    [
      ['payment', '--events', '--subscribes', 'OrderCreated'],
      /^✖ event type "OrderCreated" is not lowercase\.dotted/,
    ],
    // docs/model.md: each bad field or operation, named, before anything is written
    [
      ['stock', '--fields', 'sku:strin'],
      /^✖ --fields: sku: unknown field type "strin"\n {2}hint: choose from/,
    ],
    [['stock', '--fields', 'id:string'], /^✖ --fields: id: "id" is reserved: every record has it/],
    [['stock', '--fields', 'a:string,a:integer'], /^✖ --fields: a: "a" is declared twice/],
    [['stock', '--fields', 'n:integer=1.5'], /^✖ --fields: n: default 1\.5 is not an integer/],
    [['stock', '--fields', 'xs:string[][]'], /^✖ --fields: xs: an array of arrays is not supported/],
    [['stock', '--operations', 'get()'], /^✖ --operations: get: "get" is a CRUD route every resource has/],
    [['stock', '--operations', 'a(),a()'], /^✖ --operations: a: "a" is declared twice/],
    [
      ['stock', '--events', '--fields', 'sku:string'],
      /^✖ --fields needs a resource to hold them\n {2}hint: add --http or --grpc/,
    ],
  ])('refuses %j with exit 1 and leaves the workspace as it was', async (args, message) => {
    const yaml = await readFile(join(root, 'msvc.yaml'), 'utf8')
    const r = await msvc(['add', ...args], { cwd: root })
    expect(r.exitCode).toBe(1)
    expect(r.stderr).toMatch(message)
    expect(await readFile(join(root, 'msvc.yaml'), 'utf8')).toBe(yaml)
    expect(await readdir(join(root, 'services'))).toEqual(['order'])
  })
})

describe('fields and operations from flags (docs/model.md)', () => {
  it('records them in msvc.yaml as written, and generates routes, RPCs and an idempotent client method', async () => {
    const r = await createService(
      [
        'shop',
        '--service',
        'inventory',
        '--http',
        '--grpc',
        '--fields',
        'sku:string!,quantity:integer,reserved:integer=0,tags:string[]',
        '--operations',
        'reserve(sku:string!,quantity:integer!),release(sku:string!,quantity:integer!)~,*recount()',
      ],
      { cwd: tmp },
    )
    expect(r.exitCode, r.stderr).toBe(0)
    const root = join(tmp, 'shop')
    const yaml = await readFile(join(root, 'msvc.yaml'), 'utf8')
    expect(yaml).toContain(
      [
        '    fields:',
        '      sku: string!',
        '      quantity: integer',
        '      reserved: integer=0',
        '      tags: string[]',
        '    operations:',
        '      reserve: { input: { sku: string!, quantity: integer! } }',
        '      release: { input: { sku: string!, quantity: integer! }, idempotent: true }',
        '      recount: { on: collection }',
      ].join('\n'),
    )
    const svc = join(root, 'services/inventory')
    const routes = await readFile(join(svc, 'src/http/routes.ts'), 'utf8')
    expect(routes).toContain("'/inventories/:id/reserve'")
    expect(routes).toContain("'/inventories/recount'")
    const proto = await readFile(join(svc, 'proto/inventory.proto'), 'utf8')
    expect(proto).toMatch(
      /rpc ReleaseInventory\(ReleaseInventoryRequest\) returns \(ReleaseInventoryResponse\) \{\n {4}option idempotency_level = IDEMPOTENT;/,
    )
    expect(proto).toContain(
      'rpc RecountInventories(RecountInventoriesRequest) returns (RecountInventoriesResponse);',
    )
    const client = await readFile(join(root, 'packages/clients/src/gen/inventory/client.ts'), 'utf8')
    expect(client).toContain('releaseInventory: { idempotent: true }')
    expect(client).toContain('reserveInventory: { idempotent: false }')
    expect(await readdir(join(svc, 'src/domain'))).toEqual([
      'inventory.crud.ts',
      'inventory.model.ts',
      'inventory.pg.ts',
      'inventory.ts',
    ])
    for (const f of [
      'src/domain/inventory.pg.ts',
      'src/db/schema.ts',
      'src/domain/inventory.model.ts',
      'src/domain/inventory.crud.ts',
      'src/http/routes.ts',
      'test/crud.test.ts',
    ])
      expect(await readFile(join(svc, f), 'utf8'), f).toMatch(/^\/\/ Generated by msvc from msvc\.yaml/)
    for (const f of ['src/domain/inventory.ts', 'test/domain.test.ts'])
      expect(await readFile(join(svc, f), 'utf8'), f).not.toMatch(/Generated by msvc/)
  })

  it("reads msvc.yaml back to the same model: a second service sees the first one's fields", async () => {
    expect(
      (
        await createService(
          [
            'shop',
            '--service',
            'order',
            '--http',
            '--fields',
            'items:{sku:string!,quantity:integer!}[]!,status:enum(open|paid)=open',
          ],
          { cwd: tmp },
        )
      ).exitCode,
    ).toBe(0)
    const root = join(tmp, 'shop')
    const ls = await msvc(['ls', '--json'], { cwd: root })
    expect(ls.exitCode, ls.stderr).toBe(0)
    const model = await readFile(join(root, 'services/order/src/domain/order.model.ts'), 'utf8')
    expect(model).toContain('export interface OrderItem {\n  sku: string\n  quantity: number\n}')
    expect(model).toContain("  status: 'open' | 'paid'\n")
  })
})
