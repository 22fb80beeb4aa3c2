// What network faults need on the host, checked before anything is applied: a host without
// iproute2's ss (or iptables) gets an error naming the package, not a fault that half works.
import { execFileSync } from 'node:child_process'
import { symlink } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { assertNetnsTools } from '../../src/io/chaos/netns.js'
import { makeTempDir } from '../helpers/temp-dir.js'

const isRoot = process.getuid?.() === 0
const savedPath = process.env.PATH

/** A PATH holding only the named tools of this host (found on the real PATH). */
async function pathWith(...tools: string[]): Promise<string> {
  const dir = await makeTempDir('msvc-netns-path-')
  for (const name of tools) {
    const target = execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim()
    await symlink(target, join(dir, name))
  }
  return dir
}

describe('assertNetnsTools', () => {
  afterEach(() => {
    process.env.PATH = savedPath
  })

  it.skipIf(!isRoot)('passes on this host, which has nsenter, iptables and ss', async () => {
    await expect(assertNetnsTools()).resolves.toBeUndefined()
  })

  it.skipIf(!isRoot)('names iproute2 when ss is missing', async () => {
    process.env.PATH = await pathWith('nsenter', 'iptables')
    await expect(assertNetnsTools()).rejects.toMatchObject({
      message: expect.stringMatching(/^iproute2's ss is not usable on this host/),
      hint: expect.stringContaining('apt-get install -y iproute2'),
    })
  })

  it.skipIf(!isRoot)('names iptables when it is missing', async () => {
    process.env.PATH = await pathWith('nsenter', 'ss')
    await expect(assertNetnsTools()).rejects.toMatchObject({
      message: expect.stringMatching(/^iptables is not usable on this host/),
    })
  })
})
