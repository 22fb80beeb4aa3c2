import { BinaryReader, BinaryWriter } from '@bufbuild/protobuf/wire'
import {
  status,
  type handleServerStreamingCall,
  type handleUnaryCall,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js'
import type { HealthRegistry } from '../health.js'

/** grpc.health.v1.HealthCheckResponse.ServingStatus */
export const SERVING_STATUS = { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 } as const
export type ServingStatus = (typeof SERVING_STATUS)[keyof typeof SERVING_STATUS]

export interface HealthCheckRequest {
  service: string
}
export interface HealthCheckResponse {
  status: ServingStatus
}

// The two messages of grpc.health.v1 are one field each; encoding them by hand keeps the kit free
// of a .proto file at run time (services are bundled into one file). They are objects, not bare
// values: grpc-js takes a falsy request ('' for the whole server) for a missing one.
const encodeRequest = (r: HealthCheckRequest): Buffer =>
  Buffer.from(new BinaryWriter().uint32(10).string(r.service).finish())
function decodeRequest(buf: Buffer): HealthCheckRequest {
  const r = new BinaryReader(buf)
  let service = ''
  while (r.pos < r.len) {
    const tag = r.uint32()
    if (tag === 10) service = r.string()
    else r.skip(tag & 7)
  }
  return { service }
}
const encodeResponse = ({ status: s }: HealthCheckResponse): Buffer =>
  Buffer.from((s === 0 ? new BinaryWriter() : new BinaryWriter().uint32(8).int32(s)).finish())
function decodeResponse(buf: Buffer): HealthCheckResponse {
  const r = new BinaryReader(buf)
  let s = 0
  while (r.pos < r.len) {
    const tag = r.uint32()
    if (tag === 8) s = r.int32()
    else r.skip(tag & 7)
  }
  return { status: s as ServingStatus }
}

const method = (name: string, responseStream: boolean) => ({
  path: `/grpc.health.v1.Health/${name}`,
  requestStream: false,
  responseStream,
  requestSerialize: encodeRequest,
  requestDeserialize: decodeRequest,
  responseSerialize: encodeResponse,
  responseDeserialize: decodeResponse,
})

/** The standard grpc.health.v1.Health service definition (Check and Watch). */
export const HealthService = {
  check: method('Check', false),
  watch: method('Watch', true),
} as ServiceDefinition

export interface HealthServiceOptions {
  health: HealthRegistry
  /** fully qualified service names this server answers for ("" always: the server as a whole) */
  services: string[]
  /** how often Watch re-checks readiness (ms) */
  watchIntervalMs?: number
}

/**
 * Check and Watch answer SERVING while the service is ready (every readiness check passes and
 * shutdown has not begun), NOT_SERVING otherwise. An unknown service name is NOT_FOUND for
 * Check and SERVICE_UNKNOWN for Watch, as the protocol says.
 */
export function createHealthImplementation(opts: HealthServiceOptions): UntypedServiceImplementation {
  const known = new Set(['', ...opts.services])
  const current = async (): Promise<ServingStatus> =>
    (await opts.health.readiness()).ready ? SERVING_STATUS.SERVING : SERVING_STATUS.NOT_SERVING
  const check: handleUnaryCall<HealthCheckRequest, HealthCheckResponse> = (call, callback) => {
    const { service } = call.request
    if (!known.has(service))
      return callback({ code: status.NOT_FOUND, details: `unknown service ${service}` })
    current().then(
      (s) => callback(null, { status: s }),
      () => callback(null, { status: SERVING_STATUS.NOT_SERVING }),
    )
  }
  const watch: handleServerStreamingCall<HealthCheckRequest, HealthCheckResponse> = (call) => {
    let last: ServingStatus | undefined
    let stopped = false
    let timer: NodeJS.Timeout | undefined
    const stop = () => {
      stopped = true
      clearTimeout(timer)
    }
    call.on('cancelled', stop)
    call.on('close', stop)
    const tick = async () => {
      if (stopped) return
      const s = known.has(call.request.service)
        ? await current().catch(() => SERVING_STATUS.NOT_SERVING)
        : SERVING_STATUS.SERVICE_UNKNOWN
      if (stopped) return
      if (s !== last) {
        last = s
        call.write({ status: s })
      }
      // A shut-down server ends its watches so that draining completes.
      if (opts.health.isShuttingDown) {
        stop()
        call.end()
        return
      }
      timer = setTimeout(() => void tick(), opts.watchIntervalMs ?? 1000)
    }
    void tick()
  }
  return { check, watch }
}
