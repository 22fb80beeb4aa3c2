// `msvc down --volumes` against a real engine: the workspace's labelled volumes go, and one that
// another container still uses is a clear error, not a silent leftover.
import { randomBytes } from 'node:crypto'
import { rm, writeFile } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { msvc } from '../helpers/cli.js'
import { docker, dockerAvailable } from '../helpers/docker.js'
import { freePort } from '../helpers/net.js'
import { makeTempDir } from '../helpers/temp-dir.js'

const hasDocker = await dockerAvailable()

describe.skipIf(!hasDocker)('msvc down --volumes', () => {
  const ws = `vol-${randomBytes(4).toString('hex')}`
  const volume = `${ws}_data`
  const holder = `${ws}-holder`
  let root = ''
  const volumes = () => docker(['volume', 'ls', '-q', '--filter', `label=msvc.workspace=${ws}`])

  beforeAll(async () => {
    root = await makeTempDir('msvc-down-volumes-')
    await writeFile(
      `${root}/msvc.yaml`,
      `name: ${ws}\nservices:\n  web:\n    capabilities: [http]\n    ports: { http: ${await freePort()} }\n`,
    )
    await docker(['volume', 'create', '--label', `msvc.workspace=${ws}`, volume])
    // a container of nobody's stack (no msvc label) that mounts the volume
    await docker(['create', '--name', holder, '-v', `${volume}:/data`, 'node:24-slim', 'true'])
  })
  afterAll(async () => {
    await docker(['rm', '-f', holder]).catch(() => '')
    await docker(['volume', 'rm', '-f', volume]).catch(() => '')
    await rm(root, { recursive: true, force: true })
  })

  it('a volume still in use is an error naming it, with a hint; the other container is untouched', async () => {
    const r = await msvc(['down', '--volumes'], { cwd: root, env: { NO_COLOR: '1' } })
    expect(r.exitCode).toBe(1)
    expect(r.stderr).toMatch(new RegExp(`could not remove volume ${volume} of ${ws}: .*in use`))
    expect(r.stderr).toContain(`docker ps -a --filter volume=${volume}`)
    expect(await volumes()).toBe(volume)
    expect(await docker(['inspect', '-f', '{{.Name}}', holder])).toBe(`/${holder}`)
  })

  it('once nothing uses it, the volume is removed and the output says so', async () => {
    await docker(['rm', '-f', holder])
    const r = await msvc(['down', '--volumes'], { cwd: root, env: { NO_COLOR: '1' } })
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.stdout + r.stderr).toContain(`removed 1 volume(s) (${volume})`)
    expect(await volumes()).toBe('')
  })
})
