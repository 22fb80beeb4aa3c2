import { randomBytes } from 'node:crypto'
import Dockerode from 'dockerode'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { engineAddress, engine, EngineError, type Engine } from '../../src/io/engine.js'
import { docker, dockerAvailable } from '../helpers/docker.js'

const hasDocker = await dockerAvailable()

describe('engineAddress (which engines the light client can reach)', () => {
  it('takes the default socket, unix:// and tcp://; leaves TLS and ssh:// to dockerode', () => {
    expect(engineAddress({})).toEqual({ socketPath: '/var/run/docker.sock' })
    expect(engineAddress({ DOCKER_HOST: 'unix:///run/user/1000/docker.sock' })).toEqual({
      socketPath: '/run/user/1000/docker.sock',
    })
    expect(engineAddress({ DOCKER_HOST: 'tcp://127.0.0.1:2375' })).toEqual({ host: '127.0.0.1', port: 2375 })
    expect(engineAddress({ DOCKER_HOST: 'tcp://127.0.0.1:2376', DOCKER_TLS_VERIFY: '1' })).toBeUndefined()
    expect(engineAddress({ DOCKER_HOST: 'ssh://me@box' })).toBeUndefined()
  })
})

describe.skipIf(!hasDocker)('the light engine client against the real engine', () => {
  const label = `msvc.test-engine=${randomBytes(4).toString('hex')}`
  let e: Engine
  let id: string
  const dockerode = new Dockerode()
  beforeAll(async () => {
    e = await engine({})
    id = await docker([
      'run',
      '-d',
      '--label',
      label,
      'node:20-slim',
      'node',
      '-e',
      "console.log('hello from the box'); setInterval(() => {}, 1000)",
    ])
  }, 60_000)
  afterAll(async () => {
    await docker(['rm', '-f', id]).catch(() => {})
  })

  it('lists by label and inspects exactly as dockerode does', async () => {
    const filters = { label: [label] }
    const mine = await e.listContainers({ all: true, filters })
    const theirs = await dockerode.listContainers({ all: true, filters })
    expect(mine.map((c) => c.Id)).toEqual([id])
    expect(mine.map((c) => [c.Id, c.Labels, c.Image])).toEqual(theirs.map((c) => [c.Id, c.Labels, c.Image]))
    const info = await e.getContainer(id).inspect()
    expect(info.Id).toBe(id)
    expect(info.State.Running).toBe(true)
    expect(info.State.Pid).toBe((await dockerode.getContainer(id).inspect()).State.Pid)
  })

  it('pauses, unpauses and reads the logs', async () => {
    const c = e.getContainer(id)
    await c.pause()
    expect((await c.inspect()).State.Paused).toBe(true)
    await c.unpause()
    expect((await c.inspect()).State.Paused).toBe(false)
    // the container's node prints its line some time after `docker run -d` returns
    let logs = ''
    for (let i = 0; i < 100 && !logs.includes('hello from the box'); i++) {
      logs = (await c.logs({ stdout: true, stderr: true, tail: 5 })).toString('latin1')
      if (!logs.includes('hello from the box')) await new Promise((r) => setTimeout(r, 50))
    }
    expect(logs).toContain('hello from the box')
  })

  it('a missing container is an EngineError with statusCode 404, as callers expect of dockerode', async () => {
    const err = await e
      .getContainer('msvc-no-such-container')
      .inspect()
      .catch((x: unknown) => x)
    expect(err).toBeInstanceOf(EngineError)
    expect((err as EngineError).statusCode).toBe(404)
    expect((err as Error).message).toMatch(/No such container/i)
  })

  it('starts, kills, waits for and removes a container (created by the docker CLI)', async () => {
    const id = await docker([
      'create',
      '--label',
      `msvc.test-engine=${label.split('=')[1]!}`,
      '--restart',
      'no',
      'node:20-slim',
      'node',
      '-e',
      'setInterval(() => {}, 1000)',
    ])
    const c = e.getContainer(id)
    await c.start()
    expect((await c.inspect()).State.Running).toBe(true)
    await c.kill({ signal: 'SIGKILL' })
    await c.wait()
    expect((await c.inspect()).State.Running).toBe(false)
    await c.remove({ force: true })
    const gone = await c.inspect().catch((x: { statusCode?: number }) => x.statusCode)
    expect(gone).toBe(404)
  }, 30_000)
})
