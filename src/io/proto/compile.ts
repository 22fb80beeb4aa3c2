import { fromBinary, toBinary } from '@bufbuild/protobuf'
import {
  CodeGeneratorResponseSchema,
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
  MethodOptions_IdempotencyLevel,
  type DescriptorProto,
  type FileDescriptorProto,
} from '@bufbuild/protobuf/wkt'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { CompiledProto, ProtoMethod, ProtoProblem } from '../../core/proto/model.js'
import { parseProtocErrors } from '../../core/proto/protoc-errors.js'
import { listFilesUnder } from '../fs.js'
import type { WarmPlugin } from './plugin.js'
import { runProtoc, type EarlyCompile } from './protoc-run.js'

/** The .proto files of one service's proto/ folder, relative to it, sorted. */
export async function listProtoFiles(protoDir: string): Promise<string[]> {
  return (await listFilesUnder(protoDir)).filter((f) => f.endsWith('.proto'))
}

export type CompileResult = { ok: true; protos: CompiledProto[] } | { ok: false; problems: ProtoProblem[] }

/**
 * Compiles one service's protos with protoc and ts-proto and reads the result back; nothing in the
 * workspace is touched. Errors come back as problems with file:line:col.
 */
export async function compileServiceProtos(
  root: string,
  service: string,
  files: string[],
  warm?: WarmPlugin,
  early?: EarlyCompile,
): Promise<CompileResult> {
  const protoDir = join(root, 'services', service, 'proto')
  const prefix = `services/${service}/proto/`
  // started before the files were written (scaffolding), from the very text now on disk
  const run =
    early && (await sameSources(protoDir, files, early))
      ? await early.run
      : await runProtoc(protoDir, files, warm)
  if (run.exitCode !== 0 || !run.descriptorSet)
    return { ok: false, problems: parseProtocErrors(run.output, prefix) }
  const set = fromBinary(FileDescriptorSetSchema, run.descriptorSet)
  let outputs = run.outputs ?? []
  if (run.pluginResponse) {
    const response = fromBinary(CodeGeneratorResponseSchema, run.pluginResponse)
    if (response.error) return { ok: false, problems: [{ file: prefix, message: response.error }] }
    outputs = response.file.map((f) => ({ path: f.name, contents: f.content }))
  }
  outputs.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  return { ok: true, protos: toCompiledProtos(service, files, set.file, outputs) }
}

async function sameSources(protoDir: string, files: string[], early: EarlyCompile): Promise<boolean> {
  if (files.length !== early.sources.size) return false
  for (const f of files) {
    const text = await readFile(join(protoDir, f), 'utf8').catch(() => undefined)
    if (text === undefined || early.sources.get(f) !== text) return false
  }
  return true
}

/** ts-proto's name for a message: nested names joined with `_`, without the package. */
function collectTypes(file: FileDescriptorProto, into: Map<string, { name: string; module: string }>): void {
  const module = file.name.replace(/\.proto$/, '')
  const pkg = file.package ? `.${file.package}` : ''
  const visit = (m: DescriptorProto, scope: string[]) => {
    const path = [...scope, m.name]
    into.set(`${pkg}.${path.join('.')}`, { name: path.join('_'), module })
    for (const n of m.nestedType) visit(n, path)
  }
  for (const m of file.messageType) visit(m, [])
}

function toCompiledProtos(
  service: string,
  files: string[],
  descriptors: FileDescriptorProto[],
  outputs: { path: string; contents: string }[],
): CompiledProto[] {
  const types = new Map<string, { name: string; module: string }>()
  for (const f of descriptors) collectTypes(f, types)
  const own = new Set(files)
  const encoded = descriptors.map((f) => ({
    name: f.name,
    base64: Buffer.from(toBinary(FileDescriptorProtoSchema, f)).toString('base64'),
  }))
  return descriptors
    .filter((f) => own.has(f.name))
    .map((f) => ({
      service,
      file: f.name,
      // every file gets all outputs of the run; the planner keeps one copy per path
      outputs,
      descriptors: encoded,
      names: [
        ...f.messageType.map((m) => m.name),
        ...f.enumType.map((e) => e.name),
        ...f.service.flatMap((s) => [s.name, `${s.name}Client`, `${s.name}Server`, `${s.name}Service`]),
      ],
      services: f.service.map((s) => ({
        name: s.name,
        fullName: f.package ? `${f.package}.${s.name}` : s.name,
        methods: s.method.map((m): ProtoMethod => ({
          name: m.name,
          input: types.get(m.inputType) ?? {
            name: m.inputType.split('.').pop()!,
            module: f.name.replace(/\.proto$/, ''),
          },
          output: types.get(m.outputType) ?? {
            name: m.outputType.split('.').pop()!,
            module: f.name.replace(/\.proto$/, ''),
          },
          idempotent:
            m.options?.idempotencyLevel === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS ||
            m.options?.idempotencyLevel === MethodOptions_IdempotencyLevel.IDEMPOTENT,
          streaming: m.clientStreaming || m.serverStreaming,
        })),
      })),
    }))
}
