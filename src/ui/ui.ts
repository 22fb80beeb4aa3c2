import { Chalk, type ChalkInstance } from 'chalk'
import type { Writable } from 'node:stream'
import { TaskList } from './tasks.js'

export interface UiOptions {
  stdout: Writable & { isTTY?: boolean }
  stderr: Writable & { isTTY?: boolean }
  env: NodeJS.ProcessEnv
}

/** Everything a command prints goes through this: diagnostics to stderr, data to stdout. */
export interface Ui {
  readonly color: ChalkInstance
  readonly interactive: boolean
  info(line: string): void
  success(line: string): void
  warn(line: string, hint?: string): void
  error(message: string, hint?: string): void
  /** Data for scripts: always stdout, never coloured. */
  data(text: string): void
  json(value: unknown): void
  /** Runs fn with a spinner on a TTY and a plain line otherwise. */
  step<T>(label: string, fn: () => Promise<T>): Promise<T>
  table(rows: string[][], header?: string[]): void
  /** Whether anything went to stdout yet (data, json or a table). */
  wroteData(): boolean
  /** A line on stderr that rewrites itself (a countdown); nothing when not interactive. */
  statusLine(): StatusLine
  /** One line per service and its phase on stderr, redrawn in place on a terminal when `live`. */
  taskList(services: string[], live: boolean): TaskList
}

export interface StatusLine {
  set(text: string): void
  clear(): void
}

/** Colour is off when NO_COLOR is set, when FORCE_COLOR=0, or when stderr is not a TTY. */
export function isColorEnabled(env: NodeJS.ProcessEnv, tty: boolean | undefined): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false
  if (env.FORCE_COLOR === '0') return false
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '') return true
  return tty === true && env.TERM !== 'dumb'
}

/** Pads cells to column width; widths count visible characters only. */
export function formatTable(
  rows: string[][],
  header?: string[],
  bold: (s: string) => string = (s) => s,
): string {
  const all = header ? [header, ...rows] : rows
  const widths: number[] = []
  for (const row of all) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, visibleLength(cell))
    })
  }
  const line = (row: string[]) =>
    row
      .map((cell, i) =>
        i === row.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - visibleLength(cell)),
      )
      .join('  ')
      .trimEnd()
  const out = rows.map(line)
  if (header) out.unshift(bold(line(header)))
  return out.join('\n')
}

function visibleLength(s: string): number {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\u001b\[[0-9;]*m/g, '').length
}

export function createUi(opts: UiOptions): Ui {
  const colorOn = isColorEnabled(opts.env, opts.stderr.isTTY)
  const color = new Chalk({ level: colorOn ? 1 : 0 })
  const interactive = opts.stderr.isTTY === true && !opts.env.CI
  const err = (s: string) => opts.stderr.write(s + '\n')
  let wrote = false
  const out = (s: string) => {
    wrote = true
    opts.stdout.write(s)
  }
  return {
    color,
    interactive,
    info: (line) => err(line),
    success: (line) => err(`${color.green('✔')} ${line}`),
    warn: (line, hint) => {
      err(`${color.yellow('!')} ${line}`)
      if (hint) err(`  ${color.dim(hint)}`)
    },
    error: (message, hint) => {
      err(`${color.red('✖')} ${message}`)
      if (hint) err(`  ${color.dim('hint:')} ${hint}`)
    },
    taskList: (services, live) => new TaskList(opts.stderr, color, interactive && live, services),
    statusLine() {
      let shown = false
      return {
        set(text) {
          if (!interactive) return
          opts.stderr.write(`\r\x1b[2K${text}`)
          shown = true
        },
        clear() {
          if (shown) opts.stderr.write('\r\x1b[2K')
          shown = false
        },
      }
    },
    data: (text) => out(text.endsWith('\n') ? text : text + '\n'),
    json: (value) => out(JSON.stringify(value, null, 2) + '\n'),
    async step(label, fn) {
      if (!interactive) {
        const t0 = performance.now()
        try {
          const result = await fn()
          err(`${color.green('✔')} ${label} ${color.dim(`(${Math.round(performance.now() - t0)} ms)`)}`)
          return result
        } catch (e) {
          err(`${color.red('✖')} ${label}`)
          throw e
        }
      }
      const { default: ora } = await import('ora')
      const spinner = ora({ text: label, stream: opts.stderr, color: 'cyan' }).start()
      const t0 = performance.now()
      try {
        const result = await fn()
        spinner.succeed(`${label} ${color.dim(`(${Math.round(performance.now() - t0)} ms)`)}`)
        return result
      } catch (e) {
        spinner.fail(label)
        throw e
      }
    },
    table(rows, header) {
      out(formatTable(rows, header, (s) => color.bold(s)) + '\n')
    },
    wroteData: () => wrote,
  }
}
