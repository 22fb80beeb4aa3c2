import { execa } from 'execa'
import type { ComposeFlavour } from '../core/compose/cli-args.js'
import { UserError } from '../errors.js'

export interface ExecResult {
  exitCode: number
  output: string
}

/** Runs a command to completion, never rejecting; stdout and stderr interleaved. */
export async function run(
  command: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<ExecResult> {
  try {
    const r = await execa(command, args, {
      cwd: opts.cwd,
      env: opts.env,
      all: true,
      reject: false,
      stdin: 'ignore',
      ...(opts.timeoutMs ? { timeout: opts.timeoutMs } : {}),
    })
    return { exitCode: r.exitCode ?? 1, output: String(r.all ?? '') }
  } catch (e) {
    return { exitCode: 127, output: (e as Error).message }
  }
}

/** `docker compose` (v2) when the plugin answers, else `docker-compose` (v1); an error when neither does. */
export async function detectComposeFlavour(
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ flavour: ComposeFlavour; version: string }> {
  const forced = env.MSVC_COMPOSE
  if (forced !== 'v1') {
    const v2 = await run('docker', ['compose', 'version', '--short'], { timeoutMs: 10_000 })
    if (v2.exitCode === 0 && /^v?2\./.test(v2.output.trim()))
      return { flavour: 'v2', version: v2.output.trim() }
    if (forced === 'v2')
      throw new UserError(
        'MSVC_COMPOSE=v2 but `docker compose` (v2) does not answer',
        'install the compose plugin, or unset MSVC_COMPOSE',
      )
  }
  const v1 = await run('docker-compose', ['version', '--short'], { timeoutMs: 10_000 })
  if (v1.exitCode === 0) return { flavour: 'v1', version: v1.output.trim() }
  throw new UserError(
    'neither `docker compose` (v2) nor `docker-compose` (v1) is installed',
    'install Docker Compose; on Debian: apt-get install docker-compose',
  )
}
