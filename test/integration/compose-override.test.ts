import { existsSync } from 'node:fs'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parse } from 'yaml'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { parseWorkspace } from '../../src/core/workspace/parse.js'
import { readOverlay } from '../../src/runtime/docker-runtime.js'
import { makeTempDir } from '../helpers/temp-dir.js'

// docker-compose.override.yml on a real filesystem: which files compose is given, and the labels
// file msvc writes for the services only the override declares (the e2e stack test runs it for real).

const parsed = parseWorkspace(
  'name: shop\nservices:\n  order:\n    capabilities: [http]\n    ports: { http: 3001 }\n',
)
if (!parsed.ok) throw new Error('fixture')
const ws = parsed.workspace
const labels = (root: string) => join(root, '.msvc/compose.extra-labels.yml')

let root: string
beforeEach(async () => {
  root = await makeTempDir('msvc-override-')
})
afterEach(async () => {
  await rm(root, { recursive: true, force: true })
})

describe('the override beside docker-compose.yml', () => {
  it('passes nothing more when there is none, and removes a labels file left from before', async () => {
    await writeFile(join(root, 'docker-compose.override.yml'), 'services:\n  consul: { image: c }\n')
    await readOverlay(root, ws)
    expect(existsSync(labels(root))).toBe(true)
    await rm(join(root, 'docker-compose.override.yml'))
    expect(await readOverlay(root, ws)).toEqual({ files: [], extra: [], text: '' })
    expect(existsSync(labels(root))).toBe(false)
  })

  it('passes the override, then the labels of the services only it declares', async () => {
    const text = 'services:\n  order: { environment: { A: "1" } }\n  consul: { image: c }\n'
    await writeFile(join(root, 'docker-compose.override.yaml'), text)
    const overlay = await readOverlay(root, ws)
    expect(overlay).toEqual({
      files: [join(root, 'docker-compose.override.yaml'), labels(root)],
      extra: ['consul'],
      text,
    })
    expect(parse(await readFile(labels(root), 'utf8'))).toEqual({
      services: {
        consul: { labels: { 'msvc.workspace': 'shop', 'msvc.service': 'consul', 'msvc.extra': 'true' } },
      },
    })
  })

  it('passes only the override when it changes generated services alone', async () => {
    await writeFile(
      join(root, 'docker-compose.override.yml'),
      'services:\n  order: { environment: { A: "1" } }\n',
    )
    expect((await readOverlay(root, ws)).files).toEqual([join(root, 'docker-compose.override.yml')])
    expect(existsSync(labels(root))).toBe(false)
  })

  it('refuses both .yml and .yaml at once, and a file that is not YAML, naming them', async () => {
    await writeFile(join(root, 'docker-compose.override.yml'), 'services: {}\n')
    await writeFile(join(root, 'docker-compose.override.yaml'), 'services: {}\n')
    await expect(readOverlay(root, ws)).rejects.toThrow(
      'both docker-compose.override.yml and docker-compose.override.yaml exist',
    )
    await rm(join(root, 'docker-compose.override.yaml'))
    await writeFile(join(root, 'docker-compose.override.yml'), 'services: { a: [\n')
    await expect(readOverlay(root, ws)).rejects.toThrow(/^docker-compose\.override\.yml is not valid YAML/)
  })
})
