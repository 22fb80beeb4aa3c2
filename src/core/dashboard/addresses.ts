/**
 * The first host address of an IPv4 subnet (`172.17.0.0/16` → `172.17.0.1`): what Docker gives a
 * bridge network's gateway unless told otherwise. Undefined for anything but an IPv4 CIDR with a
 * prefix of 0-30.
 */
export function firstHostAddress(cidr: string): string | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr.trim())
  if (!m) return undefined
  const octets = m.slice(1, 5).map(Number)
  const prefix = Number(m[5])
  if (octets.some((o) => o > 255) || prefix > 30) return undefined
  const ip = octets.reduce((n, o) => n * 256 + o, 0)
  const size = 2 ** (32 - prefix)
  const first = ip - (ip % size) + 1
  return [24, 16, 8, 0].map((shift) => Math.floor(first / 2 ** shift) % 256).join('.')
}
