// issue #13: msvc installs with no EBADENGINE warning on every Node its package.json declares.
// Each installed runtime dependency's engines.node must cover that whole range.
import { execa } from 'execa'
import { readFile } from 'node:fs/promises'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { enginesOf, rangeGaps } from '../helpers/engines.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '../..')

describe("msvc's engines", () => {
  it("cover Node 20, 22 and 24, and every runtime dependency's engines cover them", async () => {
    const declared = (
      JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { engines: { node: string } }
    ).engines.node
    for (const v of ['20.20.0', '22.13.0', '24.0.0'])
      expect(enginesOf(declared).test(v), `${v} in ${declared}`).toBe(true)
    const ls = await execa('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: root })
    const dirs = ls.stdout.split('\n').filter((d) => d && d !== root)
    expect(dirs.length).toBeGreaterThan(10)
    const gaps = await rangeGaps(dirs, declared)
    expect(gaps, gaps.map((g) => `${relative(root, g.dir)}: ${g.range}`).join('\n')).toEqual([])
  })
})

// msvc doctor checks the host's Node against what generated workspaces declare
describe("doctor's Node check", () => {
  it('is the range the workspace template declares, and agrees with semver on it', async () => {
    const { WORKSPACE_NODE_RANGE, workspaceSupportsNode } = await import('../../src/core/node-support.js')
    const template = await readFile(join(root, 'templates/workspace/files/package.json.hbs'), 'utf8')
    expect(template).toContain(`"node": "${WORKSPACE_NODE_RANGE}"`)
    const range = enginesOf(WORKSPACE_NODE_RANGE)
    for (const major of [18, 20, 21, 22, 23, 24, 25])
      for (const minor of [0, 12, 13, 18, 19, 20])
        expect(workspaceSupportsNode(`${major}.${minor}.0`), `${major}.${minor}.0`).toBe(
          range.test(`${major}.${minor}.0`),
        )
  })
})
