// Which compose msvc drives: v2 (the docker CLI plugin) when its file exists and it answers,
// else v1 (docker-compose), MSVC_COMPOSE to force one, an error naming both when neither is there.
// Real executables (shell scripts) on a PATH and a DOCKER_CONFIG of the test's own.
import { access, chmod, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeEach, describe, expect, it } from 'vitest'
import { detectComposeFlavour } from '../../src/io/exec.js'
import { makeTempDir } from '../helpers/temp-dir.js'

let dir = ''
let bin = ''
let config = ''
const ran = () => join(dir, 'docker-compose-ran')

async function script(path: string, body: string): Promise<void> {
  await writeFile(path, `#!/bin/sh\n${body}\n`)
  await chmod(path, 0o755)
}

/** A docker CLI that answers `compose version --short` with `answer` (exit 1 when empty). */
const dockerAnswering = (answer: string) =>
  script(
    join(bin, 'docker'),
    answer ? `echo ${answer}` : 'echo "docker: unknown command: compose" >&2; exit 1',
  )

const composePlugin = async () => {
  await mkdir(join(config, 'cli-plugins'), { recursive: true })
  await script(join(config, 'cli-plugins', 'docker-compose'), 'exit 0')
}

const v1OnPath = () => script(join(bin, 'docker-compose'), `: > ${ran()}; echo 1.29.2`)

const env = (extra: Record<string, string> = {}) => ({
  PATH: bin,
  DOCKER_CONFIG: config,
  HOME: dir,
  ...extra,
})

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  )

describe('detectComposeFlavour', () => {
  beforeEach(async () => {
    dir = await makeTempDir('msvc-compose-flavour-')
    bin = join(dir, 'bin')
    config = join(dir, 'docker-config')
    await mkdir(bin, { recursive: true })
  })

  it('picks v2 when the plugin file exists and answers', async () => {
    await composePlugin()
    await dockerAnswering('v2.29.0')
    await v1OnPath()
    expect(await detectComposeFlavour(env())).toEqual({ flavour: 'v2', version: 'v2.29.0' })
  })

  it('picks v1 without starting anything when there is no plugin file and docker-compose is on PATH', async () => {
    await dockerAnswering('v2.29.0')
    await v1OnPath()
    expect(await detectComposeFlavour(env())).toEqual({ flavour: 'v1', version: '' })
    expect(await exists(ran())).toBe(false)
  })

  it('asks v1 its version when one is wanted (doctor)', async () => {
    await v1OnPath()
    expect(await detectComposeFlavour(env(), { version: true })).toEqual({ flavour: 'v1', version: '1.29.2' })
    expect(await exists(ran())).toBe(true)
  })

  it('falls back to v1 when the plugin file exists but does not answer', async () => {
    await composePlugin()
    await dockerAnswering('')
    await v1OnPath()
    expect(await detectComposeFlavour(env())).toMatchObject({ flavour: 'v1' })
  })

  it('MSVC_COMPOSE=v1 wins over a working plugin', async () => {
    await composePlugin()
    await dockerAnswering('v2.29.0')
    await v1OnPath()
    expect(await detectComposeFlavour(env({ MSVC_COMPOSE: 'v1' }))).toMatchObject({ flavour: 'v1' })
  })

  it('MSVC_COMPOSE=v2 without a working plugin is an error with a hint', async () => {
    await dockerAnswering('')
    await v1OnPath()
    await expect(detectComposeFlavour(env({ MSVC_COMPOSE: 'v2' }))).rejects.toMatchObject({
      message: 'MSVC_COMPOSE=v2 but `docker compose` (v2) does not answer',
      hint: expect.stringContaining('unset MSVC_COMPOSE'),
    })
  })

  it('names both when neither is installed', async () => {
    await expect(detectComposeFlavour(env())).rejects.toMatchObject({
      message: 'neither `docker compose` (v2) nor `docker-compose` (v1) is installed',
    })
  })
})
