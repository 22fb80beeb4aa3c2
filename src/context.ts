import type { Prompter } from './io/prompt.js'
import type { Ui } from './ui/ui.js'

/** What commands receive instead of reaching for globals; tests swap any part. */
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
}
