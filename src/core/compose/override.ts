import { parse, stringify } from 'yaml'
import { UserError } from '../errors.js'
import { LABEL } from './build-stack.js'

/**
 * The user's own additions to the stack: compose's convention, a docker-compose.override.yml
 * beside the generated docker-compose.yml, merged on top of it. Compose reads it by itself only
 * when no -f is given; msvc always passes -f, so it passes this file too.
 */
export const OVERRIDE_FILES = ['docker-compose.override.yml', 'docker-compose.override.yaml'] as const

/** Where msvc writes the labels it puts on the override's own services (a third -f file). */
export const EXTRA_LABELS_FILE = '.msvc/compose.extra-labels.yml'

/** Marks a container whose service comes from the override file, not from msvc.yaml. */
export const EXTRA_LABEL = 'msvc.extra'

/**
 * The services an override file declares, split into those msvc.yaml also has (the user changes
 * them: an extra environment variable, a volume) and those only the override has (a container the
 * stack lacks, such as Consul). Bad YAML or a shape compose would refuse is a UserError naming the file.
 */
export function readOverride(
  fileName: string,
  text: string,
  generated: readonly string[],
): { changed: string[]; extra: string[] } {
  let doc: unknown
  try {
    doc = parse(text)
  } catch (e) {
    const first = (e as Error).message.split('\n')[0]
    throw new UserError(`${fileName} is not valid YAML: ${first}`, `fix ${fileName}, or move it away`)
  }
  if (doc === null || doc === undefined) return { changed: [], extra: [] }
  const services = (doc as { services?: unknown }).services
  if (typeof doc !== 'object' || Array.isArray(doc) || (services !== undefined && !isMap(services)))
    throw new UserError(
      `${fileName} has no "services:" map`,
      `compose merges it over docker-compose.yml: services: { <name>: { image: ... } }`,
    )
  const names = Object.keys((services as Record<string, unknown> | undefined) ?? {})
  for (const name of names)
    if (!isMap((services as Record<string, unknown>)[name]))
      throw new UserError(
        `${fileName}: service "${name}" is not a map`,
        `for example ${name}: { image: consul:1.15 }`,
      )
  const known = new Set(generated)
  return { changed: names.filter((n) => known.has(n)), extra: names.filter((n) => !known.has(n)) }
}

const isMap = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * The compose file that labels the override's own services as this workspace's, so that msvc (which
 * finds containers by label only) lists, waits for, shows the logs of and removes them like the rest.
 */
export function extraLabelsYaml(workspace: string, extra: readonly string[]): string {
  const services = Object.fromEntries(
    extra.map((name) => [
      name,
      { labels: { [LABEL.workspace]: workspace, [LABEL.service]: name, [EXTRA_LABEL]: 'true' } },
    ]),
  )
  return (
    '# Written by msvc: labels for the services of docker-compose.override.yml.\n' + stringify({ services })
  )
}
