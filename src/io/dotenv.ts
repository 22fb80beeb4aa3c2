import { randomBytes } from 'node:crypto'
import { chmod, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { appendDotEnv, ignoresDotEnv, parseDotEnv } from '../core/dotenv.js'
import { JWT_SECRET_VAR } from '../core/compose/build-stack.js'
import type { PlannedFile } from '../core/scaffold/render.js'
import { writeFileAtomic } from './fs.js'

const readText = (path: string) => readFile(path, 'utf8').catch(() => undefined)

/** The gateway's development secret from the workspace's .env, if it has one. */
export async function readDevSecret(root: string): Promise<string | undefined> {
  const text = await readText(join(root, '.env'))
  const value = text === undefined ? undefined : parseDotEnv(text).get(JWT_SECRET_VAR)
  return value === undefined || value === '' ? undefined : value
}

/**
 * What giving the workspace a development secret changes: `.env` with MSVC_JWT_SECRET (32 random
 * bytes, base64url) when it has none, and `.gitignore` with `.env` when it does not ignore it
 * (created when missing: the secret must never be committed).
 * Nothing when both are in place. Existing lines are kept.
 */
export async function devSecretEdits(root: string): Promise<PlannedFile[]> {
  const [env, ignore] = await Promise.all([readText(join(root, '.env')), readText(join(root, '.gitignore'))])
  const out: PlannedFile[] = []
  if (env === undefined || !parseDotEnv(env).get(JWT_SECRET_VAR)) out.push(newDevSecretFile(env))
  if (ignore === undefined) out.push({ path: '.gitignore', contents: '.env\n' })
  else if (!ignoresDotEnv(ignore))
    out.push({ path: '.gitignore', contents: `${ignore.endsWith('\n') ? ignore : `${ignore}\n`}.env\n` })
  return out
}

/** Writes the edits devSecretEdits plans (msvc up, msvc token --init); true when it wrote any. */
export async function ensureDevSecret(root: string): Promise<boolean> {
  const edits = await devSecretEdits(root)
  for (const f of edits) {
    await writeFileAtomic(join(root, f.path), f.contents)
    if (f.mode !== undefined) await chmod(join(root, f.path), f.mode)
  }
  return edits.length > 0
}

/** `.env` with a fresh development secret (32 random bytes, base64url) after what it held. */
export function newDevSecretFile(existing?: string): PlannedFile {
  const secret = randomBytes(32).toString('base64url')
  const comment = "the gateway's HS256 secret for development tokens (msvc token): never commit it"
  return { path: '.env', contents: appendDotEnv(existing, JWT_SECRET_VAR, secret, comment), mode: 0o600 }
}
