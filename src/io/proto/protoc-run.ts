import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { runQuick } from '../exec.js'
import { listFilesUnder } from '../fs.js'
import { tsProtoPluginPath, type WarmPlugin } from './plugin.js'

// protoc and the plugin, without decoding anything: this module loads in a millisecond, so that
// scaffolding can start it while the protobuf runtime (about 60 modules, 50 ms) is still loading.

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

/** What one protoc run gave: the descriptor set, and the plugin's answer or its output files. */
export interface ProtocRun {
  exitCode: number
  /** protoc's output (errors as file:line:col) */
  output: string
  descriptorSet?: Uint8Array
  /** the warm plugin's CodeGeneratorResponse */
  pluginResponse?: Uint8Array
  /** the files protoc wrote through the plugin it started itself */
  outputs?: { path: string; contents: string }[]
}

/**
 * Runs protoc over `files` (relative to `protoDir`) in a temporary folder. With a warm plugin,
 * protoc hands its request to a one-line shell plugin that keeps it, and the warm plugin gets those
 * exact bytes; without one, protoc starts ts-proto itself.
 */
export async function runProtoc(protoDir: string, files: string[], warm?: WarmPlugin): Promise<ProtocRun> {
  const out = await mkdtemp(join(tmpdir(), 'msvc-proto-'))
  try {
    const tools = toolchainPaths()
    const ds = join(out, 'descriptor-set.bin')
    const tsDir = join(out, 'ts')
    await mkdir(tsDir)
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
        `--ts_proto_out=${tsDir}`,
        `--ts_proto_opt=${TS_PROTO_OPTIONS.join(',')}`,
        `--descriptor_set_out=${ds}`,
        '--include_imports',
        ...files,
      ],
      { cwd: protoDir, timeoutMs: 60_000 },
    )
    if (r.exitCode !== 0) return { exitCode: r.exitCode, output: r.output }
    const descriptorSet = await readFile(ds)
    if (warm)
      return { ...r, descriptorSet, pluginResponse: await warm.generate(await readFile(`${capture}.bin`)) }
    const outputs = await Promise.all(
      (await listFilesUnder(tsDir)).map(async (path) => ({
        path,
        contents: await readFile(join(tsDir, path), 'utf8'),
      })),
    )
    return { ...r, descriptorSet, outputs }
  } finally {
    await rm(out, { recursive: true, force: true })
  }
}

/** A compile started from protos not written yet (scaffolding): their text, and the run. */
export interface EarlyCompile {
  /** file (relative to the service's proto/ folder) -> its text */
  sources: Map<string, string>
  run: Promise<ProtocRun>
}

/**
 * Starts compiling a service's protos from their planned text, before the workspace is written;
 * compileServiceProtos uses the result only when the files on disk are exactly these.
 */
export function startEarlyCompile(sources: Map<string, string>, warm?: WarmPlugin): EarlyCompile {
  const run = (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'msvc-proto-src-'))
    try {
      for (const [file, text] of sources) {
        await mkdir(dirname(join(dir, file)), { recursive: true })
        await writeFile(join(dir, file), text)
      }
      return await runProtoc(dir, [...sources.keys()].sort(), warm)
    } finally {
      warm?.dispose() // not used when protoc failed
      await rm(dir, { recursive: true, force: true })
    }
  })()
  // consumed later, or never (an error before generation); never an unhandled rejection
  run.catch(() => {})
  return { sources, run }
}

/**
 * For scaffolding: starts compiling the planned protos of `service` (files under
 * services/<service>/proto/ in the plan) with the first warm plugin, which it takes from `warm`.
 */
export function startPlannedCompile(
  service: string,
  planned: { path: string; contents: string | Uint8Array }[],
  warm: WarmPlugin[],
): Map<string, EarlyCompile> {
  const prefix = `services/${service}/proto/`
  const sources = new Map<string, string>()
  for (const f of planned)
    if (f.path.startsWith(prefix) && f.path.endsWith('.proto'))
      sources.set(
        f.path.slice(prefix.length),
        typeof f.contents === 'string' ? f.contents : Buffer.from(f.contents).toString('utf8'),
      )
  const plugin = warm.shift()
  if (sources.size === 0 || !plugin) {
    if (plugin) warm.unshift(plugin)
    return new Map()
  }
  return new Map([[service, startEarlyCompile(sources, plugin)]])
}
