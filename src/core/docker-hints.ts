/**
 * One-line fixes for the Docker problems a user meets, worded the same by every command and by
 * `msvc doctor`. They name what a user has: Docker's own install page and the usual commands,
 * never a script of this repository (issue #13, item 4).
 */
export const DOCKER_HINT = {
  install: 'install Docker: https://docs.docker.com/engine/install/',
  start:
    'start Docker (`sudo systemctl start docker` on Linux, or start Docker Desktop), then run `msvc doctor`',
  /** no socket at all: Docker is not running, or not installed */
  startOrInstall:
    'start Docker (`sudo systemctl start docker` on Linux, or start Docker Desktop); not installed? https://docs.docker.com/engine/install/',
  permission:
    'add your user to the docker group (`sudo usermod -aG docker $USER`, then log in again), or run as root',
} as const

/** The fix for an image the engine does not have. */
export const toPullHint = (image: string): string => `docker pull ${image}`

/** The hint for an engine that cannot be reached, by the socket error's code. */
export function toEngineHint(code: string | undefined): string {
  if (code === 'EACCES') return DOCKER_HINT.permission
  if (code === 'ENOENT') return DOCKER_HINT.startOrInstall
  return DOCKER_HINT.start
}
