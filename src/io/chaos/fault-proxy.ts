import type * as Net from 'node:net'
import { paceTime, releaseTime } from '../../core/chaos/shaping.js'

/** What one fault proxy does: listen on a spare port per service port, forward to 127.0.0.1. */
export interface ProxyConfig {
  listen: { port: number; target: number }[]
  /** added to the service's replies (downstream), as Toxiproxy's latency toxic does by default */
  delayMs: number
  jitterMs: number
  /** both directions, each at this rate; 0 = unlimited */
  bytesPerSecond: number
}

/**
 * The proxy's program. It runs as `node -e` in the target's network namespace (proxy-process.ts),
 * so it is sent as source text: everything it uses arrives as a parameter. (Not even a require of
 * its own: in msvc's bundle (scripts/build.mjs) a require in a function's text is rewritten.)
 */
export function faultProxyMain(
  cfg: ProxyConfig,
  net: typeof Net,
  release: typeof releaseTime,
  pace: typeof paceTime,
): void {
  const PIECE = 16 * 1024
  const HIGH_WATER = 256 * 1024
  type Sock = Net.Socket
  const shape = (src: Sock, dst: Sock, delayMs: number, jitterMs: number, rate: number) => {
    const queue: { at: number; data: Buffer }[] = []
    let last = 0
    let queued = 0
    let ended = false
    let timer: ReturnType<typeof setTimeout> | undefined
    const flush = () => {
      timer = undefined
      const now = Date.now()
      while (queue.length > 0 && queue[0]!.at <= now) {
        const item = queue.shift()!
        queued -= item.data.length
        if (!dst.destroyed) dst.write(item.data)
      }
      if (queued < HIGH_WATER && src.isPaused()) src.resume()
      if (queue.length > 0) timer = setTimeout(flush, Math.max(0, queue[0]!.at - Date.now()))
      else if (ended && !dst.destroyed) dst.end()
    }
    src.on('data', (chunk: Buffer) => {
      if (delayMs === 0 && rate === 0 && queue.length === 0) {
        dst.write(chunk)
        return
      }
      const pieces: Buffer[] = []
      if (rate > 0) for (let i = 0; i < chunk.length; i += PIECE) pieces.push(chunk.subarray(i, i + PIECE))
      else pieces.push(chunk)
      for (const data of pieces) {
        const now = Date.now()
        let at = delayMs > 0 ? release(now, last, delayMs, jitterMs, Math.random()) : Math.max(now, last)
        if (rate > 0) at = pace(now, at, data.length, rate)
        last = at
        queue.push({ at, data })
        queued += data.length
      }
      if (queued >= HIGH_WATER) src.pause()
      if (!timer) timer = setTimeout(flush, Math.max(0, queue[0]!.at - Date.now()))
    })
    // a peer that closes (the server's keep-alive timeout, say) ends the other side only once
    // everything queued for it has gone out
    const finish = () => {
      ended = true
      if (queue.length === 0 && !dst.destroyed) dst.end()
    }
    src.on('end', finish).on('close', finish)
  }
  let listening = 0
  for (const { port, target } of cfg.listen) {
    const server = net.createServer((client) => {
      const upstream = net.connect({ host: '127.0.0.1', port: target })
      client.setNoDelay(true)
      upstream.setNoDelay(true)
      const abort = () => {
        client.destroy()
        upstream.destroy()
      }
      client.on('error', abort)
      upstream.on('error', abort)
      shape(client, upstream, 0, 0, cfg.bytesPerSecond)
      shape(upstream, client, cfg.delayMs, cfg.jitterMs, cfg.bytesPerSecond)
    })
    server.listen(port, '0.0.0.0', () => {
      if (++listening === cfg.listen.length) console.log('msvc-fault-proxy ready')
    })
  }
  // stop at once when undone; msvc stops reading its output once it is ready, so nothing written
  // later may kill it with EPIPE
  process.on('SIGTERM', () => process.exit(0))
  process.stdout.on('error', () => {})
  process.stderr.on('error', () => {})
}

/**
 * The source text of the proxy for `node -e`; its configuration comes in MSVC_PROXY (JSON). The
 * functions go in as expressions, so the names a bundler gives them do not matter.
 */
export function faultProxySource(): string {
  return `(${faultProxyMain.toString()})(JSON.parse(process.env.MSVC_PROXY), require('node:net'), ${releaseTime.toString()}, ${paceTime.toString()})`
}
