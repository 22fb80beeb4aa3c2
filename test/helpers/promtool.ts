import { execa } from 'execa'

/**
 * Is `promtool` on PATH? A missing one skips the metrics checks, except with
 * MSVC_E2E_REQUIRE_DOCKER=1 (CI), where it fails the run: the check must not vanish silently.
 */
export async function promtoolAvailable(): Promise<boolean> {
  const r = await execa('promtool', ['--version'], { reject: false }).catch(() => ({ exitCode: 1 }))
  const found = r.exitCode === 0
  if (!found && process.env.MSVC_E2E_REQUIRE_DOCKER === '1')
    throw new Error('MSVC_E2E_REQUIRE_DOCKER=1 but `promtool` is not on PATH (apt-get install prometheus)')
  return found
}

/** `promtool check metrics` on an exposition: its problems, one a line (empty when it passes). */
export async function checkMetrics(exposition: string): Promise<{ exitCode: number; problems: string }> {
  const r = await execa('promtool', ['check', 'metrics'], { input: exposition, reject: false, all: true })
  return { exitCode: r.exitCode ?? -1, problems: String(r.all).trim() }
}
