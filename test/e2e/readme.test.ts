import { execa } from 'execa'
import { mkdir, mkdtemp, readFile, realpath, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { REPO } from '../helpers/cli.js'
import { dockerAvailable } from '../helpers/docker.js'

/**
 * The README's first two code blocks, as a new user runs them (issue #13): the first sets up msvc,
 * creates a workspace beside the checkout, builds, tests, runs, loads and stops it, in a fresh
 * clone of this repository's committed HEAD, with npm's global folder inside the test's temp folder
 * so that `npm link` touches nothing outside it. The second is msvc's own test command: CI runs it
 * in a fresh clone already (.ci/run runs exactly that command), so here it is checked to be that
 * command and not run a second time, which doubled CI's time (the whole suite again, inside).
 */
function readmeBlocks(markdown: string): string[] {
  const blocks: string[] = []
  for (const m of markdown.matchAll(/^```(?:sh|bash)\n([\s\S]*?)^```$/gm)) {
    const lines = m[1]!.split('\n').filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#'))
    blocks.push(lines.join('\n'))
  }
  return blocks
}

const hasDocker = await dockerAvailable()

describe.skipIf(!hasDocker)("README's first two blocks, in a fresh clone", () => {
  let parent = ''

  afterAll(async () => {
    if (!parent) return
    // block 1 ends with `msvc down`; a failure before it must not leave the stack running
    const msvcBin = join(parent, 'msvc', 'bin', 'msvc.js')
    await execa('node', [msvcBin, 'down', '--volumes'], { cwd: join(parent, 'shop'), reject: false })
    if (!process.env.MSVC_E2E_KEEP) await rm(parent, { recursive: true, force: true })
  })

  it("sets up msvc, creates, builds, tests, runs, loads and stops a workspace; the test block is CI's command", async () => {
    // the README's workspace is always "shop": data left by a run that was killed before its
    // cleanup (a database volume with the tables already made) would break this one
    const leftovers = await execa('docker', ['volume', 'ls', '-q', '--filter', 'label=msvc.workspace=shop'])
    const stale = String(leftovers.stdout).split('\n').filter(Boolean)
    if (stale.length) await execa('docker', ['volume', 'rm', '-f', ...stale])
    parent = await realpath(await mkdtemp(join(tmpdir(), 'msvc-readme-')))
    const clone = join(parent, 'msvc')
    await execa('git', ['clone', '--quiet', REPO, clone])
    const blocks = readmeBlocks(await readFile(join(clone, 'README.md'), 'utf8'))
    expect(blocks.length).toBeGreaterThanOrEqual(2)
    const [setUp, test] = blocks as [string, string]
    expect(setUp).toContain('npm link')
    expect(test).toContain('npm test')

    const prefix = join(parent, 'npm-global')
    await mkdir(prefix)
    const env = {
      ...process.env,
      npm_config_prefix: prefix,
      PATH: [join(prefix, 'bin'), process.env.PATH].join(delimiter),
      CI: '1',
      NO_COLOR: '1',
    }
    const sh = (script: string) =>
      execa('bash', ['-euo', 'pipefail', '-c', script], {
        cwd: clone,
        env,
        reject: false,
        all: true,
        stdin: 'ignore',
      })

    const first = await sh(setUp)
    expect(first.exitCode, tail(first.all)).toBe(0)
    // the load run went through the fault, and the stack is gone again
    expect(first.all).toMatch(/chaos: kill order applied/)
    expect(first.all).toMatch(/removed \d+ container/)

    // the test block is the command .ci/run runs in its fresh clone
    expect(test).toBe('npm test')
    const ci = await readFile(join(clone, '.ci', 'run'), 'utf8')
    expect(ci).toMatch(/^PATH="\$node24:\$PATH" npm test$/m)
  }, 1_200_000)
})

const tail = (text = '') => text.split('\n').slice(-60).join('\n')
