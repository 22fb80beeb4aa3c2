import { execFile } from 'node:child_process'
import { access, constants } from 'node:fs/promises'
import { homedir } from 'node:os'
import { delimiter, join } from 'node:path'
import type { ComposeFlavour } from '../core/compose/cli-args.js'
import { UserError } from '../errors.js'

export interface ExecResult {
  exitCode: number
  output: string
}

/** Runs a command to completion, never rejecting; stdout and stderr interleaved (execa). */
export async function run(
  command: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<ExecResult> {
  // imported when first needed: execa is about a hundred ES modules, 50-150 ms to load here
  const { execa } = await import('execa')
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

/**
 * Runs a short command to completion through node:child_process, never rejecting; the output is
 * stdout then stderr. For paths that must start fast (a chaos fault takes effect within 250 ms,
 * scaffolding within 300 ms: issues #6 and #2), where loading execa would cost more than the
 * command itself; measured with --cpu-prof (docs/architecture.md).
 */
export function runQuick(
  command: string,
  args: string[],
  opts: { cwd?: string; timeoutMs?: number } = {},
): Promise<ExecResult> {
  return new Promise((resolve) => {
    const child = execFile(
      command,
      args,
      { cwd: opts.cwd, timeout: opts.timeoutMs ?? 0, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const e = err as (Error & { code?: number | string }) | null
        // not started (ENOENT, EACCES) or killed by the timeout
        if (e && typeof e.code !== 'number')
          return resolve({ exitCode: 127, output: `${stderr}${e.message}` })
        resolve({ exitCode: e ? (e.code as number) : 0, output: `${stdout}${stderr}` })
      },
    )
    child.stdin?.end()
  })
}

/** `docker compose` (v2) when the plugin answers, else `docker-compose` (v1); an error when neither does. */
export async function detectComposeFlavour(
  env: NodeJS.ProcessEnv = process.env,
  opts: { version?: boolean } = {},
): Promise<{ flavour: ComposeFlavour; version: string }> {
  const forced = env.MSVC_COMPOSE
  // Asking `docker compose version` costs a docker CLI start, and `docker-compose version` a Python
  // start (~0.3 s): only ask v2 when its plugin file exists (or it is forced), and skip the v1 call
  // when docker-compose is on PATH and no version is wanted (warm `msvc up`, issue #5).
  if (forced === 'v2' || (forced !== 'v1' && (await hasComposePlugin(env)))) {
    const v2 = await run('docker', ['compose', 'version', '--short'], { env, timeoutMs: 10_000 })
    if (v2.exitCode === 0 && /^v?2\./.test(v2.output.trim()))
      return { flavour: 'v2', version: v2.output.trim() }
    if (forced === 'v2')
      throw new UserError(
        'MSVC_COMPOSE=v2 but `docker compose` (v2) does not answer',
        'install the compose plugin, or unset MSVC_COMPOSE',
      )
  }
  if (!opts.version && (await onPath('docker-compose', env))) return { flavour: 'v1', version: '' }
  const v1 = await run('docker-compose', ['version', '--short'], { env, timeoutMs: 10_000 })
  if (v1.exitCode === 0) return { flavour: 'v1', version: v1.output.trim() }
  throw new UserError(
    'neither `docker compose` (v2) nor `docker-compose` (v1) is installed',
    'install Docker Compose; on Debian: apt-get install docker-compose',
  )
}

/** Where the docker CLI looks for plugins (its documented search path, plus DOCKER_CONFIG). */
function composePluginPaths(env: NodeJS.ProcessEnv): string[] {
  const home = env.DOCKER_CONFIG ?? join(env.HOME ?? homedir(), '.docker')
  return [
    join(home, 'cli-plugins'),
    '/usr/local/lib/docker/cli-plugins',
    '/usr/local/libexec/docker/cli-plugins',
    '/usr/lib/docker/cli-plugins',
    '/usr/libexec/docker/cli-plugins',
  ].map((dir) => join(dir, 'docker-compose'))
}

async function isExecutable(file: string): Promise<boolean> {
  return access(file, constants.X_OK).then(
    () => true,
    () => false,
  )
}

async function hasComposePlugin(env: NodeJS.ProcessEnv): Promise<boolean> {
  for (const f of composePluginPaths(env)) if (await isExecutable(f)) return true
  return false
}

async function onPath(command: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  for (const dir of (env.PATH ?? '').split(delimiter))
    if (dir && (await isExecutable(join(dir, command)))) return true
  return false
}
