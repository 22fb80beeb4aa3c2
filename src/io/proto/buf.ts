import { createRequire } from 'node:module'
import { dirname, join, relative, sep } from 'node:path'
import type { ProtoProblem } from '../../core/proto/model.js'
import { parseBufJsonLines } from '../../core/proto/buf-output.js'
import type { Workspace } from '../../core/workspace/model.js'
import { UserError } from '../../errors.js'
import { run } from '../exec.js'
import { listProtoFiles } from './compile.js'

const require = createRequire(import.meta.url)

/**
 * STANDARD, except PACKAGE_DIRECTORY_MATCH: a service keeps its proto at proto/<service>.proto
 * with package <workspace>.<service>.v1, one module per service folder (docs/proto.md).
 */
export const BUF_LINT_CONFIG = {
  version: 'v2',
  lint: { use: ['STANDARD'], except: ['PACKAGE_DIRECTORY_MATCH'] },
}
// v1: a v2 config makes buf look for its module at the root of the --against input
export const BUF_BREAKING_CONFIG = { version: 'v1', breaking: { use: ['FILE'] } }

const bufBin = (): string => join(dirname(require.resolve('@bufbuild/buf/package.json')), 'bin', 'buf')

/** Services with a proto folder holding at least one .proto, sorted. */
async function protoServices(root: string, ws: Workspace): Promise<string[]> {
  const out: string[] = []
  for (const name of Object.keys(ws.services).sort())
    if ((await listProtoFiles(join(root, 'services', name, 'proto'))).length > 0) out.push(name)
  return out
}

/** `buf lint` over each service's proto folder; problems carry paths from the workspace root. */
export async function lintProtos(root: string, ws: Workspace): Promise<ProtoProblem[]> {
  const problems: ProtoProblem[] = []
  for (const service of await protoServices(root, ws)) {
    const dir = join(root, 'services', service, 'proto')
    const r = await run(
      bufBin(),
      ['lint', '--config', JSON.stringify(BUF_LINT_CONFIG), '--error-format=json'],
      {
        cwd: dir,
        timeoutMs: 60_000,
      },
    )
    if (r.exitCode === 0) continue
    problems.push(...parseBufJsonLines(r.output, `services/${service}/proto/`))
  }
  return problems
}

/** `buf breaking` of each service's proto folder against the same folder at a git ref. */
export async function breakingChanges(root: string, ws: Workspace, ref: string): Promise<ProtoProblem[]> {
  const top = await run('git', ['rev-parse', '--show-toplevel'], { cwd: root })
  if (top.exitCode !== 0)
    throw new UserError(
      'proto breaking needs the workspace in a git repository',
      'run `git init` and commit the protos first',
    )
  const gitRoot = top.output.trim()
  const verify = await run('git', ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { cwd: root })
  if (verify.exitCode !== 0)
    throw new UserError(`git ref ${ref} not found`, 'name a branch, tag or commit, e.g. --against main')
  const problems: ProtoProblem[] = []
  for (const service of await protoServices(root, ws)) {
    const dir = join(root, 'services', service, 'proto')
    const subdir = relative(gitRoot, dir).split(sep).join('/')
    const existed = await run('git', ['cat-file', '-e', `${ref}:${subdir}`], { cwd: gitRoot })
    if (existed.exitCode !== 0) continue // a service new since the ref breaks nothing
    const r = await run(
      bufBin(),
      [
        'breaking',
        '--config',
        JSON.stringify(BUF_BREAKING_CONFIG),
        '--against',
        `${join(gitRoot, '.git')}#ref=${ref},subdir=${subdir}`,
        '--against-config',
        JSON.stringify(BUF_BREAKING_CONFIG),
        '--error-format=json',
      ],
      { cwd: dir, timeoutMs: 120_000 },
    )
    if (r.exitCode === 0) continue
    problems.push(...parseBufJsonLines(r.output, `services/${service}/proto/`))
  }
  return problems
}
