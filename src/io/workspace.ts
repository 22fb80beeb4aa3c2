import { readFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { parseWorkspace, type Problem } from '../core/workspace/parse.js'
import type { Workspace } from '../core/workspace/model.js'
import { UserError } from '../errors.js'
import { folderHolding } from './fs.js'

export const WORKSPACE_FILE = 'msvc.yaml'

export interface LoadedWorkspace {
  root: string
  file: string
  text: string
  workspace: Workspace
}

/** Walks up from `cwd` to the nearest folder holding msvc.yaml. */
export async function findWorkspaceRoot(cwd: string): Promise<string | undefined> {
  return folderHolding(WORKSPACE_FILE, cwd)
}

/** Finds, reads and validates msvc.yaml; every failure is a UserError naming file:line:col. */
export async function loadWorkspace(cwd: string): Promise<LoadedWorkspace> {
  const root = await findWorkspaceRoot(cwd)
  if (!root)
    throw new UserError(
      `no ${WORKSPACE_FILE} found in ${cwd} or any folder above it`,
      'run this inside a workspace, or create one with `npx create-service <name>`',
    )
  const file = join(root, WORKSPACE_FILE)
  const text = await readFile(file, 'utf8')
  const result = parseWorkspace(text)
  if (!result.ok) throw toWorkspaceError(relative(cwd, file) || WORKSPACE_FILE, result.problems)
  return { root, file, text, workspace: result.workspace }
}

/** One line for the first problem, the others counted in the hint. */
export function toWorkspaceError(file: string, problems: Problem[]): UserError {
  const [first] = problems
  if (!first) return new UserError(`${file} is invalid`)
  const more =
    problems.length > 1
      ? ` (${problems.length - 1} more problem${problems.length > 2 ? 's' : ''}: ${problems
          .slice(1, 4)
          .map((p) => `${p.line}:${p.col} ${p.message}`)
          .join('; ')})`
      : ''
  return new UserError(
    `${file}:${first.line}:${first.col} ${first.message}`,
    (first.hint ?? 'fix msvc.yaml and run the command again') + more,
  )
}
