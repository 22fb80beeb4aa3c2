/** Which compose CLI runs the stack: the v2 plugin (`docker compose`) or the v1 binary. */
export type ComposeFlavour = 'v2' | 'v1'

export interface ComposeInvocation {
  /** docker-compose.yml first, then what compose merges over it (the user's override), in order */
  files: readonly string[]
  project: string
}

export type ComposeAction =
  { kind: 'up'; services: readonly string[] } | { kind: 'down'; volumes: boolean } | { kind: 'config' }

/** The command and arguments for a compose action; v1 and v2 differ only in the executable. */
export function composeCommand(
  flavour: ComposeFlavour,
  inv: ComposeInvocation,
  action: ComposeAction,
): { command: string; args: string[] } {
  const base = ['-p', inv.project, ...inv.files.flatMap((f) => ['-f', f])]
  const [command, prefix] = flavour === 'v2' ? ['docker', ['compose']] : ['docker-compose', []]
  switch (action.kind) {
    case 'up':
      // msvc builds images itself (host bundle + engine API) and waits for health itself:
      // compose only creates and starts containers. --no-build so compose never tries to pull or build.
      return {
        command,
        args: [...prefix, ...base, 'up', '-d', '--no-build', '--remove-orphans', ...action.services],
      }
    case 'down':
      return {
        command,
        args: [...prefix, ...base, 'down', '--remove-orphans', ...(action.volumes ? ['--volumes'] : [])],
      }
    case 'config':
      return { command, args: [...prefix, ...base, 'config', '-q'] }
  }
}
