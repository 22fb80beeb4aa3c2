import { execa } from 'execa'
import { spawn } from 'node:child_process'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { rm } from 'node:fs/promises'
import { createService, msvc, REPO } from '../helpers/cli.js'
import { makeTempDir } from '../helpers/temp-dir.js'

// The built bins (npm test builds first), with the fixture templates so this stays fast.
const env = { MSVC_TEMPLATES_DIR: fileURLToPath(new URL('../fixtures/templates/', import.meta.url)) }

describe('the bins', () => {
  let tmp: string
  beforeEach(async () => {
    tmp = await makeTempDir()
  })
  afterEach(async () => {
    await rm(tmp, { recursive: true, force: true })
  })

  it('prints help with examples and a version', async () => {
    const help = await msvc(['add', '--help'])
    expect(help.exitCode).toBe(0)
    expect(help.stdout).toContain('Examples:')
    expect(help.stdout).toContain('--dry-run')
    const version = await msvc(['--version'])
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/)
    expect((await createService(['--help'])).stdout).toContain('npx create-service shop')
  })

  // `create-service --help | head -1`: a reader that closes the pipe before msvc writes
  it('stops quietly with exit 0 when the reader of its output has gone (EPIPE)', async () => {
    for (const [bin, args] of [
      ['create-service.js', ['--help']],
      ['msvc.js', ['--help']],
      ['msvc.js', ['ls', '--json']],
    ] as const) {
      const child = spawn(process.execPath, [join(REPO, 'bin', bin), ...args], {
        cwd: tmp,
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      child.stdout.destroy()
      let stderr = ''
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
      const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)))
      expect(stderr, `${bin} ${args.join(' ')}`).not.toMatch(/EPIPE|Unexpected error/)
      expect(code, `${bin} ${args.join(' ')}: ${stderr}`).toBe(args[0] === 'ls' ? 1 : 0)
    }
  })

  it('has no colour when output is not a terminal', async () => {
    const r = await msvc(['ls'], { cwd: tmp, env: { NO_COLOR: '' } })
    expect(r.stderr).not.toContain(String.fromCharCode(27))
  })

  it('creates, adds and lists through the bins with exit 0', async () => {
    expect(
      (await createService(['shop', '--yes', '--service', 'order', '--http'], { cwd: tmp, env })).exitCode,
    ).toBe(0)
    const add = await msvc(['add', 'payment', '--grpc'], { cwd: `${tmp}/shop`, env })
    expect(add.exitCode, add.stderr).toBe(0)
    const ls = await msvc(['ls'], { cwd: `${tmp}/shop`, env })
    expect(ls.stdout).toMatch(/payment\s+grpc\s+3002\s+50051/)
  })

  it.each([
    [['ls'], /^✖ no msvc\.yaml found in .*\n {2}hint: run this inside a workspace/],
    [['add', 'Payment'], /^✖ no msvc\.yaml found/],
    [['add', '--bogus'], /unknown option '--bogus'/],
  ])('fails %j with exit 1 and a one-line error', async (args, message) => {
    const r = await msvc(args, { cwd: tmp, env })
    expect(r.exitCode).toBe(1)
    expect(r.stderr).toMatch(message)
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/) // no stack
  })

  it('under --json, an error is one JSON object on stdout too, with the same exit code', async () => {
    const r = await msvc(['ls', '--json'], { cwd: tmp, env })
    expect(r.exitCode).toBe(1)
    expect(r.stderr).toMatch(/✖ no msvc\.yaml found/)
    const { error } = JSON.parse(r.stdout) as { error: { message: string; hint?: string; exitCode: number } }
    expect(error.message).toMatch(/^no msvc\.yaml found/)
    expect(error.hint).toMatch(/create-service/)
    expect(error.exitCode).toBe(1)
    // without --json, stdout stays empty
    expect((await msvc(['ls'], { cwd: tmp, env })).stdout).toBe('')
  })

  it('rejects a bad name with exit 1 and writes nothing', async () => {
    const r = await createService(['shop', '--yes', '--service', 'Bad_Name'], { cwd: tmp, env })
    expect(r.exitCode).toBe(1)
    expect(r.stderr).toMatch(/✖ invalid service name: "Bad_Name" has uppercase letters.*\n {2}hint: /)
    expect(await readdir(tmp)).toEqual([])
  })

  it('rejects a missing folder without a terminal', async () => {
    const r = await createService(['--yes'], { cwd: tmp, env })
    expect(r.exitCode).toBe(1)
    expect(r.stderr).toContain('missing workspace folder')
  })

  it('scaffolds from the templates precompiled by the build, without loading the compiler', async () => {
    // the bundle's chunks find dist/templates.precompiled.js beside them; were it missed, every
    // template would be compiled at run time, correct but 50 ms slower (issue #2)
    const script = `
      import { createRequire } from 'node:module'
      const { main } = await import(${JSON.stringify(pathToFileURL(join(REPO, 'dist/cli.js')).href)})
      const argv = ['node', 'create-service', 'shop', '--yes', '--service', 'order', '--http']
      const code = await main('create-service', { argv, cwd: ${JSON.stringify(tmp)} })
      const loaded = Object.keys(createRequire(import.meta.url).cache).filter((f) => f.includes('handlebars'))
      console.log(JSON.stringify({ code, loaded }))`
    const r = await execa('node', ['--input-type=module', '-e', script], {
      cwd: tmp,
      env: { CI: '1', NO_COLOR: '1' },
      reject: false,
    })
    expect(JSON.parse(r.stdout.trim().split('\n').pop()!), r.stderr).toEqual({ code: 0, loaded: [] })
    expect(await readdir(join(tmp, 'shop', 'services', 'order', 'src'))).toContain('main.ts')
  })
})

// docs/chaos.md: chaos stays fast because its path loads none of ajv, execa or dockerode.
describe('what a command loads', () => {
  const RECORDER = fileURLToPath(new URL('../helpers/record-imports.mjs', import.meta.url))
  const HEAVY = /\/node_modules\/(ajv|execa|dockerode)\//

  async function loadedBy(args: string[], cwd: string): Promise<string[]> {
    const out = join(cwd, 'imports.txt')
    const r = await execa(
      process.execPath,
      ['--import', pathToFileURL(RECORDER).href, join(REPO, 'bin/msvc.js'), ...args],
      {
        cwd,
        reject: false,
        env: { MSVC_IMPORTS_OUT: out, NO_COLOR: '1', DOCKER_HOST: 'unix:///nonexistent.sock' },
      },
    )
    expect(r.stderr).not.toMatch(/ERR_|hooks/)
    return (await readFile(out, 'utf8')).split('\n').filter(Boolean)
  }

  it('chaos status loads no ajv, execa or dockerode; doctor (which needs them) does', async () => {
    const tmp = await makeTempDir('msvc-imports-')
    try {
      await writeFile(
        join(tmp, 'msvc.yaml'),
        'name: quick\nservices:\n  web:\n    capabilities: [http]\n    ports: { http: 3001 }\n',
      )
      const chaos = await loadedBy(['chaos', 'status', '--json'], tmp)
      expect(chaos.some((u) => u.includes('/dist/'))).toBe(true)
      expect(chaos.filter((u) => HEAVY.test(u))).toEqual([])
      const doctor = await loadedBy(['doctor', '--json'], tmp)
      expect(doctor.some((u) => HEAVY.test(u))).toBe(true)
    } finally {
      await rm(tmp, { recursive: true, force: true })
    }
  })
})
