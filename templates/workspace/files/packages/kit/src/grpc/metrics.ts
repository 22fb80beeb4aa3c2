import { Counter, Histogram, type Registry } from 'prom-client'

export interface GrpcServerMetrics {
  handled: Counter<'grpc_service' | 'grpc_method' | 'grpc_code'>
  seconds: Histogram<'grpc_service' | 'grpc_method' | 'grpc_code'>
}

const byRegistry = new WeakMap<Registry, GrpcServerMetrics>()

/** Per-method call counts by status code and a latency histogram (the names go-grpc-prometheus uses). */
export function grpcServerMetrics(registry: Registry): GrpcServerMetrics {
  let m = byRegistry.get(registry)
  if (!m) {
    const labelNames = ['grpc_service', 'grpc_method', 'grpc_code'] as const
    m = {
      handled: new Counter({
        name: 'grpc_server_handled_total',
        help: 'gRPC calls completed on the server, by service, method and status code',
        labelNames,
        registers: [registry],
      }),
      seconds: new Histogram({
        name: 'grpc_server_handling_seconds',
        help: 'gRPC call latency on the server, by service, method and status code',
        labelNames,
        buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        registers: [registry],
      }),
    }
    byRegistry.set(registry, m)
  }
  return m
}
