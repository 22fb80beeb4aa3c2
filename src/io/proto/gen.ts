import { readdir, readFile, rm } from 'node:fs/promises'
import { join, sep } from 'node:path'
import { GEN_DIR, isGeneratedText, type CompiledProto, type ProtoProblem } from '../../core/proto/model.js'
import { planClients, type ClientsPlan } from '../../core/proto/plan.js'
import { hasCapability, type Workspace } from '../../core/workspace/model.js'
import { exists, listFilesUnder, writeFileAtomic } from '../fs.js'
import { compileServiceProtos, listProtoFiles } from './compile.js'
import type { WarmPlugin } from './plugin.js'
import type { EarlyCompile } from './protoc-run.js'

/** What generation would change on disk. */
export interface ClientsDiff {
  /** generated files to write (new or different) */
  write: { path: string; contents: string }[]
  /** generated files no longer produced, to remove */
  remove: string[]
  /** package files written only because they are missing */
  create: { path: string; contents: string }[]
  /** files under the generated folder that were not generated: never touched */
  handWritten: string[]
}

export type GenerateResult =
  | { ok: true; plan: ClientsPlan; diff: ClientsDiff; protoCount: number }
  | { ok: false; problems: ProtoProblem[] }

/** The .proto files of each service, with the errors of a grpc service without one, or a proto without grpc. */
export async function findWorkspaceProtos(
  root: string,
  ws: Workspace,
): Promise<{ byService: Map<string, string[]>; problems: ProtoProblem[] }> {
  const byService = new Map<string, string[]>()
  const problems: ProtoProblem[] = []
  for (const name of Object.keys(ws.services).sort()) {
    const spec = ws.services[name]!
    const files = await listProtoFiles(join(root, 'services', name, 'proto'))
    if (hasCapability(spec, 'grpc') && files.length === 0)
      problems.push({
        file: `services/${name}/proto`,
        message: `${name} has the grpc capability but no .proto file (expected services/${name}/proto/${name}.proto)`,
      })
    else if (!hasCapability(spec, 'grpc') && files.length > 0)
      problems.push({
        file: `services/${name}/proto/${files[0]}`,
        message: `${name} has a .proto but not the grpc capability in msvc.yaml, so nothing serves it: add grpc to its capabilities or remove the file`,
      })
    if (files.length > 0) byService.set(name, files)
  }
  return { byService, problems }
}

/** Compiles every proto of the workspace and works out what would change; writes nothing. */
export async function generateClients(
  root: string,
  ws: Workspace,
  opts: { warm?: WarmPlugin[]; early?: Map<string, EarlyCompile> } = {},
): Promise<GenerateResult> {
  const warm = [...(opts.warm ?? [])]
  try {
    return await generate(root, ws, warm, opts.early ?? new Map())
  } finally {
    for (const w of warm) w.dispose()
  }
}

async function generate(
  root: string,
  ws: Workspace,
  warm: WarmPlugin[],
  early: Map<string, EarlyCompile>,
): Promise<GenerateResult> {
  const { byService, problems } = await findWorkspaceProtos(root, ws)
  if (problems.length > 0) return { ok: false, problems }
  // each warm plugin serves one service (it reads one request); the rest run through protoc
  const results = await Promise.all(
    [...byService].map(([service, files]) =>
      early.has(service)
        ? compileServiceProtos(root, service, files, undefined, early.get(service))
        : compileServiceProtos(root, service, files, warm.shift()),
    ),
  )
  const failed = results.flatMap((r) => (r.ok ? [] : r.problems))
  if (failed.length > 0) return { ok: false, problems: failed }
  const protos: CompiledProto[] = results.flatMap((r) => (r.ok ? r.protos : []))
  // no proto and no clients package yet (a workspace without grpc, as create-service leaves it):
  // nothing to generate, rather than an empty package that sync --check would call missing
  if (protos.length === 0 && !(await exists(join(root, 'packages', 'clients'))))
    return {
      ok: true,
      plan: { generated: [], scaffold: [] },
      diff: { write: [], remove: [], create: [], handWritten: [] },
      protoCount: 0,
    }
  const planned = planClients(ws, protos)
  if (!planned.ok) return { ok: false, problems: planned.problems }
  const diff = await diffWithDisk(root, planned.plan)
  if (diff.handWritten.length > 0 && diff.write.some((w) => diff.handWritten.includes(w.path)))
    return {
      ok: false,
      problems: diff.handWritten
        .filter((p) => diff.write.some((w) => w.path === p))
        .map((file) => ({
          file,
          message: 'is not a generated file (no "Code generated" header): move it out of src/gen/',
        })),
    }
  return { ok: true, plan: planned.plan, diff, protoCount: protos.length }
}

async function diffWithDisk(root: string, plan: ClientsPlan): Promise<ClientsDiff> {
  const diff: ClientsDiff = { write: [], remove: [], create: [], handWritten: [] }
  const planned = new Set(plan.generated.map((f) => f.path))
  for (const rel of await listFilesUnder(join(root, GEN_DIR))) {
    const path = `${GEN_DIR}/${rel}`
    const text = await readFile(join(root, path), 'utf8')
    if (!isGeneratedText(text)) diff.handWritten.push(path)
    else if (!planned.has(path)) diff.remove.push(path)
  }
  for (const f of plan.generated) {
    const abs = join(root, f.path)
    const current = (await exists(abs)) ? await readFile(abs, 'utf8') : undefined
    if (current !== f.contents) diff.write.push(f)
  }
  for (const f of plan.scaffold) if (!(await exists(join(root, f.path)))) diff.create.push(f)
  return diff
}

/** True when the disk already holds exactly what generation would write. */
export const isUpToDate = (d: ClientsDiff): boolean =>
  d.write.length + d.remove.length + d.create.length === 0

/**
 * Applies a diff: each file is written beside its target and renamed over it, so no file is ever
 * half-written; stale generated files are removed last. Hand-written files are never touched.
 */
export async function applyClientsDiff(root: string, diff: ClientsDiff): Promise<void> {
  for (const f of [...diff.create, ...diff.write]) {
    await writeFileAtomic(join(root, f.path), f.contents)
  }
  for (const path of diff.remove) await rm(join(root, path), { force: true })
  await removeEmptyDirs(join(root, GEN_DIR))
}

async function removeEmptyDirs(dir: string): Promise<boolean> {
  if (!(await exists(dir))) return false
  let empty = true
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.isDirectory() && (await removeEmptyDirs(join(dir, e.name)))) continue
    empty = false
  }
  if (empty && dir.split(sep).at(-1) !== 'gen') await rm(dir, { recursive: true })
  return empty
}
