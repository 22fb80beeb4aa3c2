import { fromBinary, toBinary } from '@bufbuild/protobuf'
import {
  CodeGeneratorResponseSchema,
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
  MethodOptions_IdempotencyLevel,
  type DescriptorProto,
  type FileDescriptorProto,
} from '@bufbuild/protobuf/wkt'
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join, relative, sep } from 'node:path'
import type { CompiledProto, ProtoMethod, ProtoProblem } from '../../core/proto/model.js'
import { parseProtocErrors } from '../../core/proto/protoc-errors.js'
import { runQuick } from '../exec.js'
import { exists } from '../fs.js'
import { tsProtoPluginPath, type WarmPlugin } from './plugin.js'

const require = createRequire(import.meta.url)

/** ts-proto's options: grpc-js services, ESM imports with .js, Node's Buffer; stable across runs. */
export const TS_PROTO_OPTIONS = [
  'outputServices=grpc-js',
  'esModuleInterop=true',
  'importSuffix=.js',
  'env=node',
  'useOptionals=messages',
  'exportCommonSymbols=false',
  'outputJsonMethods=false',
]

/** Where the npm-shipped compiler and plugin live (dependencies of msvc: nothing to install by hand). */
export function toolchainPaths() {
  const protocDir = dirname(require.resolve('protoc/package.json'))
  // The package's own launcher (protoc.cjs) is a Node process around the binary; calling the
  // binary for this platform directly saves a Node start per service.
  const assets = JSON.parse(readFileSync(join(protocDir, 'assets.json'), 'utf8')) as {
    platform: string
    arch: string
    executable: string
  }[]
  const asset = assets.find((a) => a.platform === process.platform && a.arch === process.arch)
  return {
    protoc: asset
      ? { command: join(protocDir, 'bin', asset.executable), args: [] }
      : { command: process.execPath, args: [join(protocDir, 'protoc.cjs')] },
    include: join(protocDir, 'include'),
    plugin: tsProtoPluginPath(),
  }
}

/** The .proto files of one service's proto/ folder, relative to it, sorted. */
export async function listProtoFiles(protoDir: string): Promise<string[]> {
  if (!(await exists(protoDir))) return []
  const out: string[] = []
  const walk = async (dir: string) => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name)
      if (e.isDirectory()) await walk(p)
      else if (e.name.endsWith('.proto')) out.push(relative(protoDir, p).split(sep).join('/'))
    }
  }
  await walk(protoDir)
  return out.sort()
}

export type CompileResult = { ok: true; protos: CompiledProto[] } | { ok: false; problems: ProtoProblem[] }

/**
 * Compiles one service's protos with protoc and ts-proto into a temporary folder and reads the
 * result back; nothing in the workspace is touched. Errors come back as problems with file:line:col.
 */
export async function compileServiceProtos(
  root: string,
  service: string,
  files: string[],
  warm?: WarmPlugin,
): Promise<CompileResult> {
  const protoDir = join(root, 'services', service, 'proto')
  const prefix = `services/${service}/proto/`
  const out = await mkdtemp(join(tmpdir(), 'msvc-proto-'))
  try {
    const tools = toolchainPaths()
    const ds = join(out, 'descriptor-set.bin')
    await mkdir(join(out, 'ts'))
    // with a warm plugin, protoc hands its request to a one-line shell plugin that keeps it
    const capture = join(out, 'capture-request')
    if (warm) {
      // its answer is an empty CodeGeneratorResponse declaring, as ts-proto does, proto3 optional
      // support (supported_features = 1: field 2, varint), or protoc refuses optional fields
      await writeFile(capture, '#!/bin/sh\ncat > "$0.bin"\nprintf \'\\020\\001\'\n')
      await chmod(capture, 0o755)
    }
    const r = await runQuick(
      tools.protoc.command,
      [
        ...tools.protoc.args,
        `--plugin=protoc-gen-ts_proto=${warm ? capture : tools.plugin}`,
        '-I',
        '.',
        '-I',
        tools.include,
        `--ts_proto_out=${join(out, 'ts')}`,
        `--ts_proto_opt=${TS_PROTO_OPTIONS.join(',')}`,
        `--descriptor_set_out=${ds}`,
        '--include_imports',
        ...files,
      ],
      { cwd: protoDir, timeoutMs: 60_000 },
    )
    if (r.exitCode !== 0) return { ok: false, problems: parseProtocErrors(r.output, prefix) }
    const set = fromBinary(FileDescriptorSetSchema, await readFile(ds))
    const outputs: { path: string; contents: string }[] = []
    const tsDir = join(out, 'ts')
    const walk = async (dir: string) => {
      for (const e of await readdir(dir, { withFileTypes: true })) {
        const p = join(dir, e.name)
        if (e.isDirectory()) await walk(p)
        else
          outputs.push({ path: relative(tsDir, p).split(sep).join('/'), contents: await readFile(p, 'utf8') })
      }
    }
    if (warm) {
      const response = fromBinary(
        CodeGeneratorResponseSchema,
        await warm.generate(await readFile(`${capture}.bin`)),
      )
      if (response.error) return { ok: false, problems: [{ file: prefix, message: response.error }] }
      for (const f of response.file) outputs.push({ path: f.name, contents: f.content })
    } else if (await exists(tsDir)) await walk(tsDir)
    outputs.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    return { ok: true, protos: toCompiledProtos(service, files, set.file, outputs) }
  } finally {
    await rm(out, { recursive: true, force: true })
  }
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
