import { fromBinary } from '@bufbuild/protobuf'
import { BinaryReader, BinaryWriter } from '@bufbuild/protobuf/wire'
import {
  FileDescriptorProtoSchema,
  type DescriptorProto,
  type FileDescriptorProto,
} from '@bufbuild/protobuf/wkt'
import type { ServerDuplexStream, ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js'

// gRPC server reflection (grpc.reflection.v1 and v1alpha, the same messages): what grpcurl,
// buf curl and Postman ask to learn a server's services without the .proto. The descriptors come
// from `msvc proto gen` (FILE_DESCRIPTORS of each service, base64 FileDescriptorProtos), so no
// .proto is read at run time. Messages are coded by hand: a few fields each.

interface ReflectionRequest {
  host: string
  /** the request as received, echoed in original_request */
  raw: Uint8Array
  kind:
    | 'file_by_filename'
    | 'file_containing_symbol'
    | 'file_containing_extension'
    | 'all_extension_numbers_of_type'
    | 'list_services'
    | 'none'
  value: string
}

const KINDS: Record<number, ReflectionRequest['kind']> = {
  3: 'file_by_filename',
  4: 'file_containing_symbol',
  5: 'file_containing_extension',
  6: 'all_extension_numbers_of_type',
  7: 'list_services',
}

function decodeRequest(buf: Buffer): ReflectionRequest {
  const r = new BinaryReader(buf)
  const req: ReflectionRequest = { host: '', raw: new Uint8Array(buf), kind: 'none', value: '' }
  while (r.pos < r.len) {
    const tag = r.uint32()
    const field = tag >>> 3
    if (field === 1) req.host = r.string()
    else if (field === 5) {
      req.kind = 'file_containing_extension'
      r.bytes()
    } else if (KINDS[field]) {
      req.kind = KINDS[field]!
      req.value = r.string()
    } else r.skip(tag & 7)
  }
  return req
}

type ReflectionResponse =
  { files: Uint8Array[] } | { services: string[] } | { error: { code: number; message: string } }

function encodeResponse(req: ReflectionRequest, res: ReflectionResponse): Buffer {
  const w = new BinaryWriter()
  w.uint32(10).string(req.host)
  w.uint32(18).bytes(req.raw)
  if ('files' in res) {
    w.uint32(34).fork()
    for (const f of res.files) w.uint32(10).bytes(f)
    w.join()
  } else if ('services' in res) {
    w.uint32(50).fork()
    for (const name of res.services) w.uint32(10).fork().uint32(10).string(name).join()
    w.join()
  } else {
    w.uint32(58).fork().uint32(8).int32(res.error.code).uint32(18).string(res.error.message).join()
  }
  return Buffer.from(w.finish())
}

const method = (version: string) => ({
  path: `/grpc.reflection.${version}.ServerReflection/ServerReflectionInfo`,
  requestStream: true,
  responseStream: true,
  requestSerialize: (r: ReflectionRequest) => Buffer.from(r.raw),
  requestDeserialize: decodeRequest,
  responseSerialize: (b: Buffer) => b,
  responseDeserialize: (b: Buffer) => b,
})

/** The two reflection service definitions, v1 and v1alpha. */
export const REFLECTION_SERVICES = [
  { serverReflectionInfo: method('v1') },
  { serverReflectionInfo: method('v1alpha') },
] as ServiceDefinition[]

/** Symbols a file defines: messages (nested too), enums, services and their methods. */
function symbolsOf(file: FileDescriptorProto): string[] {
  const prefix = file.package ? `${file.package}.` : ''
  const out: string[] = []
  const visit = (m: DescriptorProto, scope: string) => {
    const name = `${scope}${m.name}`
    out.push(name)
    for (const e of m.enumType) out.push(`${name}.${e.name}`)
    for (const n of m.nestedType) visit(n, `${name}.`)
  }
  for (const m of file.messageType) visit(m, prefix)
  for (const e of file.enumType) out.push(`${prefix}${e.name}`)
  for (const s of file.service) {
    out.push(`${prefix}${s.name}`)
    for (const m of s.method) out.push(`${prefix}${s.name}.${m.name}`)
  }
  return out
}

const NOT_FOUND = 5
const UNIMPLEMENTED = 12

/**
 * A reflection implementation over serialized FileDescriptorProtos (base64, as generated):
 * list_services, file_by_filename and file_containing_symbol (each file with its imports);
 * extensions are not supported (proto3 services here declare none).
 */
export function createReflectionImplementation(descriptors: readonly string[]): UntypedServiceImplementation {
  const files = new Map<string, { bytes: Uint8Array; proto: FileDescriptorProto }>()
  const bySymbol = new Map<string, string>()
  for (const b64 of descriptors) {
    const bytes = new Uint8Array(Buffer.from(b64, 'base64'))
    const proto = fromBinary(FileDescriptorProtoSchema, bytes)
    if (files.has(proto.name)) continue
    files.set(proto.name, { bytes, proto })
    for (const s of symbolsOf(proto)) bySymbol.set(s, proto.name)
  }
  const services = [...files.values()].flatMap(({ proto }) =>
    proto.service.map((s) => (proto.package ? `${proto.package}.${s.name}` : s.name)),
  )
  const withImports = (name: string): Uint8Array[] => {
    const seen = new Set<string>()
    const out: Uint8Array[] = []
    const visit = (n: string) => {
      const f = files.get(n)
      if (!f || seen.has(n)) return
      seen.add(n)
      out.push(f.bytes)
      for (const d of f.proto.dependency) visit(d)
    }
    visit(name)
    return out
  }
  const answer = (req: ReflectionRequest): ReflectionResponse => {
    switch (req.kind) {
      case 'list_services':
        return { services: [...services].sort() }
      case 'file_by_filename':
        return files.has(req.value)
          ? { files: withImports(req.value) }
          : { error: { code: NOT_FOUND, message: `no file ${req.value}` } }
      case 'file_containing_symbol': {
        const file = bySymbol.get(req.value.replace(/^\./, ''))
        return file
          ? { files: withImports(file) }
          : { error: { code: NOT_FOUND, message: `no symbol ${req.value}` } }
      }
      default:
        return { error: { code: UNIMPLEMENTED, message: `${req.kind} is not supported` } }
    }
  }
  const serverReflectionInfo = (call: ServerDuplexStream<ReflectionRequest, Buffer>) => {
    call.on('data', (req: ReflectionRequest) => call.write(encodeResponse(req, answer(req))))
    call.on('end', () => call.end())
    call.on('error', () => call.end())
  }
  return { serverReflectionInfo }
}
