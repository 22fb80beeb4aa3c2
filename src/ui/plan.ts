import type { FilePlan } from '../core/scaffold/render.js'
import { byteLength } from '../core/scaffold/render.js'
import type { Ui } from './ui.js'

/** --dry-run output: each path with its size, then the total; data, so stdout. */
export function printPlan(ui: Ui, plan: FilePlan): void {
  const replaces = new Set(plan.replaces ?? [])
  let total = 0
  const rows = plan.files.map((f) => {
    const size = byteLength(f)
    total += size
    return [replaces.has(f.path) ? 'update' : 'create', f.path, formatBytes(size)]
  })
  ui.table(rows)
  ui.data(`${plan.files.length} files, ${formatBytes(total)} (dry run: nothing written)`)
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  return `${(n / 1024).toFixed(1)} KiB`
}
