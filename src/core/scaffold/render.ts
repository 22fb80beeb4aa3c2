import { layoutImports } from './ts-literal.js'
import { renderString } from './handlebars.js'

/** One file scaffolding will write, relative to the target root. */
export interface PlannedFile {
  path: string
  contents: string | Uint8Array
  mode?: number
}

/** Files to write, all or nothing, plus files the plan may replace (msvc.yaml on `msvc add`). */
export interface FilePlan {
  files: PlannedFile[]
  /** paths in `files` that may already exist and are replaced atomically */
  replaces?: string[]
}

/** A template file as loaded from templates/<name>/files/. */
export interface TemplateFile {
  path: string
  contents: Uint8Array
  mode: number
}

/** templates/<name>/template.yaml */
export interface TemplateManifest {
  description?: string
  /** a file whose path matches `path` is written only when `when` is truthy in the variables */
  files?: { path: string; when: string }[]
}

/** Dotfiles are stored without the dot, since npm won't pack `.gitignore` (create-vite does the same). */
export const RENAMES: Record<string, string> = {
  _gitignore: '.gitignore',
  _dockerignore: '.dockerignore',
  _npmrc: '.npmrc',
  // Stored without the dot so that msvc's own prettier does not take them as its config here.
  '_prettierrc.json': '.prettierrc.json',
  _prettierignore: '.prettierignore',
}

/** Renders a template into a plan under `prefix`: *.hbs rendered (path too), the rest copied. */
export function renderTemplate(
  manifest: TemplateManifest,
  files: TemplateFile[],
  vars: object,
  prefix = '',
): PlannedFile[] {
  const rules = (manifest.files ?? []).map((r) => ({ match: globToRegExp(r.path), when: r.when }))
  const out: PlannedFile[] = []
  for (const file of [...files].sort((a, b) => a.path.localeCompare(b.path))) {
    const excluded = rules.some((r) => r.match.test(file.path) && !isTruthy(vars, r.when))
    if (excluded) continue
    let path = file.path.includes('{{') ? renderString(file.path, vars) : file.path
    const isTemplate = path.endsWith('.hbs')
    if (isTemplate) path = path.slice(0, -'.hbs'.length)
    const parts = path.split('/')
    const base = parts.pop()!
    parts.push(RENAMES[base] ?? base)
    path = parts.join('/')
    if (path.split('/').some((seg) => seg === '' || seg === '.' || seg === '..'))
      throw new Error(`template path ${file.path} renders to an unsafe path "${path}"`)
    const contents = isTemplate ? renderFile(file, vars, path.endsWith('.ts')) : file.contents
    out.push({ path: prefix ? `${prefix}/${path}` : path, contents, mode: file.mode })
  }
  return out
}

function renderFile(file: TemplateFile, vars: object, typescript: boolean): string {
  try {
    const text = renderString(new TextDecoder().decode(file.contents), vars)
    return typescript ? layoutImports(text) : text
  } catch (e) {
    throw new Error(`template ${file.path}: ${(e as Error).message}`, { cause: e })
  }
}

/**
 * Every path a template could write under `prefix`, whatever the variables: a pattern per file,
 * each `{{...}}` in its path matching a kebab-case name (what service and entity names are). Sync removes a file with
 * the generated line only when one of these matches it (anything else is a copy the user made).
 */
export function templatePathPatterns(files: TemplateFile[], prefix = ''): RegExp[] {
  return files.map((file) => {
    let path = file.path.endsWith('.hbs') ? file.path.slice(0, -'.hbs'.length) : file.path
    const parts = path.split('/')
    const base = parts.pop()!
    parts.push(RENAMES[base] ?? base)
    path = (prefix ? `${prefix}/` : '') + parts.join('/')
    const re = path
      .split(/\{\{[^}]*\}\}/)
      .map((piece) => piece.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('[a-z0-9]+(?:-[a-z0-9]+)*')
    return new RegExp(`^${re}$`)
  })
}

/** `when` is a dotted variable path, optionally negated with a leading `!`. */
export function isTruthy(vars: object, when: string): boolean {
  const negate = when.startsWith('!')
  const path = (negate ? when.slice(1) : when).trim().split('.')
  let v: unknown = vars
  for (const key of path)
    v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined
  const truthy = Array.isArray(v) ? v.length > 0 : Boolean(v)
  return negate ? !truthy : truthy
}

/** A glob over '/'-separated paths: `**` spans folders, `*` stays within one. */
export function globToRegExp(glob: string): RegExp {
  let re = ''
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!
    if (c === '*' && glob[i + 1] === '*') {
      re += '.*'
      i++
      if (glob[i + 1] === '/') i++
    } else if (c === '*') re += '[^/]*'
    else if (c === '?') re += '[^/]'
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&')
  }
  return new RegExp(`^${re}$`)
}

/** Total bytes of a plan, for --dry-run output. */
export const byteLength = (f: PlannedFile): number =>
  typeof f.contents === 'string' ? Buffer.byteLength(f.contents) : f.contents.byteLength
