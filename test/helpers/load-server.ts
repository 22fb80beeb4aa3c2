import { execa, type ResultPromise } from 'execa'
import { fileURLToPath } from 'node:url'

const SCRIPT = fileURLToPath(new URL('./load-server.mjs', import.meta.url))

export interface LoadServer {
  port: number
  /** epoch ms its stall schedule is counted from */
  t0: number
  url: string
  stop(): Promise<void>
}

/** Starts test/helpers/load-server.mjs in a child process on a free port of 127.0.0.1. */
export async function startLoadServer(
  o: {
    stallEveryMs?: number
    stallMs?: number
    delayMs?: number
    firstStallInMs?: number
    maxRequestsPerSocket?: number
  } = {},
): Promise<LoadServer> {
  const child: ResultPromise = execa('node', [SCRIPT, JSON.stringify(o)], { reject: false, stdin: 'ignore' })
  const first = await new Promise<string>((resolve, reject) => {
    let buf = ''
    child.stdout!.on('data', (c: Buffer) => {
      buf += c.toString()
      if (buf.includes('\n')) resolve(buf.split('\n')[0]!)
    })
    child.once('exit', () => reject(new Error('load server exited before listening')))
  })
  const { port, t0 } = JSON.parse(first) as { port: number; t0: number }
  return {
    port,
    t0,
    url: `http://127.0.0.1:${port}`,
    async stop() {
      child.kill('SIGTERM')
      await child
    },
  }
}
