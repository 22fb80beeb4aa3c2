import { createServer } from 'node:net'
import { join } from 'node:path'
import type { Ctx } from '../context.js'
import { NATS_IMAGE, buildComposeStack, needsNats, LABEL } from '../core/compose/build-stack.js'
import { toEngineHint, toPullHint } from '../core/docker-hints.js'
import { WORKSPACE_NODE_RANGE, workspaceSupportsNode } from '../core/node-support.js'
import { DEFAULT_BASE_IMAGE, listBaseImages, listObservabilityBackends } from '../core/workspace/model.js'
import { EXIT, ExitError } from '../errors.js'
import { docker } from '../io/docker.js'
import { detectComposeFlavour } from '../io/exec.js'
import { exists } from '../io/fs.js'
import { findWorkspaceRoot, loadWorkspace } from '../io/workspace.js'

export interface Check {
  name: string
  ok: boolean
  detail: string
  fix?: string
}

/** `msvc doctor`: checks what `msvc up` needs and prints a fix for each problem. */
export async function runDoctor(opts: { json?: boolean }, ctx: Ctx): Promise<void> {
  const checks: Check[] = []
  checks.push({
    name: 'node',
    ok: workspaceSupportsNode(process.versions.node),
    detail: `v${process.versions.node}`,
    fix: `install Node 24 LTS (workspaces need ${WORKSPACE_NODE_RANGE})`,
  })
  const d = await docker()
  let engine = false
  try {
    const v = await d.version()
    engine = true
    checks.push({ name: 'docker engine', ok: true, detail: `${v.Version} (API ${v.ApiVersion})` })
  } catch (e) {
    checks.push({
      name: 'docker engine',
      ok: false,
      detail: (e as Error).message,
      fix: toEngineHint((e as { code?: string }).code),
    })
  }
  try {
    const c = await detectComposeFlavour(ctx.env, { version: true })
    checks.push({
      name: 'compose',
      ok: true,
      detail: `${c.flavour === 'v2' ? 'docker compose' : 'docker-compose'} ${c.version}`,
    })
  } catch (e) {
    checks.push({
      name: 'compose',
      ok: false,
      detail: (e as Error).message,
      fix: 'install Docker Compose v2 (or docker-compose v1)',
    })
  }
  const root = await findWorkspaceRoot(ctx.cwd)
  const ws = root ? (await loadWorkspace(ctx.cwd)).workspace : undefined
  if (engine) {
    const images = [
      ...(ws ? listBaseImages(ws) : [DEFAULT_BASE_IMAGE]),
      ...(ws && needsNats(ws) ? [NATS_IMAGE] : []),
      // the observability backends msvc.yaml turns on (Prometheus, Grafana, Jaeger)
      ...(ws ? listObservabilityBackends(ws).map((b) => buildComposeStack(ws).services[b]!.image) : []),
    ]
    for (const image of images) {
      const found = await d
        .getImage(image)
        .inspect()
        .then(() => true)
        .catch(() => false)
      checks.push({
        name: `image ${image}`,
        ok: found,
        detail: found ? 'present' : 'missing',
        fix: toPullHint(image),
      })
    }
  }
  if (root && ws) {
    checks.push({
      name: 'workspace install',
      ok: await exists(join(root, 'node_modules')),
      detail: root,
      fix: `cd ${root} && npm install`,
    })
    const ours = new Set<number>()
    if (engine)
      for (const c of await d.listContainers({
        all: true,
        filters: { label: [`${LABEL.workspace}=${ws.name}`] },
      }))
        for (const p of c.Ports ?? []) if (p.PublicPort) ours.add(p.PublicPort)
    const busy: string[] = []
    for (const [name, svc] of Object.entries(buildComposeStack(ws).services))
      for (const spec of svc.ports ?? []) {
        const port = Number(spec.split(':')[1])
        if (!ours.has(port) && !(await portFree(port))) busy.push(`${port} (${name})`)
      }
    checks.push({
      name: 'ports',
      ok: busy.length === 0,
      detail: busy.length ? `in use: ${busy.join(', ')}` : 'free',
      fix: 'stop what holds them, or change the ports in msvc.yaml',
    })
  }
  if (opts.json) ctx.ui.json(checks)
  else {
    const c = ctx.ui.color
    ctx.ui.table(
      checks.map((k) => [
        k.ok ? c.green('✔') : c.red('✖'),
        k.name,
        k.detail,
        k.ok ? '' : c.yellow(k.fix ?? ''),
      ]),
    )
  }
  if (checks.some((k) => !k.ok)) throw new ExitError(EXIT.found)
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer()
    s.once('error', () => resolve(false))
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)))
  })
}
