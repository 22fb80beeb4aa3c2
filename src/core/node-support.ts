/**
 * The Node versions a generated workspace runs on, as its package.json `engines` declares them
 * (`^20.19.0 || ^22.13.0 || >=24`): its vite, vitest and eslint need 20.19 and 22.13. `msvc doctor`
 * checks the host's Node against it.
 */
export const WORKSPACE_NODE_RANGE = '^20.19.0 || ^22.13.0 || >=24'

/** Whether `version` (e.g. `20.19.1`, with or without a leading v) is in WORKSPACE_NODE_RANGE. */
export function workspaceSupportsNode(version: string): boolean {
  const [major = 0, minor = 0] = version.replace(/^v/, '').split('.').map(Number)
  return major >= 24 || (major === 22 && minor >= 13) || (major === 20 && minor >= 19)
}
