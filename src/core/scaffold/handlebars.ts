import { createRequire } from 'node:module'
import type HandlebarsApi from 'handlebars'
import Runtime from 'handlebars/runtime.js'
import { toCamelCase, toConstantCase, toKebabCase, toPascalCase } from '../workspace/names.js'
import { toJsString, toPropertyKey } from './event-vars.js'

type Env = typeof HandlebarsApi

/** Registers the helpers every template may use (STYLE.md §4) on a Handlebars environment. */
function withHelpers(env: Env): Env {
  env.registerHelper('kebabCase', (s: string) => toKebabCase(String(s)))
  env.registerHelper('pascalCase', (s: string) => toPascalCase(String(s)))
  env.registerHelper('camelCase', (s: string) => toCamelCase(String(s)))
  env.registerHelper('constantCase', (s: string) => toConstantCase(String(s)))
  env.registerHelper('json', (v: unknown) => JSON.stringify(v))
  // a TypeScript string literal as the workspace's prettier writes it (single quotes)
  env.registerHelper('str', (v: unknown) => toJsString(String(v)))
  // an object key as prettier writes it: bare when an identifier, else single-quoted
  env.registerHelper('propKey', (v: unknown) => toPropertyKey(String(v)))
  env.registerHelper('eq', (a: unknown, b: unknown) => a === b)
  env.registerHelper('not', (a: unknown) => !a)
  env.registerHelper('and', (...args: unknown[]) => args.slice(0, -1).every(Boolean))
  env.registerHelper('or', (...args: unknown[]) => args.slice(0, -1).some(Boolean))
  env.registerHelper('join', (xs: unknown, sep: unknown) =>
    Array.isArray(xs) ? xs.join(typeof sep === 'string' ? sep : ', ') : '',
  )
  return env
}

/**
 * Templates precompiled at build time run on Handlebars' runtime alone; the compiler (twice the
 * load time, 10-20 ms) is loaded only when a template's text was not precompiled (issue #2).
 */
const runtime = withHelpers((Runtime as unknown as Env).create())
let compiler: Env | undefined
const compilerEnv = (): Env =>
  (compiler ??= withHelpers((createRequire(import.meta.url)('handlebars') as Env).create()))

/** The compile options of every template (scripts/precompile-templates.mjs uses the same). */
export const COMPILE_OPTIONS = { strict: true, noEscape: true } as const

const cache = new Map<string, HandlebarsTemplateDelegate>()

/**
 * Templates compiled at build time, keyed by their exact source: rendering one of these sources
 * skips Handlebars' parser and code generator. Specs compiled with other options are ignored.
 */
export function usePrecompiled(
  entries: Iterable<[string, TemplateSpecification]>,
  options: Record<string, unknown>,
): void {
  if (Object.entries(COMPILE_OPTIONS).some(([k, v]) => options[k] !== v)) return
  for (const [source, spec] of entries)
    if (!cache.has(source)) cache.set(source, runtime.template(spec) as HandlebarsTemplateDelegate)
}

/** Renders `source` with `vars`; a variable the template names but `vars` lacks is an error. */
export function renderString(source: string, vars: object): string {
  let fn = cache.get(source)
  if (!fn) {
    fn = compilerEnv().compile(source, COMPILE_OPTIONS)
    cache.set(source, fn)
  }
  return fn(vars)
}
