#!/usr/bin/env node
// The least a Node reverse proxy does, as a reference for bench/gateway.mjs: node's HTTP server,
// the workspace's undici (the gateway's own client) with a keep-alive pool to one upstream, the
// prefix rewritten, the answer streamed back with its hop-by-hop fields dropped. No token, no rate
// limit, no balancing, no logs, no metrics. What separates it from nginx is Node's HTTP stack;
// what separates the gateway from it is the gateway's own work.
// Usage: node bench/bare-proxy.mjs <workspace dir>   (env: PORT, HOST, UPSTREAM, PREFIX, REWRITE)
import http from 'node:http'
import { createRequire } from 'node:module'
import { join } from 'node:path'

const { Pool } = createRequire(join(process.argv[2], 'packages/kit/package.json'))('undici')
const { PORT, HOST = '127.0.0.1', UPSTREAM, PREFIX, REWRITE } = process.env
const pool = new Pool(UPSTREAM)
const authority = new URL(UPSTREAM).host
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'te', 'trailer'])

http
  .createServer((req, res) => {
    if (!req.url.startsWith(PREFIX)) {
      res.statusCode = 404
      return res.end()
    }
    const headers = { ...req.headers, host: authority }
    for (const name of HOP_BY_HOP) delete headers[name]
    const body = req.headers['content-length'] || req.headers['transfer-encoding'] ? req : null
    pool
      .stream(
        { method: req.method, path: REWRITE + req.url.slice(PREFIX.length), headers, body },
        ({ statusCode, headers: answer }) => {
          for (const name of HOP_BY_HOP) delete answer[name]
          res.writeHead(statusCode, answer)
          return res
        },
      )
      .catch(() => {
        if (res.headersSent) return res.destroy()
        res.statusCode = 502
        res.end()
      })
  })
  .listen(Number(PORT), HOST)
