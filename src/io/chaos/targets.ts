import type Dockerode from 'dockerode'
import { type Engine } from '../engine.js'
import { LABEL, listStackNames, stackMember } from '../../core/compose/build-stack.js'
import { selectReplicas, type ReplicaSelection } from '../../core/chaos/faults.js'
import type { Workspace } from '../../core/workspace/model.js'
import { hintKnown } from '../../core/workspace/parse.js'
import { UserError } from '../../errors.js'
import { toEngineError } from '../docker.js'

/** A running container of a service, as chaos needs it. */
export interface ChaosTarget {
  id: string
  name: string
  replica: number
  pid: number
  startedAt: string
  paused: boolean
  ips: string[]
}

/** Containers of this workspace and service, found by label only. */
export async function listServiceContainers(
  d: Engine,
  ws: string,
  service?: string,
): Promise<Dockerode.ContainerInfo[]> {
  const label = [`${LABEL.workspace}=${ws}`]
  if (service) label.push(`${LABEL.service}=${service}`)
  try {
    return await d.listContainers({ all: true, filters: { label } })
  } catch (e) {
    throw toEngineError(e)
  }
}

const replicaNumber = (c: Dockerode.ContainerInfo) =>
  Number(c.Labels['com.docker.compose.container-number'] ?? 0) || 0

/**
 * The running containers of a service, by replica number. An unknown service, a stack that is not
 * up and a service with nothing running are three different UserErrors.
 */
export async function findRunning(d: Engine, ws: Workspace, service: string): Promise<ChaosTarget[]> {
  if (!stackMember(ws, service))
    throw new UserError(`unknown service "${service}"`, hintKnown(listStackNames(ws)))
  const all = await listServiceContainers(d, ws.name)
  const running = all.filter((c) => c.State === 'running' || c.State === 'paused')
  if (running.length === 0)
    throw new UserError(
      `the stack of ${ws.name} is not up: no container of it is running`,
      'start it with msvc up',
    )
  const mine = running
    .filter((c) => c.Labels[LABEL.service] === service)
    .sort((a, b) => replicaNumber(a) - replicaNumber(b) || (a.Names[0] ?? '').localeCompare(b.Names[0] ?? ''))
  if (mine.length === 0)
    throw new UserError(
      `${service} has no running container`,
      `start it with msvc up ${service} (or msvc chaos restore if msvc stopped it)`,
    )
  const out: ChaosTarget[] = []
  for (const [i, info] of mine.entries()) {
    const c = await d.getContainer(info.Id).inspect()
    out.push({
      id: info.Id,
      name: (info.Names[0] ?? info.Id).replace(/^\//, ''),
      replica: replicaNumber(info) || i + 1,
      pid: c.State.Pid,
      startedAt: c.State.StartedAt,
      paused: c.State.Paused,
      ips: Object.values(c.NetworkSettings.Networks ?? {})
        .map((n) => n.IPAddress)
        .filter(Boolean),
    })
  }
  return out
}

/** The targets a fault hits: one replica (the first, or `--replica N`) or all of them (`--all`). */
export async function resolveTargets(
  d: Engine,
  ws: Workspace,
  service: string,
  sel: ReplicaSelection,
): Promise<ChaosTarget[]> {
  return selectReplicas(await findRunning(d, ws, service), sel, service)
}

/** The container ports of a service: HTTP, and gRPC when it has it. */
export const servicePorts = (ws: Workspace, service: string): number[] =>
  stackMember(ws, service)?.ports ?? []
