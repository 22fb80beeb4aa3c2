import { execa, type Options } from 'execa'
import { fileURLToPath } from 'node:url'
import { stripVTControlCharacters } from 'node:util'

export const REPO = fileURLToPath(new URL('../../', import.meta.url))
export const MSVC_BIN = fileURLToPath(new URL('../../bin/msvc.js', import.meta.url))
export const CREATE_BIN = fileURLToPath(new URL('../../bin/create-service.js', import.meta.url))

export interface CliResult {
  exitCode: number
  stdout: string
  stderr: string
}

/** Runs the built bin as a user would (no TTY, CI set), never rejecting. */
export async function runBin(bin: string, args: string[], opts: Options = {}): Promise<CliResult> {
  const r = await execa('node', [bin, ...args], {
    reject: false,
    stdin: 'ignore',
    ...opts,
    env: { NO_COLOR: '1', CI: '1', ...(opts.env as Record<string, string> | undefined) },
  })
  return {
    exitCode: r.exitCode ?? -1,
    stdout: stripVTControlCharacters(String(r.stdout)),
    stderr: stripVTControlCharacters(String(r.stderr)),
  }
}

export const msvc = (args: string[], opts: Options = {}) => runBin(MSVC_BIN, args, opts)
export const createService = (args: string[], opts: Options = {}) => runBin(CREATE_BIN, args, opts)
