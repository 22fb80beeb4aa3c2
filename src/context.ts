import type { Workspace } from './core/workspace/model.js'
import type { DashboardEdge } from './io/dashboard/edge.js'
import type { Engine } from './io/engine.js'
import type { Prompter } from './io/prompt.js'
import type { SignalTrap } from './io/signals.js'
import type { Runtime } from './runtime/runtime.js'
import type { Ui } from './ui/ui.js'

/**
 * What commands receive instead of reaching for globals: the terminal (ui, prompt) and the edges
 * that reach outside the process (the runtime, the container engine, signals). Tests swap any part
 * (test/helpers/fake-ctx.ts), so a command runs in process with no Docker.
 */
export interface Ctx {
  cwd: string
  env: NodeJS.ProcessEnv
  ui: Ui
  prompt: Prompter
  /** may the command ask questions? (stdin and stdout are TTYs and CI is not set) */
  interactive: boolean
  version: string
  /** folder holding the templates; the package's own by default */
  templatesDir?: string
  /** the runtime the workspace's stack runs on (Docker with compose) */
  runtime(root: string, ws: Workspace): Promise<Runtime>
  /** the container engine, once it answers (a one-line error with a hint when it does not) */
  engine(): Promise<Engine>
  /** SIGINT/SIGTERM abort the trap's signal instead of ending msvc, until it is released */
  trapSignals(): SignalTrap
  /** the workspace's background dashboard (`msvc up` starts it, `msvc down` stops it) */
  dashboard(): Promise<DashboardEdge>
}
