import type { Command } from 'commander'
import type { Ctx } from './context.js'
import type { FaultKind } from './core/chaos/faults.js'

const examples = (lines: string[]) => `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`

/** Flags every fault command takes. */
function faultFlags(cmd: Command, opts: { lasting: boolean; watches: boolean }): Command {
  cmd
    .option('--replica <n>', 'hit replica n (1-based) of a scaled service; default: the first')
    .option('--all', 'hit every replica of the service')
  if (opts.lasting)
    cmd.option(
      '--for <duration>',
      'undo it after this long, staying in the foreground (Ctrl-C undoes it early)',
    )
  if (opts.watches)
    cmd
      .option('--probe <url>', 'also time how long until this URL answers 2xx again')
      .option('--recovery-timeout <duration>', 'how long to wait for recovery', '60s')
      .option('--no-watch', 'do not wait for recovery')
  return cmd
    .option('--dry-run', 'print the targets and commands, change nothing')
    .option('--json', 'print what was done as JSON on stdout')
}

/** Declares `msvc chaos` and its subcommands; command code is imported only when one runs. */
export function registerChaos(program: Command, ctx: () => Ctx): Command {
  const chaos = program
    .command('chaos')
    .description('break services on purpose (kill, pause, latency, loss, ...) and time their recovery')
    .addHelpText(
      'after',
      `
Every lasting fault is written to a restore ledger (.msvc/chaos-ledger.json) before it is applied,
so Ctrl-C, a crash or \`msvc down\` never leaves one behind. Network faults need root (nsenter + iptables).
Exit codes: 0 ok, 1 msvc failed, 2 the service did not recover / the hypothesis was violated, 130 cancelled.
` +
        examples([
          'msvc chaos kill payment',
          'msvc chaos latency inventory 200ms --jitter 50ms --for 30s',
          'msvc chaos partition payment --from order --for 10s',
          'msvc chaos status',
          'msvc chaos restore',
          'msvc chaos run chaos/payment-outage.yaml --journal journal.json',
        ]),
    )

  const fault = (
    kind: FaultKind,
    description: string,
    o: {
      value?: [string, string]
      lasting: boolean
      watches: boolean
      extra?: (c: Command) => void
      ex: string[]
    },
  ) => {
    const cmd = chaos.command(kind).argument('<service>', 'service to break (from msvc.yaml)')
    if (o.value) cmd.argument(`<${o.value[0]}>`, o.value[1])
    cmd.description(description)
    o.extra?.(cmd)
    faultFlags(cmd, o).addHelpText('after', examples(o.ex))
    cmd.action(async (service: string, ...rest: unknown[]) => {
      const value = o.value ? (rest[0] as string) : undefined
      const opts = (o.value ? rest[1] : rest[0]) as Record<string, unknown>
      const { runFault } = await import('./commands/chaos.js')
      await runFault(kind, service, value, opts, ctx())
    })
  }

  fault('kill', 'send a signal (SIGKILL) to a service; its restart policy brings it back', {
    lasting: false,
    watches: true,
    extra: (c) => c.option('--signal <name>', 'signal to send', 'SIGKILL'),
    ex: [
      'msvc chaos kill payment',
      'msvc chaos kill payment --signal SIGTERM --all',
      'msvc chaos kill order --probe http://127.0.0.1:3004/orders',
    ],
  })
  fault(
    'stop',
    'stop a service (SIGTERM, then SIGKILL after 10 s); started again when --for ends or on restore',
    {
      lasting: true,
      watches: true,
      ex: ['msvc chaos stop payment --for 20s', 'msvc chaos stop payment   # until msvc chaos restore'],
    },
  )
  fault('restart', 'restart a service and time its recovery', {
    lasting: false,
    watches: true,
    ex: ['msvc chaos restart payment'],
  })
  fault('pause', 'freeze a service’s processes (callers hang) until --for ends or restore', {
    lasting: true,
    watches: true,
    ex: ['msvc chaos pause payment --for 10s'],
  })
  fault('latency', 'delay a service’s responses (fault proxy in its network namespace)', {
    value: ['delay', 'added delay, e.g. 200ms'],
    lasting: true,
    watches: false,
    extra: (c) => c.option('--jitter <duration>', 'vary the delay uniformly by up to ± this'),
    ex: ['msvc chaos latency inventory 200ms --for 30s', 'msvc chaos latency inventory 1s --jitter 300ms'],
  })
  fault('loss', 'drop a percentage of the packets arriving at a service (iptables)', {
    value: ['percent', 'share of packets to drop, e.g. 20%'],
    lasting: true,
    watches: false,
    ex: ['msvc chaos loss payment 20% --for 30s'],
  })
  fault('reset', 'reset TCP connections to a service’s ports (iptables REJECT with tcp-reset)', {
    lasting: true,
    watches: false,
    ex: ['msvc chaos reset payment --for 15s'],
  })
  fault('bandwidth', 'limit a service’s bandwidth, each direction (fault proxy)', {
    value: ['rate', 'e.g. 100kbit, 1mbit, 50kbps (bytes)'],
    lasting: true,
    watches: false,
    ex: ['msvc chaos bandwidth catalog 100kbit --for 1m'],
  })
  fault('partition', 'cut a service off the network, or only from another service (iptables DROP)', {
    lasting: true,
    watches: true,
    extra: (c) => c.option('--from <service>', 'cut only the traffic between the two'),
    ex: ['msvc chaos partition payment --for 10s', 'msvc chaos partition payment --from order --for 10s'],
  })

  chaos
    .command('status')
    .description('list the faults in effect (from the restore ledger)')
    .option('--json', 'print JSON on stdout')
    .addHelpText('after', examples(['msvc chaos status', 'msvc chaos status --json']))
    .action(async (opts) => {
      const { runStatus } = await import('./commands/chaos.js')
      await runStatus(opts, ctx())
    })

  chaos
    .command('restore')
    .description('undo every fault (rules, proxies, paused and stopped services) and remove strays')
    .option('--json', 'print what was restored as JSON on stdout')
    .addHelpText('after', examples(['msvc chaos restore']))
    .action(async (opts) => {
      const { runRestore } = await import('./commands/chaos.js')
      await runRestore(opts, ctx())
    })

  chaos
    .command('run')
    .argument('<experiment>', 'experiment file (YAML): hypothesis, method, rollbacks')
    .description('run an experiment: check the steady state, inject faults on schedule, check it again')
    .option('--journal <file>', 'write the journal (every probe, fault and timing) as JSON')
    .option('--json', 'print the journal on stdout')
    .option('--dry-run', 'validate the file and print the schedule, change nothing')
    .addHelpText(
      'after',
      '\nExit codes: 0 hypothesis held, 2 violated, 1 not steady before / msvc failed, 130 cancelled.\n' +
        examples([
          'msvc chaos run chaos/payment-outage.yaml',
          'msvc chaos run chaos/payment-outage.yaml --journal out/journal.json',
          'msvc chaos run chaos/payment-outage.yaml --dry-run',
        ]),
    )
    .action(async (file: string, opts) => {
      const { runExperiment } = await import('./commands/chaos-run.js')
      await runExperiment(file, opts, ctx())
    })

  chaos
    .command('init')
    .description('write an example experiment for this workspace (naming its real services)')
    .option('--out <file>', 'where to write it', 'chaos/experiment.yaml')
    .option('--force', 'overwrite an existing file')
    .option('--stdout', 'print it instead of writing it')
    .addHelpText('after', examples(['msvc chaos init', 'msvc chaos init --stdout']))
    .action(async (opts) => {
      const { runInit } = await import('./commands/chaos-init.js')
      await runInit(opts, ctx())
    })
  return chaos
}
