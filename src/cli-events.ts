import type { Command } from 'commander'
import type { Ctx } from './context.js'

const examples = (lines: string[]) => `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`

/** Declares `msvc events` and its subcommands; command code (and the NATS client) is imported only when one runs. */
export function registerEvents(program: Command, ctx: () => Ctx): Command {
  const events = program
    .command('events')
    .description('the event catalog; warns about events nobody handles or nobody publishes')
    .option('--json', 'print the catalog as JSON on stdout')
    .addHelpText(
      'after',
      examples([
        'msvc events',
        'msvc events tail order.created',
        'msvc events dlq',
        'msvc events dlq --replay',
      ]),
    )
    .action(async (opts) => {
      const { runEvents } = await import('./commands/events.js')
      await runEvents(opts, ctx())
    })

  events
    .command('tail')
    .argument('<type>', 'event type from the catalog, e.g. order.created')
    .description('print live events of a running stack until Ctrl-C')
    .option('--server <url>', 'NATS server (default: the stack, nats://127.0.0.1:4222)')
    .option('--count <n>', 'stop after n events')
    .option('--json', 'print each envelope as one JSON line on stdout')
    .addHelpText(
      'after',
      examples(['msvc events tail order.created', 'msvc events tail order.created --json --count 10']),
    )
    .action(async (type: string, _opts, cmd: Command) => {
      const { runEventsTail } = await import('./commands/events.js')
      await runEventsTail(type, cmd.optsWithGlobals(), ctx())
    })

  events
    .command('dlq')
    .description('list dead-lettered events with their last error; --replay sends them again')
    .option('--server <url>', 'NATS server (default: the stack, nats://127.0.0.1:4222)')
    .option('--service <name>', 'only those of this subscribing service')
    .option('--type <type>', 'only those of this event type')
    .option(
      '--replay',
      'publish them again on their subject (same event id) and remove them from the dead letters',
    )
    .option('--dry-run', 'with --replay: say what would be replayed, change nothing')
    .option('--json', 'print JSON on stdout')
    .addHelpText(
      'after',
      examples(['msvc events dlq', 'msvc events dlq --service payment --json', 'msvc events dlq --replay']),
    )
    .action(async (_opts, cmd: Command) => {
      const { runEventsDlq } = await import('./commands/events.js')
      // --json also parses as the parent's option: take both
      await runEventsDlq(cmd.optsWithGlobals(), ctx())
    })
  return events
}
