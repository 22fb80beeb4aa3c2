import type Dockerode from 'dockerode'
import { toEngineHint } from '../core/docker-hints.js'
import { UserError } from '../errors.js'

let client: Dockerode | undefined

/** The engine client (dockerode), created once; honours DOCKER_HOST. */
export async function docker(): Promise<Dockerode> {
  if (!client) {
    const { default: Docker } = await import('dockerode')
    client = new Docker()
  }
  return client
}

/** Fails with a one-line fix when no engine answers. */
export async function assertEngine(): Promise<Dockerode> {
  const d = await docker()
  try {
    await d.ping()
    return d
  } catch (e) {
    throw toEngineError(e)
  }
}

export function toEngineError(e: unknown): UserError {
  const code = (e as { code?: string }).code
  const where = process.env.DOCKER_HOST ?? '/var/run/docker.sock'
  if (code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'EACCES')
    return new UserError(`cannot reach the Docker engine at ${where} (${code})`, toEngineHint(code))
  return new UserError(`the Docker engine failed: ${(e as Error).message}`, 'run `msvc doctor`')
}
