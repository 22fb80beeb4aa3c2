/**
 * The dashboard as the stack commands see it (`ctx.dashboard`): `up` makes sure one runs, `down`
 * stops it. A test swaps this edge for a fake, so that no test starts a background process by
 * accident.
 */
import { findDashboard, startDashboardProcess, stopDashboard, type DashboardRecord } from './process.js'

export interface DashboardEdge {
  /** the workspace's running dashboard, else one started in the background */
  ensure(root: string): Promise<{ record: DashboardRecord; started: boolean }>
  /** stops it; true when one was running */
  stop(root: string): Promise<boolean>
}

export const processDashboard: DashboardEdge = {
  async ensure(root) {
    const running = await findDashboard(root)
    if (running) return { record: running, started: false }
    return { record: await startDashboardProcess(root), started: true }
  },
  stop: stopDashboard,
}
