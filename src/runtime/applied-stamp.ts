import { createHash } from 'node:crypto'
import { rm, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { writeFileAtomic } from '../io/fs.js'

/**
 * The record of the compose configuration last applied (`.msvc/compose-applied`): the hash of the
 * generated compose file and the user's override. `msvc up` with nothing rebuilt skips compose when
 * the configuration it would apply is this one and every container runs (DockerRuntime.isApplied).
 * Cleared before compose runs, written after it succeeded, so a failed `up` is never taken as applied.
 */
export const appliedStampPath = (root: string): string => join(root, '.msvc', 'compose-applied')

/**
 * The hash of a configuration: the compose YAML, the override's text and the values compose
 * substitutes into them (`interpolatedValues`: a value changed in the shell or .env changes it).
 */
export const composeConfigHash = (composeYaml: string, overrideText: string, variables = ''): string =>
  createHash('sha256').update(composeYaml).update(overrideText).update(variables).digest('hex')

/** The hash last applied; '' when none was. */
export async function readAppliedStamp(root: string): Promise<string> {
  return (await readFile(appliedStampPath(root), 'utf8').catch(() => '')).trim()
}

export async function clearAppliedStamp(root: string): Promise<void> {
  await rm(appliedStampPath(root), { force: true })
}

export async function writeAppliedStamp(root: string, hash: string): Promise<void> {
  await writeFileAtomic(appliedStampPath(root), hash + '\n')
}
