import type { Ctx } from '../context.js'
import { parseDuration } from '../core/chaos/units.js'
import { findGateway, type Workspace } from '../core/workspace/model.js'
import { UserError } from '../errors.js'
import { ensureDevSecret, readDevSecret } from '../io/dotenv.js'
import { loadWorkspace } from '../io/workspace.js'
import { parseAuthRule } from '../../templates/workspace/files/packages/kit/src/gateway/auth-rule.js'
import { signToken } from '../../templates/workspace/files/packages/kit/src/gateway/auth.js'

export interface TokenCliOptions {
  sub?: string
  roles?: string
  ttl?: string
  init?: boolean
}

/** The longest a development token may live: a day's work and a night's load test. */
const MAX_TTL_MS = 24 * 3_600_000

/**
 * `msvc token`: a development token the workspace's gateway accepts, signed HS256 with the secret
 * in .env (the same one compose hands the gateway), carrying the gateway's issuer and audience
 * when msvc.yaml sets them. Printed alone on stdout, so `$(msvc token)` works in a shell.
 */
export async function runToken(opts: TokenCliOptions, ctx: Ctx): Promise<void> {
  const { root, workspace } = await loadWorkspace(ctx.cwd)
  const gateway = findGateway(workspace)
  if (!gateway)
    throw new UserError('the workspace has no gateway to take a token', 'add one: msvc add gateway --gateway')
  const sub = opts.sub ?? 'dev'
  if (!/^[\x21-\x7e]{1,256}$/.test(sub))
    throw new UserError(
      `--sub "${sub}" is not a subject`,
      'up to 256 visible ASCII characters, e.g. --sub alice',
    )
  const roles = (opts.roles ?? '')
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean)
  if (roles.length) {
    const rule = parseAuthRule(`jwt(roles=${roles.join(',')})`)
    if ('error' in rule) throw new UserError(`--roles: ${rule.error}`, 'for example --roles admin,ops')
  }
  const ttlMs = parseDuration(opts.ttl ?? '1h')
  if (ttlMs === undefined || ttlMs < 1000 || ttlMs > MAX_TTL_MS)
    throw new UserError(`--ttl "${opts.ttl}" is not a duration from 1s to 24h`, 'for example --ttl 15m')
  if (opts.init && (await ensureDevSecret(root)))
    ctx.ui.info('wrote a development secret to .env (git-ignored)')
  ctx.ui.data(await mintDevToken(root, workspace, { sub, roles, ttlSec: Math.round(ttlMs / 1000) }))
}

/**
 * A development token for the workspace's gateway: HS256 with the .env secret, the gateway's
 * issuer and audience when msvc.yaml sets them (`msvc token`, `msvc loadtest --auth`).
 */
export async function mintDevToken(
  root: string,
  workspace: Workspace,
  claims: { sub: string; roles: string[]; ttlSec: number },
): Promise<string> {
  const gateway = findGateway(workspace)
  if (!gateway)
    throw new UserError('the workspace has no gateway to take a token', 'add one: msvc add gateway --gateway')
  const secret = await readDevSecret(root)
  if (!secret)
    throw new UserError(
      '.env has no MSVC_JWT_SECRET to sign with',
      'run msvc up (it writes one), or msvc token --init',
    )
  const jwt = workspace.services[gateway]!.gateway!.jwt
  return signToken(secret, {
    sub: claims.sub,
    ...(claims.roles.length ? { roles: claims.roles } : {}),
    ttlSec: claims.ttlSec,
    ...(jwt.issuer !== undefined ? { issuer: jwt.issuer } : {}),
    ...(jwt.audience !== undefined ? { audience: jwt.audience } : {}),
  })
}
