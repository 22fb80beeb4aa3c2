import { describe, expect, it } from 'vitest'
import type { FaultSpec } from './faults.js'
import { netfilterPlan, parseListeningPorts, pickProxyPorts, sweepCommands } from './netfilter.js'

const ID = 'abcdef0123456789'
const line = (argv: string[]) => argv.join(' ')

describe('netfilterPlan', () => {
  it.each<[FaultSpec, string[]]>([
    [
      { kind: 'loss', probability: 0.2 },
      [
        'iptables -w -N MSVC-abcdef01-in',
        'iptables -w -A MSVC-abcdef01-in ! -i lo -m statistic --mode random --probability 0.2000 -j DROP',
        'iptables -w -I INPUT 1 -j MSVC-abcdef01-in',
      ],
    ],
    [
      { kind: 'reset' },
      [
        'iptables -w -N MSVC-abcdef01-in',
        'iptables -w -A MSVC-abcdef01-in ! -i lo -p tcp --dport 3001 -j REJECT --reject-with tcp-reset',
        'iptables -w -A MSVC-abcdef01-in ! -i lo -p tcp --dport 50051 -j REJECT --reject-with tcp-reset',
        'iptables -w -I INPUT 1 -j MSVC-abcdef01-in',
      ],
    ],
    [
      { kind: 'partition' },
      [
        'iptables -w -N MSVC-abcdef01-in',
        'iptables -w -A MSVC-abcdef01-in ! -i lo -j DROP',
        'iptables -w -I INPUT 1 -j MSVC-abcdef01-in',
        'iptables -w -N MSVC-abcdef01-out',
        'iptables -w -A MSVC-abcdef01-out ! -o lo -j DROP',
        'iptables -w -I OUTPUT 1 -j MSVC-abcdef01-out',
      ],
    ],
    [
      { kind: 'partition', from: 'order' },
      [
        'iptables -w -N MSVC-abcdef01-in',
        'iptables -w -A MSVC-abcdef01-in -s 10.0.0.7 -j DROP',
        'iptables -w -I INPUT 1 -j MSVC-abcdef01-in',
        'iptables -w -N MSVC-abcdef01-out',
        'iptables -w -A MSVC-abcdef01-out -d 10.0.0.7 -j DROP',
        'iptables -w -I OUTPUT 1 -j MSVC-abcdef01-out',
      ],
    ],
    [
      { kind: 'latency', delayMs: 200, jitterMs: 0 },
      [
        'iptables -w -t nat -N MSVC-abcdef01-nat',
        'iptables -w -t nat -A MSVC-abcdef01-nat -p tcp --dport 3001 -j REDIRECT --to-ports 61000',
        'iptables -w -t nat -A MSVC-abcdef01-nat -p tcp --dport 50051 -j REDIRECT --to-ports 61001',
        'iptables -w -t nat -I PREROUTING 1 -j MSVC-abcdef01-nat',
        'ss -K state established ( sport = :3001 or sport = :50051 )',
      ],
    ],
  ])('%j', (spec, apply) => {
    const plan = netfilterPlan(spec, {
      faultId: ID,
      ports: [3001, 50051],
      peers: ['10.0.0.7'],
      proxyPorts: { 3001: 61000, 50051: 61001 },
    })
    expect(plan.apply.map(line)).toEqual(apply)
    // undo removes every chain it created, jump first
    for (const chain of new Set(apply.filter((a) => / -N /.test(a)).map((a) => a.split(' ').at(-1)!))) {
      const undo = plan.undo.map(line).filter((u) => u.endsWith(chain))
      expect(undo.map((u) => u.split(' ').find((w) => /^-[DFX]$/.test(w)))).toEqual(['-D', '-F', '-X'])
    }
  })

  it('has nothing to do for engine faults', () =>
    expect(netfilterPlan({ kind: 'pause' }, { faultId: ID, ports: [3001] })).toEqual({ apply: [], undo: [] }))

  it('cuts the proxy connections when latency is undone', () =>
    expect(
      netfilterPlan(
        { kind: 'bandwidth', bytesPerSecond: 1000 },
        { faultId: ID, ports: [3001], proxyPorts: { 3001: 61000 } },
      ).undo.at(-1),
    ).toEqual(['ss', '-K', 'state', 'established', '( sport = :61000 )']))
})

describe('proxy ports', () => {
  it('skips listening ports and the service ports', () =>
    expect(pickProxyPorts([3001, 61001], new Set([61000, 61002]))).toEqual({ 3001: 61003, 61001: 61004 }))
  it('reads ss -Hltn', () =>
    expect([
      ...parseListeningPorts(
        'LISTEN 0 511 0.0.0.0:3001 0.0.0.0:*\nLISTEN 0 4096 127.0.0.11:41235 0.0.0.0:*\nLISTEN 0 511 [::]:8080 [::]:*',
      ),
    ]).toEqual([3001, 41235, 8080]))
})

describe('sweepCommands', () => {
  const dump = `*filter
:INPUT ACCEPT [0:0]
:MSVC-abcdef01-in - [0:0]
:MSVC-11111111-in - [0:0]
-A INPUT -j MSVC-11111111-in
-A INPUT -j MSVC-abcdef01-in
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:MSVC-11111111-nat - [0:0]
-A PREROUTING -j MSVC-11111111-nat
COMMIT`
  it('removes chains the ledger does not know, keeps the others', () =>
    expect(sweepCommands(dump, new Set([ID])).map(line)).toEqual([
      'iptables -w -t filter -D INPUT -j MSVC-11111111-in',
      'iptables -w -t nat -D PREROUTING -j MSVC-11111111-nat',
      'iptables -w -t filter -F MSVC-11111111-in',
      'iptables -w -t filter -X MSVC-11111111-in',
      'iptables -w -t nat -F MSVC-11111111-nat',
      'iptables -w -t nat -X MSVC-11111111-nat',
    ]))
})
