// `msvc` with `chaos` registered, for tests until src/cli.ts wires registerChaos (then it is the
// same program): the built msvc program plus registerChaos, run through the CLI's exit-code logic.
import { createRequire } from 'node:module'
import { buildMsvcProgram, exitCodeFor } from '../../dist/cli.js'
import { registerChaos } from '../../dist/cli-chaos.js'
import { inquirerPrompter } from '../../dist/io/prompt.js'
import { createUi } from '../../dist/ui/ui.js'

const version = createRequire(import.meta.url)('../../package.json').version
const ui = createUi({ stdout: process.stdout, stderr: process.stderr, env: process.env })
const ctx = () => ({
  cwd: process.cwd(),
  env: process.env,
  ui,
  prompt: inquirerPrompter,
  interactive: false,
  version,
})
const program = buildMsvcProgram(ctx)
if (!program.commands.some((c) => c.name() === 'chaos')) registerChaos(program, ctx)
program.exitOverride()
let code = 0
try {
  await program.parseAsync(process.argv)
} catch (err) {
  code = exitCodeFor(err, ui)
}
process.exitCode = code
