import { mkdtemp, realpath } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export async function makeTempDir(prefix = 'msvc-test-'): Promise<string> {
  return realpath(await mkdtemp(join(tmpdir(), prefix)))
}
