// The stack's health check (readyProbe, what `msvc compose` writes) run for real in the stack's
// base image: a fresh ready file naming the expected port passes without Node; without one it falls back to fetching
// /health/ready, so a service generated before the kit kept the file is judged as it was; a stale
// file over a service that answers 503 fails, with a line saying why.
import { execa } from 'execa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { READY_DIR, READY_FILE, readyProbe } from '../../src/core/compose/build-stack.js'
import { dockerAvailable } from '../helpers/docker.js'

const hasDocker = await dockerAvailable()
const NAME = `msvc-test-health-probe-${process.pid}`
const PORT = 3998
const probe = readyProbe(PORT).replaceAll('$$', '$')

// /health/ready answers what /tmp/status says (200 unless it holds another code)
const server = `
const fs = require('node:fs')
require('node:http').createServer((q, s) => {
  let code = 200
  try { code = Number(fs.readFileSync('/tmp/status', 'utf8')) } catch {}
  s.statusCode = code
  s.end()
}).listen(${PORT}, '127.0.0.1')
process.on('SIGTERM', () => process.exit(0))`

const sh = (script: string) => execa('docker', ['exec', NAME, 'sh', '-c', script], { reject: false })

describe.skipIf(!hasDocker)('the health check msvc compose writes', () => {
  beforeAll(async () => {
    await execa('docker', [
      'run',
      '-d',
      '--name',
      NAME,
      '--label',
      'msvc.test=health-probe',
      '--tmpfs',
      READY_DIR,
      'node:24-slim',
      'node',
      '-e',
      server,
    ])
    for (
      let i = 0;
      (await sh(`node -e "fetch('http://127.0.0.1:${PORT}').then(()=>0)"`)).exitCode !== 0;
      i++
    ) {
      if (i > 50) throw new Error('the stand-in service never listened')
      await new Promise((r) => setTimeout(r, 200))
    }
  }, 60_000)
  afterAll(async () => {
    await execa('docker', ['rm', '-f', NAME], { reject: false })
  })

  it('passes on a fresh file without starting Node, and falls back to /health/ready without one', async () => {
    // no file: the HTTP probe decides (200)
    expect((await sh(probe)).exitCode).toBe(0)
    await sh('echo 503 > /tmp/status')
    const down = await sh(probe)
    expect(down.exitCode).toBe(1)
    expect(down.stdout).toBe('not ready: GET /health/ready did not answer 200')
    // a fresh file naming the expected port passes without asking the service (still 503)
    await sh(`echo -n ${PORT} > ${READY_FILE}`)
    expect((await sh(probe)).exitCode).toBe(0)
    // a service serving on another port than compose expects is asked on the expected one
    await sh(`echo -n 4999 > ${READY_FILE}`)
    expect((await sh(probe)).exitCode).toBe(1)
    await sh(`echo -n ${PORT} > ${READY_FILE}`)
    // stale (a hung service stops rewriting it): the service is asked again, and says 503
    await sh(`touch -d @$(( $(date +%s) - 10 )) ${READY_FILE}`)
    expect((await sh(probe)).exitCode).toBe(1)
    await sh('rm /tmp/status')
    expect((await sh(probe)).exitCode).toBe(0)
  }, 60_000)
})
