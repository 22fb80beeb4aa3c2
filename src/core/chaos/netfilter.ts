import { chainName, type FaultSpec } from './faults.js'

/** What a network fault needs to know about its target. */
export interface NetfilterTarget {
  faultId: string
  /** the service's ports inside the container (HTTP, and gRPC when it has one) */
  ports: number[]
  /** partition --from: the other side's addresses */
  peers?: string[]
  /** latency, bandwidth: the proxy's port in the target's namespace for each service port */
  proxyPorts?: Record<number, number>
}

/**
 * Commands run inside the target's network namespace (`nsenter -t <pid> -n …`), in order.
 * `undo` is idempotent: every step may fail because it was never applied or was undone already.
 */
export interface NetfilterPlan {
  apply: string[][]
  undo: string[][]
}

const IPT = ['iptables', '-w']

/**
 * Each fault owns its chains (`MSVC-<id>-in/out/nat`), jumped to from the first position of the
 * built-in chain, so undoing it is "drop the jump, flush, delete" and never touches a rule it did
 * not add. Loopback is exempt: the container's own health check (127.0.0.1) keeps working, so
 * Docker does not restart a container whose network is being broken.
 */
export function netfilterPlan(spec: FaultSpec, t: NetfilterTarget): NetfilterPlan {
  const input = chainName(t.faultId, 'in')
  const output = chainName(t.faultId, 'out')
  const nat = chainName(t.faultId, 'nat')
  const filterChain = (chain: string, hook: 'INPUT' | 'OUTPUT', rules: string[][]) => ({
    apply: [
      [...IPT, '-N', chain],
      ...rules.map((r) => [...IPT, '-A', chain, ...r]),
      [...IPT, '-I', hook, '1', '-j', chain],
    ],
    undo: [
      [...IPT, '-D', hook, '-j', chain],
      [...IPT, '-F', chain],
      [...IPT, '-X', chain],
    ],
  })
  const cut = (ports: number[]) => [
    ['ss', '-K', 'state', 'established', `( ${ports.map((p) => `sport = :${p}`).join(' or ')} )`],
  ]
  switch (spec.kind) {
    case 'loss':
      // Ingress, like netem on the far side of the link: a fraction of every packet that arrives.
      return filterChain(input, 'INPUT', [
        [
          '!',
          '-i',
          'lo',
          '-m',
          'statistic',
          '--mode',
          'random',
          '--probability',
          spec.probability.toFixed(4),
          '-j',
          'DROP',
        ],
      ])
    case 'reset':
      // New connections are refused with RST; an established one gets RST on its next segment.
      return filterChain(
        input,
        'INPUT',
        t.ports.map((p) => [
          '!',
          '-i',
          'lo',
          '-p',
          'tcp',
          '--dport',
          String(p),
          '-j',
          'REJECT',
          '--reject-with',
          'tcp-reset',
        ]),
      )
    case 'partition': {
      const peers = t.peers ?? []
      const inRules = spec.from
        ? peers.map((ip) => ['-s', ip, '-j', 'DROP'])
        : [['!', '-i', 'lo', '-j', 'DROP']]
      const outRules = spec.from
        ? peers.map((ip) => ['-d', ip, '-j', 'DROP'])
        : [['!', '-o', 'lo', '-j', 'DROP']]
      const a = filterChain(input, 'INPUT', inRules)
      const b = filterChain(output, 'OUTPUT', outRules)
      return { apply: [...a.apply, ...b.apply], undo: [...b.undo, ...a.undo] }
    }
    case 'latency':
    case 'bandwidth': {
      const pairs = Object.entries(t.proxyPorts ?? {}).map(([svc, proxy]) => [Number(svc), proxy] as const)
      return {
        apply: [
          [...IPT, '-t', 'nat', '-N', nat],
          ...pairs.map(([svc, proxy]) => [
            ...IPT,
            '-t',
            'nat',
            '-A',
            nat,
            '-p',
            'tcp',
            '--dport',
            String(svc),
            '-j',
            'REDIRECT',
            '--to-ports',
            String(proxy),
          ]),
          [...IPT, '-t', 'nat', '-I', 'PREROUTING', '1', '-j', nat],
          // conntrack keeps established connections on the direct path: cut them so pooled
          // clients reconnect through the proxy (TOOLCHAIN.md, "latency fault without netem").
          ...cut(pairs.map(([svc]) => svc)),
        ],
        undo: [
          [...IPT, '-t', 'nat', '-D', 'PREROUTING', '-j', nat],
          [...IPT, '-t', 'nat', '-F', nat],
          [...IPT, '-t', 'nat', '-X', nat],
          // and the other way round: connections through the proxy reconnect on the direct path
          ...cut(pairs.map(([, proxy]) => proxy)),
        ],
      }
    }
    default:
      return { apply: [], undo: [] }
  }
}

/** The chains of a fault, to check that a namespace is clean (`iptables-save` must not name them). */
export const faultChains = (faultId: string): string[] =>
  (['in', 'out', 'nat'] as const).map((s) => chainName(faultId, s))

/** First ports from `base` that are neither listening nor taken, one per service port. */
export function pickProxyPorts(
  servicePorts: number[],
  listening: ReadonlySet<number>,
  base = 61000,
): Record<number, number> {
  const out: Record<number, number> = {}
  let next = base
  for (const p of servicePorts) {
    while (listening.has(next) || servicePorts.includes(next)) next++
    out[p] = next++
  }
  return out
}

/** Listening TCP ports from `ss -Hltn` output. */
export function parseListeningPorts(ssOutput: string): Set<number> {
  const ports = new Set<number>()
  for (const line of ssOutput.split('\n')) {
    const local = line.trim().split(/\s+/)[3]
    const m = local ? /:(\d+)$/.exec(local) : null
    if (m) ports.add(Number(m[1]))
  }
  return ports
}

/**
 * Undo commands for every `MSVC-…` chain in an `iptables-save` dump whose fault id is not in
 * `keep`: the jumps to it, then the chain. It cleans up after a fault the ledger lost track of.
 */
export function sweepCommands(iptablesSave: string, keep: ReadonlySet<string>): string[][] {
  const out: string[][] = []
  const chains: { table: string; chain: string }[] = []
  let table = 'filter'
  const owned = (chain: string) => {
    const m = /^MSVC-([0-9a-f]{8})-(in|out|nat)$/.exec(chain)
    return m !== null && ![...keep].some((id) => id.startsWith(m[1]!))
  }
  for (const raw of iptablesSave.split('\n')) {
    const line = raw.trim()
    if (line.startsWith('*')) table = line.slice(1)
    const decl = /^:(\S+) /.exec(line)
    if (decl && owned(decl[1]!)) chains.push({ table, chain: decl[1]! })
    const jump = /^-A (\S+) -j (\S+)$/.exec(line)
    if (jump && owned(jump[2]!)) out.push([...IPT, '-t', table, '-D', jump[1]!, '-j', jump[2]!])
  }
  for (const { table: t, chain } of chains)
    out.push([...IPT, '-t', t, '-F', chain], [...IPT, '-t', t, '-X', chain])
  return out
}
