/**
 * Values kept per kind of request, that is per route template, method and status code, found
 * through nested maps: no key string or labels object is built on the way, which matters on a
 * path every request takes (the RED metrics, the request's log line). A value is made by `make`
 * the first time its kind is seen; route templates, methods and status codes are few, so the maps
 * stay small.
 */
export class PerRoute<T> {
  private readonly byRoute = new Map<string, Map<string, Map<number, T>>>()

  constructor(private readonly make: (route: string, method: string, statusCode: number) => T) {}

  get(route: string, method: string, statusCode: number): T {
    let byMethod = this.byRoute.get(route)
    if (!byMethod) this.byRoute.set(route, (byMethod = new Map()))
    let byStatus = byMethod.get(method)
    if (!byStatus) byMethod.set(method, (byStatus = new Map()))
    let value = byStatus.get(statusCode)
    if (value === undefined) byStatus.set(statusCode, (value = this.make(route, method, statusCode)))
    return value
  }

  clear(): void {
    this.byRoute.clear()
  }
}
