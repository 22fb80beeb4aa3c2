import type { ProtoProblem } from './model.js'

interface BufJsonProblem {
  path?: string
  start_line?: number
  start_column?: number
  type?: string
  message?: string
}

/** buf's `--error-format=json` output (one object a line) as problems; other lines become problems too. */
export function parseBufJsonLines(output: string, prefix = ''): ProtoProblem[] {
  const problems: ProtoProblem[] = []
  for (const raw of output.split('\n')) {
    const line = raw.trim()
    if (!line) continue
    let p: BufJsonProblem | undefined
    try {
      p = JSON.parse(line) as BufJsonProblem
    } catch {
      p = undefined
    }
    if (p && typeof p === 'object' && p.message) {
      problems.push({
        file: prefix + (p.path ?? ''),
        ...(p.start_line ? { line: p.start_line } : {}),
        ...(p.start_column ? { col: p.start_column } : {}),
        message: p.type ? `${p.message} (${p.type})` : p.message,
      })
    } else {
      // buf's own failures (a syntax error while building the image) are plain text: file:line:col:message
      const m = /^(.+?\.proto):(\d+):(\d+):(.*)$/.exec(line)
      if (m)
        problems.push({ file: prefix + m[1], line: Number(m[2]), col: Number(m[3]), message: m[4]!.trim() })
      else problems.push({ file: prefix.replace(/\/$/, '') || '.', message: line })
    }
  }
  return problems
}
