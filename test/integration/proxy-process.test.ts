// Stopping fault proxies found in /proc: real processes, signalled by a process of this user and by
// one of another user (nobody), which may not signal them and must say so rather than count them
// as stopped.
import { build } from 'esbuild'
import { execa } from 'execa'
import { spawn, type ChildProcess } from 'node:child_process'
import { chmod, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { killProxies, listProxyProcesses, PROXY_MARKER } from '../../src/io/chaos/proxy-process.js'
import { makeTempDir } from '../helpers/temp-dir.js'

const isRoot = process.getuid?.() === 0

/** A process that looks like a proxy of `fault` in workspace `ws` (the argv msvc gives its proxies). */
function fakeProxy(ws: string, fault: string): ChildProcess {
  return spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', PROXY_MARKER, ws, fault], {
    stdio: 'ignore',
  })
}

const exited = (p: ChildProcess) =>
  p.exitCode !== null || p.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((r) => p.once('exit', () => r()))

describe('fault proxy processes', () => {
  let tmp: string
  const started: ChildProcess[] = []
  beforeEach(async () => {
    tmp = await makeTempDir()
  })
  afterEach(async () => {
    for (const p of started.splice(0)) p.kill('SIGKILL')
    await rm(tmp, { recursive: true, force: true })
  })

  it('are found by workspace and fault, and stopped by fault or as strays of a workspace', async () => {
    const ws = `proxy-test-${process.pid}`
    const a = fakeProxy(ws, 'f-a')
    const b = fakeProxy(ws, 'f-b')
    const other = fakeProxy(`${ws}-other`, 'f-c')
    started.push(a, b, other)
    await expect
      .poll(async () => (await listProxyProcesses()).filter((p) => p.workspace === ws).length)
      .toBe(2)

    expect(await killProxies({ fault: 'f-a' })).toBe(1)
    await exited(a)
    expect(await killProxies({ workspace: ws, keep: new Set(['f-b']) })).toBe(0)
    expect(await killProxies({ workspace: ws, keep: new Set() })).toBe(1)
    await exited(b)
    expect(other.exitCode).toBeNull()
    expect((await listProxyProcesses()).map((p) => p.workspace)).toContain(`${ws}-other`)
  })

  it.skipIf(!isRoot)('a user who may not signal them gets an error, and they keep running', async () => {
    const ws = `proxy-test-${process.pid}`
    const proxy = fakeProxy(ws, 'f-root')
    started.push(proxy)
    await expect.poll(async () => (await listProxyProcesses()).some((p) => p.fault === 'f-root')).toBe(true)
    // killProxies as nobody: bundled into one file the other user can run
    const entry = join(tmp, 'entry.mjs')
    await writeFile(
      entry,
      `import { killProxies } from ${JSON.stringify(fileURLToPath(new URL('../../src/io/chaos/proxy-process.ts', import.meta.url)))}
      try { console.log('stopped', await killProxies({ fault: 'f-root' })) } catch (e) { console.log('error', e.message, '|', e.hint) }`,
    )
    const bundle = join(tmp, 'kill.mjs')
    await build({
      entryPoints: [entry],
      outfile: bundle,
      bundle: true,
      format: 'esm',
      platform: 'node',
      logLevel: 'error',
    })
    await chmod(tmp, 0o755)
    const r = await execa(process.execPath, [bundle], { uid: 65534, gid: 65534, reject: false, cwd: tmp })
    expect(r.stdout).toMatch(
      new RegExp(
        `^error cannot stop fault proxy pid ${proxy.pid}: not allowed to signal it \\| .*sudo msvc chaos restore`,
      ),
    )
    expect(proxy.exitCode).toBeNull()
    expect(proxy.signalCode).toBeNull()
  })
})
