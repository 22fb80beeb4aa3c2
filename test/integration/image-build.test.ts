import { mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type Dockerode from 'dockerode'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { LABEL } from '../../src/core/compose/build-stack.js'
import { buildServiceImage } from '../../src/runtime/build.js'
import { makeTempDir } from '../helpers/temp-dir.js'

interface BuildCall {
  buildargs: Record<string, string>
  labels: Record<string, string>
}

/** An engine that keeps the last built image's labels and records each build's options. */
function fakeEngine() {
  const builds: BuildCall[] = []
  let labels: Record<string, string> | undefined
  const d = {
    getImage: () => ({
      inspect: async () => {
        if (!labels) throw Object.assign(new Error('no such image'), { statusCode: 404 })
        return { Config: { Labels: labels } }
      },
    }),
    buildImage: async (context: NodeJS.ReadableStream, opts: BuildCall) => {
      context.resume()
      builds.push(opts)
      labels = opts.labels
      return context
    },
    modem: { followProgress: (_s: unknown, done: (err: Error | null) => void) => done(null) },
  }
  return { d: d as unknown as Dockerode, builds }
}

// Issue 13: the base image (msvc.yaml runtime.image) is a build input: choosing another rebuilds.
describe('buildServiceImage', () => {
  let root: string
  beforeEach(async () => {
    root = await makeTempDir('msvc-image-build-')
    const dir = join(root, 'services/order')
    await mkdir(join(dir, 'dist'), { recursive: true })
    await writeFile(join(dir, 'Dockerfile'), 'ARG BASE_IMAGE=node:24-slim\nFROM ${BASE_IMAGE}\n')
    await writeFile(join(dir, 'dist/main.js'), 'console.log(1)\n')
  })
  afterEach(async () => {
    await rm(root, { recursive: true, force: true })
  })

  it('passes the base image as BASE_IMAGE and rebuilds when only the base image changes', async () => {
    const { d, builds } = fakeEngine()
    expect(await buildServiceImage(d, root, 'shop', 'order', 'node:24-slim')).toBe(true)
    expect(builds[0]!.buildargs).toEqual({ BASE_IMAGE: 'node:24-slim' })
    expect(await buildServiceImage(d, root, 'shop', 'order', 'node:24-slim')).toBe(false)
    expect(await buildServiceImage(d, root, 'shop', 'order', 'node:22-slim')).toBe(true)
    expect(builds).toHaveLength(2)
    expect(builds[1]!.buildargs).toEqual({ BASE_IMAGE: 'node:22-slim' })
    expect(builds[1]!.labels[LABEL.hash]).not.toBe(builds[0]!.labels[LABEL.hash])
  })
})
