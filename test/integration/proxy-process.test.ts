// Stopping fault proxies found in /proc: real processes, signalled by a process of this user and by
// one of another user (nobody), which may not signal them and must say so rather than count them
// as stopped.
import { build } from 'esbuild'
import { execa } from 'execa'
import { spawn, type ChildProcess } from 'node:child_process'
import { chmod, copyFile, mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  killProxies,
  listProxyProcesses,
  proxyFailureHint,
  PROXY_MARKER,
} from '../../src/io/chaos/proxy-process.js'
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

  it.skipIf(!isRoot)(
    'a node that nobody may execute (under a private home) fails to start a proxy with a hint that says so',
    async () => {
      // msvc run by a node in a folder only root may enter, as with nvm under /root
      const home = join(tmp, 'private')
      await mkdir(join(home, 'bin'), { recursive: true })
      const node = join(home, 'bin', 'node')
      await copyFile(process.execPath, node)
      await chmod(node, 0o755)
      await chmod(home, 0o700)
      const entry = join(tmp, 'start.mjs')
      await writeFile(
        entry,
        `import { startProxyProcess } from ${JSON.stringify(fileURLToPath(new URL('../../src/io/chaos/proxy-process.ts', import.meta.url)))}
        try {
          await startProxyProcess(process.pid, { listen: [], delayMs: 0, jitterMs: 0, bytesPerSecond: 0 }, { workspace: 'proxy-test', fault: 'f-private' })
          console.log('started')
        } catch (e) { console.log('error', e.message, '|', e.hint) }`,
      )
      const bundle = join(tmp, 'start-bundle.mjs')
      await build({
        entryPoints: [entry],
        outfile: bundle,
        bundle: true,
        format: 'esm',
        platform: 'node',
        logLevel: 'error',
      })
      const r = await execa(node, [bundle], { reject: false, cwd: tmp })
      expect(r.stdout).toMatch(
        /^error the fault proxy did not start listening: it exited \(code 126\).*Permission denied/,
      )
      expect(r.stdout).toContain(`| fault proxies run this node (${node}) as nobody`)
    },
  )
})

describe('proxyFailureHint', () => {
  it('names root and nsenter when nsenter itself failed, and nothing for other failures', () => {
    expect(proxyFailureHint('nsenter: spawn nsenter ENOENT', '', '/usr/bin/node')).toMatch(
      /need root and nsenter/,
    )
    expect(proxyFailureHint('no answer in 5000 ms', '', '/usr/bin/node')).toBeUndefined()
  })
})
