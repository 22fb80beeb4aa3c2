import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { dirname, join, relative, sep } from 'node:path'
import { parse } from 'yaml'
import type { LoadedTemplate, TemplateSet } from '../core/scaffold/plan.js'
import type { TemplateFile, TemplateManifest } from '../core/scaffold/render.js'
import { usePrecompiled } from '../core/scaffold/handlebars.js'
import { folderHolding } from './fs.js'
import { UserError } from '../errors.js'

/**
 * templates/ ships beside dist/ in the package (`"files"` in package.json): found from the folder
 * above this module that has msvc's package.json, the same from src/io/ (tests) and from a chunk
 * of the bundle in dist/ (scripts/build.mjs).
 */
export const TEMPLATES_DIR = join(packageRoot(fileURLToPath(import.meta.url)), 'templates')

/** examples/ ships beside templates/: the systems `create-service --example` writes. */
export const EXAMPLES_DIR = join(packageRoot(fileURLToPath(import.meta.url)), 'examples')

export function packageRoot(from: string): string {
  const root = folderHolding('package.json', dirname(from))
  if (root === undefined) throw new Error(`no package.json above ${from}`)
  return root
}

/**
 * Reads templates/<name>/template.yaml and every file under templates/<name>/files/.
 * Synchronously: about 70 small files, read in 3-5 ms this way against about 30 ms through
 * fs/promises (a thread-pool round trip and two promises per file), measured for issue #2.
 */
export async function loadTemplate(name: string, dir = TEMPLATES_DIR): Promise<LoadedTemplate> {
  const root = join(dir, name)
  const manifest = (parse(readFileSync(join(root, 'template.yaml'), 'utf8')) ?? {}) as TemplateManifest
  const filesRoot = join(root, 'files')
  const files: TemplateFile[] = []
  for (const entry of readdirSync(filesRoot, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue
    const full = join(entry.parentPath, entry.name)
    // Tests of the kit run in this repository and in the workspace alike; test scratch is not shipped.
    const path = relative(filesRoot, full).split(sep).join('/')
    if (path.includes('node_modules/') || path.startsWith('dist/') || path.includes('/dist/')) continue
    const mode = statSync(full).mode & 0o111 ? 0o755 : 0o644
    files.push({ path, contents: readFileSync(full), mode })
  }
  return { manifest, files }
}

/** Stands for a gateway template the folder lacks: rendering from it says so. */
const MISSING_GATEWAY: LoadedTemplate = {
  manifest: {},
  get files(): never {
    throw new UserError(
      'this templates folder has no gateway template',
      'add templates/gateway, or use the shipped templates',
    )
  },
}

export async function loadTemplateSet(dir = TEMPLATES_DIR): Promise<TemplateSet> {
  const [workspace, service, gateway] = await Promise.all([
    loadTemplate('workspace', dir),
    loadTemplate('service', dir),
    // a templates folder of one's own (MSVC_TEMPLATES_DIR) may have no gateway: only adding one needs it
    existsSync(join(dir, 'gateway')) ? loadTemplate('gateway', dir) : MISSING_GATEWAY,
    loadPrecompiled(),
  ])
  return { workspace, service, gateway }
}

/**
 * The templates precompiled by `npm run build` (scripts/precompile-templates.mjs), if this is a
 * build that has them: a cache keyed by source text, so an edited template is simply compiled.
 * The build writes them beside its bundle's chunks, this module's among them; sources have none.
 */
async function loadPrecompiled(): Promise<void> {
  const url = new URL('./templates.precompiled.js', import.meta.url).href
  try {
    const mod = (await import(url)) as {
      default: [string, TemplateSpecification][]
      options: Record<string, unknown>
    }
    usePrecompiled(mod.default, mod.options)
  } catch (e) {
    // running from sources (tests): nothing precompiled, everything is compiled when rendered
    if ((e as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw e
  }
}
