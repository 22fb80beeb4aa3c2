import type { ProtoProblem } from './model.js'

// protoc reports `file:line:col: message` (1-based), or `file: message` when it has no place.
const WITH_PLACE = /^(.+?):(\d+):(\d+): (.+)$/
const WITHOUT_PLACE = /^([^:\s][^:]*\.proto): (.+)$/

/** protoc's stderr as problems; the paths it prints are prefixed with `prefix` (the proto folder). */
export function parseProtocErrors(output: string, prefix = ''): ProtoProblem[] {
  const problems: ProtoProblem[] = []
  for (const raw of output.split('\n')) {
    const line = raw.trim()
    if (!line) continue
    const m = WITH_PLACE.exec(line)
    if (m) {
      problems.push({ file: prefix + m[1], line: Number(m[2]), col: Number(m[3]), message: m[4]! })
      continue
    }
    const n = WITHOUT_PLACE.exec(line)
    if (n) problems.push({ file: prefix + n[1], message: n[2]! })
  }
  if (problems.length === 0 && output.trim())
    problems.push({ file: prefix || '.', message: output.trim().split('\n')[0]! })
  return problems
}

/** `file:line:col message`, the form editors and CI annotate. */
export const formatProblem = (p: ProtoProblem): string =>
  `${p.file}${p.line !== undefined ? `:${p.line}` : ''}${p.col !== undefined ? `:${p.col}` : ''} ${p.message}`
