/** Names and the rules they follow: service names are DNS-1123 labels (they become hostnames). */

export const DNS_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/
export const EVENT_TYPE = /^[a-z][a-z0-9]*(\.[a-z][a-z0-9]*)+$/

/**
 * Names msvc's own stack uses or will use on the compose network (broker, gateway,
 * observability, chaos helpers) and names the workspace itself takes (kit, clients).
 */
export const RESERVED_NAMES = new Set([
  'nats',
  'gateway',
  'prometheus',
  'grafana',
  'jaeger',
  'otel-collector',
  'msvc',
  'msvc-chaos',
  'msvc-proxy',
  'toxiproxy',
  'kit',
  'clients',
  'localhost',
])

/**
 * Why `name` is not a DNS-1123 label (the names compose, Docker and Kubernetes accept), or
 * undefined when it is one. Workspace and service names both must be.
 */
export function checkDnsLabel(name: string): string | undefined {
  if (name.length === 0) return 'a name cannot be empty'
  if (name.length > 63) return `"${name.slice(0, 20)}…" is ${name.length} characters; at most 63 are allowed`
  if (!DNS_LABEL.test(name)) {
    if (/[A-Z]/.test(name)) return `"${name}" has uppercase letters; use lowercase (${name.toLowerCase()})`
    if (/^[0-9]/.test(name)) return `"${name}" starts with a digit; a name must start with a letter`
    if (name.includes('_')) return `"${name}" has an underscore; use a hyphen (${name.replaceAll('_', '-')})`
    return `"${name}" is not a DNS-1123 label (lowercase letters, digits and inner hyphens)`
  }
  return undefined
}

/** Why `name` cannot be a service name (not a DNS label, or one msvc's own stack uses), or undefined. */
export function checkServiceName(name: string): string | undefined {
  return (
    checkDnsLabel(name) ??
    (RESERVED_NAMES.has(name) ? `"${name}" is reserved for msvc's own stack` : undefined)
  )
}

/** Why `type` cannot be an event type, or undefined when it can. */
export function checkEventType(type: string): string | undefined {
  if (!EVENT_TYPE.test(type))
    return `event type "${type}" is not lowercase.dotted (for example order.created)`
  return undefined
}

function words(s: string): string[] {
  return s
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w.toLowerCase())
}

export const toKebabCase = (s: string): string => words(s).join('-')
export const toPascalCase = (s: string): string =>
  words(s)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('')
export const toCamelCase = (s: string): string => {
  const p = toPascalCase(s)
  return p.length === 0 ? p : p[0]!.toLowerCase() + p.slice(1)
}
export const toConstantCase = (s: string): string => words(s).join('_').toUpperCase()

/**
 * The environment variables a caller reads to reach `callee`: compose writes them and the
 * generated config.ts reads them, so both take the names from here (issue #13, item 2).
 */
export const toCalleeEnv = (callee: string) => ({
  url: `${toConstantCase(callee)}_URL`,
  grpcAddress: `${toConstantCase(callee)}_GRPC_ADDRESS`,
})

/** English plural of a kebab-case noun, for default resource names (order -> orders). */
export function toPlural(noun: string): string {
  // already plural: a consonant and an s (order-items, payments); not status, address, canvas
  if (/[^aeiousxz]s$/.test(noun)) return noun
  if (/(s|x|z|ch|sh)$/.test(noun)) return noun + 'es'
  if (/[^aeiou]y$/.test(noun)) return noun.slice(0, -1) + 'ies'
  return noun + 's'
}

/** Singular of a plural kebab-case noun, for aggregate names (payments -> payment). */
export function toSingular(noun: string): string {
  if (/ies$/.test(noun)) return noun.slice(0, -3) + 'y'
  if (/(ss|us|x|z|ch|sh)es$/.test(noun)) return noun.slice(0, -2)
  if (/ss$/.test(noun)) return noun
  if (/s$/.test(noun)) return noun.slice(0, -1)
  return noun
}
