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

/** `client` once the engine answers it; a one-line fix (UserError) when it does not. Either client. */
export async function answering<T extends { ping(): Promise<unknown> }>(client: T): Promise<T> {
  try {
    await client.ping()
    return client
  } catch (e) {
    throw toEngineError(e)
  }
}

/** dockerode, once the engine answers (the runtime's client: image builds, volumes, log streams). */
export const assertEngine = async (): Promise<Dockerode> => answering(await docker())

export function toEngineError(e: unknown): UserError {
  const code = (e as { code?: string }).code
  const where = process.env.DOCKER_HOST ?? '/var/run/docker.sock'
  if (code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'EACCES')
    return new UserError(`cannot reach the Docker engine at ${where} (${code})`, toEngineHint(code))
  return new UserError(`the Docker engine failed: ${(e as Error).message}`, 'run `msvc doctor`')
}
