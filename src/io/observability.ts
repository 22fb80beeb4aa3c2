import { chmod, rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { OBSERVABILITY_DIR, listBackendFiles } from '../core/observability/files.js'
import { OBSERVABILITY_BACKENDS, type Workspace } from '../core/workspace/model.js'
import { writeFileAtomic } from './fs.js'

/**
 * Writes the configuration of each backend msvc.yaml turns on into .msvc/observability/<backend>,
 * and removes the folder of each one turned off (msvc's own files only). The files are readable by
 * everyone and their folders searchable: the containers read them as their own user (Prometheus
 * runs as nobody), whatever the umask.
 */
export async function writeObservabilityFiles(root: string, ws: Workspace): Promise<string[]> {
  const written: string[] = []
  for (const backend of OBSERVABILITY_BACKENDS) {
    if (!ws.observability?.[backend]) {
      await rm(join(root, OBSERVABILITY_DIR, backend), { recursive: true, force: true })
      continue
    }
    for (const f of listBackendFiles(ws, backend)) {
      const path = join(root, f.path)
      await writeFileAtomic(path, f.contents)
      await chmod(path, 0o644)
      for (let dir = dirname(path); dir.length > root.length; dir = dirname(dir)) await chmod(dir, 0o755)
      written.push(f.path)
    }
  }
  return written
}
