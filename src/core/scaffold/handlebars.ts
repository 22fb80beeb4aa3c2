import Handlebars from 'handlebars'
import { toCamelCase, toConstantCase, toKebabCase, toPascalCase } from '../workspace/names.js'

/** The one Handlebars instance scaffolding uses, with its helpers (STYLE.md §4). */
export const hbs = Handlebars.create()

hbs.registerHelper('kebabCase', (s: string) => toKebabCase(String(s)))
hbs.registerHelper('pascalCase', (s: string) => toPascalCase(String(s)))
hbs.registerHelper('camelCase', (s: string) => toCamelCase(String(s)))
hbs.registerHelper('constantCase', (s: string) => toConstantCase(String(s)))
hbs.registerHelper('json', (v: unknown) => JSON.stringify(v))
hbs.registerHelper('eq', (a: unknown, b: unknown) => a === b)
hbs.registerHelper('not', (a: unknown) => !a)
hbs.registerHelper('and', (...args: unknown[]) => args.slice(0, -1).every(Boolean))
hbs.registerHelper('or', (...args: unknown[]) => args.slice(0, -1).some(Boolean))
hbs.registerHelper('join', (xs: unknown, sep: unknown) =>
  Array.isArray(xs) ? xs.join(typeof sep === 'string' ? sep : ', ') : '',
)

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
    if (!cache.has(source)) cache.set(source, hbs.template(spec) as HandlebarsTemplateDelegate)
}

/** Renders `source` with `vars`; a variable the template names but `vars` lacks is an error. */
export function renderString(source: string, vars: object): string {
  let fn = cache.get(source)
  if (!fn) {
    fn = hbs.compile(source, COMPILE_OPTIONS)
    cache.set(source, fn)
  }
  return fn(vars)
}
