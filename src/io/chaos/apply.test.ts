// The kill fallback of applyOneShot: without the right to signal the container's process (msvc not
// run as root), the engine kills it and msvc starts it again, and says so. The signal is refused
// by a stand-in for process.kill: as root (where the real faults are tested) nothing is refused.
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { Engine, EngineContainer } from '../engine.js'
import { applyOneShot } from './apply.js'
import type { ChaosTarget } from './targets.js'

const target: ChaosTarget = {
  id: 'c1',
  name: 'shop_web_1',
  replica: 1,
  pid: 4242,
  startedAt: '2026-12-03T00:00:00Z',
  paused: false,
  ips: ['172.18.0.2'],
}

function engineRecording(calls: string[]): Engine {
  const container = {
    kill: async (o?: { signal?: string }) => void calls.push(`kill ${o?.signal}`),
    wait: async () => void calls.push('wait'),
    start: async () => void calls.push('start'),
    restart: async () => void calls.push('restart'),
  } as unknown as EngineContainer
  return { getContainer: () => container } as unknown as Engine
}

const refuse = (code: string) =>
  vi.spyOn(process, 'kill').mockImplementation(() => {
    throw Object.assign(new Error(`kill ${code}`), { code })
  })

describe('applyOneShot kill', () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it('signals the process from the host when it may, and touches nothing through the engine', async () => {
    const kill = vi.spyOn(process, 'kill').mockImplementation(() => true)
    const calls: string[] = []
    expect(await applyOneShot(engineRecording(calls), { kind: 'kill', signal: 'SIGKILL' }, [target])).toEqual(
      [],
    )
    expect(kill).toHaveBeenCalledWith(4242, 'SIGKILL')
    expect(calls).toEqual([])
  })

  it('without permission (EPERM): killed through the engine, started again, and a note says so', async () => {
    refuse('EPERM')
    const calls: string[] = []
    const notes = await applyOneShot(engineRecording(calls), { kind: 'kill', signal: 'SIGKILL' }, [target])
    expect(calls).toEqual(['kill SIGKILL', 'wait', 'start'])
    expect(notes).toEqual([
      'shop_web_1: no permission to signal its process, so msvc killed it through Docker and started it again',
    ])
  })

  it('any other failure (ESRCH) is an error naming the fault, with no engine fallback', async () => {
    refuse('ESRCH')
    const calls: string[] = []
    await expect(
      applyOneShot(engineRecording(calls), { kind: 'kill', signal: 'SIGKILL' }, [target]),
    ).rejects.toThrow('kill failed: kill ESRCH')
    expect(calls).toEqual([])
  })
})
