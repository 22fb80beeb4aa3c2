import { randomBytes } from 'node:crypto'
import { execa } from 'execa'
import { mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import { CREATE_BIN, MSVC_BIN } from '../helpers/cli.js'
import { parseDocument } from 'yaml'
import { E2E_NESTED_EVENT, E2E_PUBLISHED, E2E_RUNTIME_IMAGES, E2E_SERVICES } from './workspace-spec.js'

declare module 'vitest' {
  export interface ProvidedContext {
    workspaceDir: string
    workspaceName: string
    workspaceInstallLog: string
  }
}

/**
 * One generated workspace shared by every end-to-end test (npm install once):
 * created with the built bins, one service per combination of capabilities.
 */
export default async function setup(project: TestProject) {
  const parent = await realpath(await mkdtemp(join(tmpdir(), 'msvc-e2e-')))
  const dir = join(parent, 'shop')
  // Decoys (issue #13): configs of an enclosing project that would fail the workspace's tests and
  // lint if a generated package walked up to them.
  await writeFile(join(parent, 'package.json'), '{ "type": "module" }\n')
  await writeFile(
    join(parent, 'vitest.config.ts'),
    "export default { test: { include: ['no-such-folder/**'], passWithNoTests: false } }\n",
  )
  await writeFile(
    join(parent, 'eslint.config.js'),
    "export default [{ rules: { 'no-undef': 'error', semi: ['error', 'always'] } }]\n",
  )
  const env = { ...process.env, NO_COLOR: '1', CI: '1' }
  const run = async (cmd: string, args: string[], cwd: string) => {
    const r = await execa(cmd, args, { cwd, env, reject: false, all: true, stdin: 'ignore' })
    if (r.exitCode !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.exitCode}):\n${r.all}`)
    return r.all
  }
  const [first, ...rest] = E2E_SERVICES
  // A unique workspace name: its label and compose project never meet a leftover of another run.
  const name = `shop-${randomBytes(3).toString('hex')}`
  await run(
    'node',
    [CREATE_BIN, 'shop', '--name', name, '--yes', '--service', first!.name, ...first!.flags],
    parent,
  )
  const yamlFile = join(dir, 'msvc.yaml')
  // an event with objects and arrays, declared before the service that publishes it is added
  const doc = parseDocument(await readFile(yamlFile, 'utf8'))
  doc.setIn(['events', E2E_NESTED_EVENT.type], doc.createNode({ schema: E2E_NESTED_EVENT.schema }))
  // written as the workspace's prettier writes it (single quotes, no padding in flow sequences)
  await writeFile(yamlFile, doc.toString({ singleQuote: true, flowCollectionPadding: false, lineWidth: 0 }))
  for (const s of rest) await run('node', [MSVC_BIN, 'add', s.name, ...s.flags], dir)
  let yaml = await readFile(yamlFile, 'utf8')
  for (const [service, image] of Object.entries(E2E_RUNTIME_IMAGES)) {
    const withImage = yaml.replace(
      new RegExp(`( {2}${service}:\\n(?: {4}.*\\n)*? {4}replicas: 1\\n)`),
      `$1    runtime: { image: ${image} }\n`,
    )
    if (withImage === yaml) throw new Error(`no replicas line for ${service} in msvc.yaml`)
    yaml = withImage
  }
  // a gateway makes itself the only published port; the tests of the other services reach them on theirs
  for (const service of E2E_PUBLISHED) {
    const published = yaml.replace(
      new RegExp(`( {2}${service}:\\n(?: {4}.*\\n)*? {4}replicas: 1\\n)`),
      `$1    publish: true\n`,
    )
    if (published === yaml) throw new Error(`no replicas line for ${service} in msvc.yaml`)
    yaml = published
  }
  await writeFile(yamlFile, yaml)
  const installLog = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], dir)
  project.provide('workspaceDir', dir)
  project.provide('workspaceName', name)
  project.provide('workspaceInstallLog', installLog)
  return async () => {
    if (process.env.MSVC_E2E_KEEP) return
    // the stacks' volumes (databases, JetStream) go with the workspace, or every run leaves some
    await execa('node', [MSVC_BIN, 'down', '--volumes'], { cwd: dir, env, reject: false, stdin: 'ignore' })
    await rm(parent, { recursive: true, force: true })
  }
}
