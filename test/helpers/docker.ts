import { execa } from 'execa'

/** Is a Docker engine answering? With MSVC_E2E_REQUIRE_DOCKER=1 a missing engine fails the run instead of skipping. */
export async function dockerAvailable(): Promise<boolean> {
  const r = await execa('docker', ['info', '--format', '{{.ServerVersion}}'], {
    reject: false,
    timeout: 20_000,
  }).catch(() => ({ exitCode: 1 }))
  const up = r.exitCode === 0
  if (!up && process.env.MSVC_E2E_REQUIRE_DOCKER === '1')
    throw new Error(
      'MSVC_E2E_REQUIRE_DOCKER=1 but no Docker engine answers `docker info` (run ../shared/ci/docker-env.sh)',
    )
  return up
}

export async function docker(args: string[]): Promise<string> {
  const r = await execa('docker', args, { reject: false, all: true })
  if (r.exitCode !== 0) throw new Error(`docker ${args.join(' ')} failed: ${r.all}`)
  return String(r.stdout).trim()
}

/** Container ids carrying a label (`key=value`), running or not. */
export async function containersWithLabel(label: string): Promise<string[]> {
  const out = await docker(['ps', '-aq', '--filter', `label=${label}`])
  return out ? out.split('\n') : []
}
