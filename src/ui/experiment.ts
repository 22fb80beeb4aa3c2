import type { ExperimentReporter } from '../io/chaos/experiment-runner.js'
import { describeRecovery } from '../core/chaos/recovery.js'
import { formatDuration } from '../core/chaos/units.js'
import type { Ui } from './ui.js'

/** `msvc chaos run`'s lines as the experiment goes: probes, faults, recoveries and rollbacks. */
export function experimentPrinter(ui: Ui): ExperimentReporter {
  const c = ui.color
  const mark = (ok: boolean) => (ok ? c.green('✔') : c.red('✖'))
  return {
    probe: (phase, r) => ui.info(`${mark(r.ok)} ${c.dim(`${phase}:`)} ${r.name} ${c.dim('→')} ${r.detail}`),
    methodStarts: (steps, ms) => ui.info(c.dim(`method: ${steps} step(s) over ${formatDuration(ms)}`)),
    faultApplied: (rec, step) =>
      ui.info(
        `${c.yellow('⚡')} ${c.dim(`+${formatDuration(step.atMs)}`)} ${rec.fault} on ${step.service} (${rec.targets.join(', ')})${step.forMs ? ` for ${formatDuration(step.forMs)}` : ''}`,
      ),
    faultRestored: (fault, service) => ui.info(`${c.green('↺')} restored ${fault} on ${service}`),
    faultRecovery: (rec, step, timeoutMs) => {
      const line = `${step.service} ${describeRecovery(rec.recovery!, timeoutMs)}`
      if (rec.recovery!.recovered) ui.info(`${c.green('✔')} ${line}`)
      else ui.warn(line)
    },
    faultFailed: (rec, step) =>
      ui.warn(`+${formatDuration(step.atMs)} ${rec.fault} on ${step.service} failed: ${rec.error}`),
    rollback: (r) =>
      ui.info(`${mark(r.ok)} ${c.dim('rollback:')} ${r.action} ${r.service} ${c.dim('→')} ${r.detail}`),
  }
}
