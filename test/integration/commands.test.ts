import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { rm } from 'node:fs/promises'
import { runAdd } from '../../src/commands/add.js'
import { runCreate } from '../../src/commands/create.js'
import { runLs } from '../../src/commands/ls.js'
import { fakeCtx, scriptedPrompter } from '../helpers/fake-ctx.js'
import { makeTempDir } from '../helpers/temp-dir.js'

const templatesDir = fileURLToPath(new URL('../fixtures/templates/', import.meta.url))

async function tree(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const rel = prefix + e.name
    if (e.isDirectory()) out.push(...(await tree(join(dir, e.name), rel + '/')))
    else out.push(rel)
  }
  return out.sort()
}

describe('create-service, add, ls (fixture templates)', () => {
  let tmp: string
  beforeEach(async () => {
    tmp = await makeTempDir()
  })
  afterEach(async () => {
    await rm(tmp, { recursive: true, force: true })
  })
  const ctxAt = (cwd: string, extra = {}) => fakeCtx(cwd, { templatesDir, ...extra })

  it('creates a workspace from flags without asking', async () => {
    const { ctx, stderr } = ctxAt(tmp)
    await runCreate(
      'shop',
      { yes: true, service: 'order', http: true, grpc: true, events: true, publishes: 'order.created' },
      ctx,
    )
    expect(await tree(join(tmp, 'shop'))).toEqual([
      '.gitignore',
      'msvc.yaml',
      'package.json',
      // msvc proto gen runs after scaffolding so that the workspace builds as generated (issue 3)
      'packages/clients/package.json',
      'packages/clients/src/gen/index.ts',
      'packages/clients/src/gen/order/client.ts',
      'packages/clients/src/gen/order/descriptors.ts',
      'packages/clients/src/gen/order/index.ts',
      'packages/clients/src/gen/order/pb/order.ts',
      'packages/clients/src/index.ts',
      'packages/clients/tsconfig.json',
      // a service with a resource keeps it in PostgreSQL: its first migration (docs/model.md)
      'services/order/drizzle/0000_init.sql',
      'services/order/drizzle/meta/0000_snapshot.json',
      'services/order/drizzle/meta/_journal.json',
      'services/order/proto/order.proto',
      'services/order/src/http.ts',
      'services/order/src/main.ts',
    ])
    expect(await readFile(join(tmp, 'shop/package.json'), 'utf8')).toContain('"kit": "@shop/kit"')
    expect(await readFile(join(tmp, 'shop/msvc.yaml'), 'utf8')).toContain(
      'ports: { http: 3001, grpc: 50051 }',
    )
    expect(stderr()).toContain('Next steps')
  })

  it('asks for what the flags leave out on a terminal', async () => {
    const prompt = scriptedPrompter([
      ['Service name', 'payment'],
      ['What does payment do', 'Takes payments'],
      ['Capabilities', ['http', 'events']],
      ['REST resource', 'payments'],
      ['publishes', 'payment.processed'],
      ['subscribes', ''],
    ])
    const { ctx } = ctxAt(tmp, { prompt, interactive: true })
    await runCreate('shop', {}, ctx)
    const yaml = await readFile(join(tmp, 'shop/msvc.yaml'), 'utf8')
    expect(yaml).toContain('description: Takes payments')
    expect(yaml).toContain('capabilities: [http, events]')
    expect(yaml).toContain('payment.processed:')
    expect(prompt.asked).toHaveLength(6)
  })

  it('writes nothing when a prompt is cancelled (Ctrl-C)', async () => {
    const cancel = Object.assign(new Error('User force closed the prompt'), { name: 'ExitPromptError' })
    const prompt = scriptedPrompter([['Service name', cancel]])
    const { ctx } = ctxAt(tmp, { prompt, interactive: true })
    await expect(runCreate('shop', {}, ctx)).rejects.toMatchObject({ name: 'ExitPromptError' })
    expect(await readdir(tmp)).toEqual([])
  })

  it('--dry-run prints the plan and writes nothing', async () => {
    const { ctx, stdout } = ctxAt(tmp)
    await runCreate('shop', { yes: true, service: 'order', dryRun: true }, ctx)
    expect(stdout()).toMatch(/create\s+services\/order\/src\/main\.ts\s+\d+ B/)
    expect(stdout()).toMatch(/8 files, .* \(dry run: nothing written\)/)
    expect(await readdir(tmp)).toEqual([])
  })

  it("takes a workspace named like a service of msvc's own stack, but not one that is no DNS label", async () => {
    await runCreate('nats', { yes: true }, ctxAt(tmp).ctx)
    expect(await readFile(join(tmp, 'nats/msvc.yaml'), 'utf8')).toMatch(/^name: nats$/m)
    await expect(runCreate('Bad_Shop', { yes: true }, ctxAt(tmp).ctx)).rejects.toThrow(
      /^invalid workspace name: "Bad_Shop" has uppercase letters/,
    )
  })

  it('refuses a non-empty folder without --force', async () => {
    await mkdir(join(tmp, 'shop'))
    await writeFile(join(tmp, 'shop/notes.txt'), 'mine')
    const { ctx } = ctxAt(tmp)
    await expect(runCreate('shop', { yes: true }, ctx)).rejects.toThrow(/already exists and is not empty/)
    expect(await readdir(join(tmp, 'shop'))).toEqual(['notes.txt'])
  })

  describe('in a workspace', () => {
    beforeEach(async () => {
      await runCreate('shop', { yes: true, service: 'order', http: true, grpc: true }, ctxAt(tmp).ctx)
    })
    const ws = () => join(tmp, 'shop')

    it('adds a service with the next free ports, from a subfolder', async () => {
      await mkdir(join(ws(), 'services/order/src/deep'), { recursive: true })
      const { ctx } = ctxAt(join(ws(), 'services/order/src/deep'))
      await runAdd('payment', { grpc: true, http: true, calls: 'order' }, ctx)
      const yaml = await readFile(join(ws(), 'msvc.yaml'), 'utf8')
      expect(yaml).toContain(
        '  payment:\n    capabilities: [http, grpc]\n    resource: payments\n    ports: { http: 3002, grpc: 50052 }\n    calls: [order]',
      )
      expect(await readFile(join(ws(), 'services/payment/src/main.ts'), 'utf8')).toContain('"order:3001"')
      const { ctx: lsCtx, stdout } = ctxAt(ws())
      await runLs({ json: true }, lsCtx)
      const listed = JSON.parse(stdout()) as { services: { name: string }[] }
      expect(listed.services.map((s) => s.name)).toEqual(['order', 'payment'])
    })

    it('asks add what the flags leave out on a terminal, the capabilities included; the name too', async () => {
      const prompt = scriptedPrompter([
        ['Service name', 'shipping'],
        ['What does shipping do', 'Ships orders'],
        ['Capabilities', ['events']],
        ['publishes', 'shipping.dispatched'],
        ['subscribes', ''],
      ])
      await runAdd(undefined, {}, ctxAt(ws(), { prompt, interactive: true }).ctx)
      expect(prompt.asked).toHaveLength(5)
      const yaml = await readFile(join(ws(), 'msvc.yaml'), 'utf8')
      expect(yaml).toMatch(/ {2}shipping:\n {4}description: Ships orders\n {4}capabilities: \[events\]/)
      expect(yaml).toContain('shipping.dispatched:')
    })

    it('prints a table from msvc ls, with calls and events', async () => {
      await runAdd(
        'payment',
        { http: true, events: true, publishes: 'payment.done', subscribes: 'order.created', calls: 'order' },
        ctxAt(ws()).ctx,
      )
      const { ctx, stdout } = ctxAt(ws())
      await runLs({}, ctx)
      expect(stdout()).toMatchInlineSnapshot(`
        "SERVICE  CAPABILITIES  HTTP  GRPC   CALLS  PUBLISHES     SUBSCRIBES
        order    http,grpc     3001  50051  -      -             -
        payment  http,events   3002  -      order  payment.done  order.created
        "
      `)
    })

    it.each([
      ['Bad_Name', {}, /invalid service name: "Bad_Name" has uppercase/],
      ['../x', {}, /not a DNS-1123 label/],
      ['1st', {}, /starts with a digit/],
      ['a'.repeat(64), {}, /64 characters/],
      ['nats', {}, /reserved/],
      ['order', {}, /already exists in msvc.yaml/],
      ['payment', { port: '3001' }, /port 3001 is already used by order \(http\)/],
      ['payment', { port: 'abc' }, /--port must be a port/],
      ['payment', { capabilities: 'http,soap' }, /unknown capability "soap"/],
      ['payment', { calls: 'billing' }, /unknown service "billing"/],
      ['payment', { events: true, publishes: 'PaymentDone' }, /lowercase\.dotted/],
    ])('rejects %s %j, writing nothing', async (name, opts, message) => {
      const before = await tree(ws())
      const yamlBefore = await readFile(join(ws(), 'msvc.yaml'), 'utf8')
      await expect(runAdd(name, opts, ctxAt(ws()).ctx)).rejects.toThrow(message)
      expect(await tree(ws())).toEqual(before)
      expect(await readFile(join(ws(), 'msvc.yaml'), 'utf8')).toBe(yamlBefore)
    })

    it('declares unknown event types with { id: string }, gives http when no capability is named, and ls --json shows the model with its defaults', async () => {
      await runAdd(
        'payment',
        { events: true, subscribes: 'order.created', publishes: 'payment.done' },
        ctxAt(ws()).ctx,
      )
      await runAdd('billing', {}, ctxAt(ws()).ctx)
      const yaml = await readFile(join(ws(), 'msvc.yaml'), 'utf8')
      expect(yaml).toMatch(/^events:\n(?: {2}.*\n)*? {2}order\.created:\n {4}schema: \{ id: string \}$/m)
      expect(yaml).toMatch(/^ {2}payment\.done:\n {4}schema: \{ id: string \}$/m)
      expect(yaml).toMatch(/^ {2}billing:\n {4}capabilities: \[http\]$/m)
      const { ctx, stdout } = ctxAt(ws())
      await runLs({ json: true }, ctx)
      const listed = JSON.parse(stdout()) as {
        name: string
        services: { name: string; capabilities: string[]; replicas: number }[]
        events: Record<string, unknown>
      }
      expect(listed.name).toBe('shop')
      expect(listed.services.find((x) => x.name === 'billing')).toMatchObject({
        capabilities: ['http'],
        replicas: 1,
      })
      expect(listed.events).toMatchObject({
        'order.created': { schema: { id: 'string' } },
        'payment.done': { schema: { id: 'string' } },
      })
    })

    it('--dry-run prints each file with its size and the msvc.yaml update, and writes nothing', async () => {
      const before = await tree(ws())
      const { ctx, stdout, stderr } = ctxAt(ws())
      await runAdd('payment', { http: true, dryRun: true }, ctx)
      const out = stdout() + stderr()
      expect(out).toMatch(/^create {2}services\/payment\/\S+\s+\d+(?:\.\d+)? (?:B|KiB)$/m)
      expect(out).toMatch(/^update {2}msvc\.yaml\s+\d+ B$/m)
      expect(out).toMatch(/\(dry run: nothing written\)/)
      expect(await tree(ws())).toEqual(before)
    })

    it('rejects an existing service folder without --force', async () => {
      await mkdir(join(ws(), 'services/payment'))
      await writeFile(join(ws(), 'services/payment/keep.ts'), 'mine')
      await expect(runAdd('payment', {}, ctxAt(ws()).ctx)).rejects.toThrow(/services\/payment already exists/)
      await runAdd('payment', { force: true }, ctxAt(ws()).ctx)
      expect(await readFile(join(ws(), 'services/payment/keep.ts'), 'utf8')).toBe('mine')
    })

    it('reports a broken msvc.yaml with file:line:col and the field', async () => {
      const yaml = await readFile(join(ws(), 'msvc.yaml'), 'utf8')
      await writeFile(join(ws(), 'msvc.yaml'), yaml.replace('http: 3001', 'http: "x"'))
      await expect(runLs({}, ctxAt(ws()).ctx)).rejects.toThrow(
        /^msvc\.yaml:\d+:\d+ services\.order\.ports\.http must be an integer$/,
      )
    })
  })

  it('needs a workspace for add and ls', async () => {
    await expect(runLs({}, ctxAt(tmp).ctx)).rejects.toMatchObject({
      message: expect.stringMatching(/no msvc\.yaml found/),
      hint: expect.stringMatching(/create-service/),
    })
  })
})
