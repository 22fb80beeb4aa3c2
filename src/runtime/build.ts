import { createHash } from 'node:crypto'
import { readFile, readdir, writeFile } from 'node:fs/promises'
import { join, relative, sep } from 'node:path'
import type Dockerode from 'dockerode'
import { LABEL, imageTag } from '../core/compose/build-stack.js'
import { UserError } from '../errors.js'
import { exists } from '../io/fs.js'
import { run } from '../io/exec.js'

const SKIP_DIRS = new Set(['node_modules', 'dist', 'test', '.git', 'coverage'])
const INPUTS_FILE = '.msvc-inputs'

/** Hash of every file under `dirs` (names and contents), skipping build output and tests. */
export async function hashTree(root: string, paths: string[]): Promise<string> {
  const h = createHash('sha256')
  const files: string[] = []
  const walk = async (dir: string) => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, e.name)
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name)) await walk(full)
      } else if (e.isFile()) files.push(full)
    }
  }
  for (const p of paths) {
    const full = join(root, p)
    if (!(await exists(full))) continue
    if ((await readdir(full, { withFileTypes: true }).catch(() => null)) === null) files.push(full)
    else await walk(full)
  }
  files.sort()
  // read concurrently (a warm `msvc up` is mostly this), hash in a fixed order
  const contents = await Promise.all(files.map((f) => readFile(f)))
  files.forEach((f, i) => {
    h.update(relative(root, f).split(sep).join('/') + '\0')
    h.update(contents[i]!)
    h.update('\0')
  })
  return h.digest('hex').slice(0, 16)
}

/** What every service's bundle depends on besides its own folder: the kit, clients, build script, lockfile. */
export function hashSharedInputs(root: string): Promise<string> {
  return hashTree(root, ['packages', 'scripts', 'package-lock.json', 'tsconfig.base.json'])
}

/**
 * Bundles a service on the host into dist/ (esbuild, via the workspace's own build script)
 * unless its inputs are unchanged since the last bundle. Type errors are the business of the
 * workspace's `npm run build`; a bundle fails on syntax and import errors, shown in full.
 */
export async function bundleService(root: string, service: string, shared?: string): Promise<boolean> {
  const dir = join(root, 'services', service)
  const inputs = `${await hashTree(root, [`services/${service}`])}-${shared ?? (await hashSharedInputs(root))}`
  const stamp = join(dir, 'dist', INPUTS_FILE)
  if ((await exists(join(dir, 'dist/main.js'))) && (await readFile(stamp, 'utf8').catch(() => '')) === inputs)
    return false
  if (!(await exists(join(root, 'node_modules'))))
    throw new UserError('the workspace has no node_modules', 'run `npm install` in the workspace first')
  const r = await run('node', ['../../scripts/build-service.mjs'], { cwd: dir })
  if (r.exitCode !== 0)
    throw new UserError(
      `building ${service} failed:\n${r.output.trim()}`,
      `fix the error above, then run msvc up again`,
    )
  await writeFile(stamp, inputs)
  return true
}

/** Builds the thin image through the engine API unless an image with the same content hash exists. */
export async function buildServiceImage(
  d: Dockerode,
  root: string,
  ws: string,
  service: string,
  baseImage: string,
): Promise<boolean> {
  const dir = join(root, 'services', service)
  // the base image is an input too: choosing another in msvc.yaml rebuilds the image
  const hash = createHash('sha256')
    .update(
      `${await hashTree(dir, ['Dockerfile', '.dockerignore', 'dist/main.js', 'dist/drizzle'])}-${baseImage}`,
    )
    .digest('hex')
  const tag = imageTag(ws, service)
  const existing = await d
    .getImage(tag)
    .inspect()
    .catch(() => undefined)
  if (existing?.Config?.Labels?.[LABEL.hash] === hash) return false
  const { pack } = await import('tar-fs')
  // Only the Dockerfile and the bundle go to the engine: the context is a few hundred KiB.
  const context = pack(dir, { entries: ['Dockerfile', 'dist'] })
  const stream = await d.buildImage(context as unknown as NodeJS.ReadableStream, {
    t: tag,
    buildargs: { BASE_IMAGE: baseImage },
    labels: { [LABEL.workspace]: ws, [LABEL.service]: service, [LABEL.hash]: hash },
    rm: true,
    forcerm: true,
  })
  const output: string[] = []
  await new Promise<void>((resolve, reject) => {
    d.modem.followProgress(
      stream,
      (err: Error | null) => (err ? reject(err) : resolve()),
      (event: { stream?: string; error?: string; errorDetail?: { message?: string } }) => {
        if (event.stream) output.push(event.stream)
        if (event.error)
          reject(
            new UserError(
              `image build of ${service} failed: ${event.error.trim()}`,
              output.join('').trim().split('\n').slice(-5).join(' | ') || 'see the Dockerfile',
            ),
          )
      },
    )
  })
  return true
}
