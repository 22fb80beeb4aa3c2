#!/usr/bin/env node
// The generated gateway in front of the generated order service, side by side in one run with the
// same requests sent straight to order and through nginx. Targets (issue #16):
//  - overhead: through the gateway, with JWT verification and a rate limit on every request, at
//    least 60 % of the req/s of the same GET /orders/:id sent straight to the service;
//  - against nginx (Debian's, 1 worker, a plain reverse proxy with keep-alive to the same
//    upstream): at least 50 % of its req/s, the gateway being 1 process;
//  - latency: the p50 the gateway adds at a moderate rate, open model (msvc loadtest --rate),
//    under 1 ms.
// Placement on these 2-core machines: order alone on core 1; wrk and the proxy under test (the
// gateway or nginx) share core 0, so both proxies get the same CPU. Each side gets a warm-up run,
// then ROUNDS rounds in alternating order; medians are compared, and each round's ratio too.
// The rate limit is set so high that it never refuses: its bucket is still taken on every request.
// A fourth side, for reference and with no target: bench/bare-proxy.mjs, the least a Node proxy
// does (node's server, the same undici, no checks), on core 0 too. It shows how much of the gap
// to nginx is Node's HTTP stack and how much the gateway's own work.
// Balance over replicas and failover are correctness bounds, checked on Docker by
// test/e2e/gateway.test.ts (10,000 requests, each replica within 15 %; a replica killed at
// 200 req/s, under 1 % errors).
// Needs wrk and nginx (apt-get install wrk nginx).
// Usage: npm run build && node bench/gateway.mjs   (env: ROUNDS, SECONDS, CONNECTIONS, RATE)
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { alternate, assertFreshBuild, fail, median, rounds, setting, smokeBanner } from './lib.mjs'

assertFreshBuild()
smokeBanner('gateway')
const ROUNDS = rounds()
const SECONDS = setting('SECONDS', 5, 1)
const CONNECTIONS = setting('CONNECTIONS', 50, 10)
const RATE = setting('RATE', 1000, 200)
const CREATE = fileURLToPath(new URL('../bin/create-service.js', import.meta.url))
const MSVC = fileURLToPath(new URL('../bin/msvc.js', import.meta.url))
const env = { ...process.env, CI: '1', NO_COLOR: '1' }
const has = (cmd) => {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}
for (const tool of ['wrk', 'nginx'])
  if (!has(tool)) fail(`bench/gateway.mjs needs ${tool}: apt-get install -y ${tool}`)
const pin = (core, argv) => (has('taskset') ? ['taskset', '-c', String(core), ...argv] : argv)

const parent = mkdtempSync(join(tmpdir(), 'msvc-bench-gw-'))
const ws = join(parent, 'shop')
const children = []
const start = (core, argv, opts) => {
  const [cmd, ...args] = pin(core, argv)
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'], ...opts })
  children.push(child)
  return child
}
const waitFor = async (url, headers = {}) => {
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(url, { headers })).ok) return
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`${url} did not answer`)
}
/** user + system CPU of a process in milliseconds, from /proc (clock ticks of 10 ms). */
const cpuMs = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10
}
const hasProc = existsSync('/proc/self/stat')

try {
  const sh = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, env, stdio: 'ignore' })
  sh('node', [CREATE, 'shop', '--yes', '--service', 'order', '--http', '--store', 'memory'], parent)
  sh('node', [MSVC, 'add', 'gateway', '--gateway'], ws)
  const yamlFile = join(ws, 'msvc.yaml')
  const yaml = readFileSync(yamlFile, 'utf8').replace(
    /rateLimit: .*/,
    'rateLimit: 100000000/s burst 100000000',
  )
  writeFileSync(yamlFile, yaml)
  sh('node', [MSVC, 'sync'], ws)
  sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], ws)
  sh('npm', ['run', 'build'], ws)
  const token = execFileSync('node', [MSVC, 'token', '--sub', 'bench', '--ttl', '1h'], {
    cwd: ws,
    env,
    encoding: 'utf8',
  }).trim()
  const secret = /^MSVC_JWT_SECRET=(.*)$/m.exec(readFileSync(join(ws, '.env'), 'utf8'))[1]

  const ports = { order: 3201, gateway: 3202, nginx: 3203, bare: 3204 }
  const order = start(1, ['node', join(ws, 'services/order/dist/main.js')], {
    env: { ...env, PORT: String(ports.order), HOST: '127.0.0.1', LOG_LEVEL: 'info' },
  })
  await waitFor(`http://127.0.0.1:${ports.order}/health/ready`)
  const created = await (
    await fetch(`http://127.0.0.1:${ports.order}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'bench order', description: 'one order read over and over' }),
    })
  ).json()
  const gateway = start(0, ['node', join(ws, 'services/gateway/dist/main.js')], {
    env: {
      ...env,
      PORT: String(ports.gateway),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      JWT_SECRET: secret,
      ORDER_URL: `http://127.0.0.1:${ports.order}`,
    },
  })
  const ngx = join(parent, 'nginx')
  mkdirSync(join(ngx, 'logs'), { recursive: true })
  writeFileSync(
    join(ngx, 'nginx.conf'),
    `worker_processes 1;
daemon off;
pid ${ngx}/nginx.pid;
error_log ${ngx}/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${ngx}/body;
  proxy_temp_path ${ngx}/proxy;
  fastcgi_temp_path ${ngx}/fastcgi;
  uwsgi_temp_path ${ngx}/uwsgi;
  scgi_temp_path ${ngx}/scgi;
  upstream order { server 127.0.0.1:${ports.order}; keepalive 64; }
  server {
    listen 127.0.0.1:${ports.nginx};
    keepalive_requests 10000000;
    location /api/orders/ {
      proxy_pass http://order/orders/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`,
  )
  const nginx = start(0, ['nginx', '-p', ngx, '-c', join(ngx, 'nginx.conf')], {})
  const bare = start(0, ['node', fileURLToPath(new URL('bare-proxy.mjs', import.meta.url)), ws], {
    env: {
      ...env,
      PORT: String(ports.bare),
      UPSTREAM: `http://127.0.0.1:${ports.order}`,
      PREFIX: '/api/orders',
      REWRITE: '/orders',
    },
  })
  const auth = { authorization: `Bearer ${token}` }
  const urls = {
    direct: `http://127.0.0.1:${ports.order}/orders/${created.id}`,
    gateway: `http://127.0.0.1:${ports.gateway}/api/orders/${created.id}`,
    nginx: `http://127.0.0.1:${ports.nginx}/api/orders/${created.id}`,
    bare: `http://127.0.0.1:${ports.bare}/api/orders/${created.id}`,
  }
  const proxyPid = { direct: order.pid, gateway: gateway.pid, nginx: undefined, bare: bare.pid }
  for (const url of Object.values(urls)) await waitFor(url, auth)
  const nginxWorker = () => {
    // the worker, not the master: the one process that proxies
    const out = execFileSync('pgrep', ['-P', String(nginx.pid)], { encoding: 'utf8' })
      .trim()
      .split('\n')
    return Number(out[0])
  }
  proxyPid.nginx = has('pgrep') ? nginxWorker() : undefined
  const bodies = await Promise.all(
    Object.values(urls).map(async (url) => (await fetch(url, { headers: auth })).text()),
  )
  const same = bodies.every((b) => b === bodies[0])

  /** wrk against one side: its req/s, and the CPU per request of the process doing the proxying. */
  const wrk = (name) => {
    const pid = proxyPid[name]
    const before = hasProc && pid ? cpuMs(pid) : 0
    const [cmd, ...args] = pin(0, [
      'wrk',
      '-t1',
      `-c${CONNECTIONS}`,
      `-d${SECONDS}s`,
      '-H',
      `Authorization: Bearer ${token}`,
      urls[name],
    ])
    const out = execFileSync(cmd, args, { encoding: 'utf8' })
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1])
    const requests = Number(/(\d+) requests in/.exec(out)?.[1])
    const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0)
    if (!rps || non2xx) throw new Error(`wrk against ${urls[name]}: ${out}`)
    const used = hasProc && pid ? cpuMs(pid) - before : NaN
    return { rps, cpuUs: (used * 1000) / requests }
  }
  for (const name of Object.keys(urls)) wrk(name) // warm-up (JIT, pools), not counted
  const runs = await alternate(ROUNDS, Object.keys(urls), (name) => wrk(name))
  const rps = (name) => median(runs[name].map((r) => r.rps))
  const cpu = (name) => median(runs[name].map((r) => r.cpuUs))

  /** msvc loadtest's open model at RATE: the p50 and p99 latency, in ms. */
  const latency = (name) => {
    const out = execFileSync(
      'node',
      [
        MSVC,
        'loadtest',
        urls[name],
        '--rate',
        String(RATE),
        '-d',
        `${SECONDS}s`,
        '-H',
        `authorization: Bearer ${token}`,
        '--json',
      ],
      { cwd: ws, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    )
    const report = JSON.parse(out)
    return { p50: report.latency.p50, p99: report.latency.p99 }
  }
  const lat = await alternate(ROUNDS, ['direct', 'gateway'], (name) => latency(name))

  console.log(
    `gateway benchmark: wrk -t1 -c${CONNECTIONS} -d${SECONDS}s x ${ROUNDS}, node ${process.version}, ${has('taskset') ? 'order on core 1; wrk and the proxy on core 0' : 'unpinned'}`,
  )
  console.log(`same JSON body from all four: ${same}`)
  const label = {
    direct: 'straight to order',
    gateway: 'through the gateway (JWT + rate limit)',
    nginx: 'through nginx (1 worker)',
    bare: 'through a bare Node proxy (reference)',
  }
  for (const name of Object.keys(runs)) {
    const figures = runs[name].map((r) => r.rps.toFixed(0)).join(', ')
    const cpuText =
      hasProc && proxyPid[name]
        ? `; CPU of ${name === 'direct' ? 'order' : name} ${cpu(name).toFixed(1)} us/request`
        : ''
    console.log(`${label[name].padEnd(40)} median ${rps(name).toFixed(0)} req/s  (${figures})${cpuText}`)
  }
  const overhead = rps('gateway') / rps('direct')
  const vsNginx = rps('gateway') / rps('nginx')
  const perRound = (a, b) => runs[a].map((r, i) => r.rps / runs[b][i].rps)
  console.log(
    `gateway / direct: ${(overhead * 100).toFixed(1)} % (rounds ${perRound('gateway', 'direct')
      .map((x) => (x * 100).toFixed(0))
      .join(', ')} %); target >= 60 %: ${overhead >= 0.6 ? 'met' : 'NOT met'}`,
  )
  console.log(
    `gateway / nginx:  ${(vsNginx * 100).toFixed(1)} % (rounds ${perRound('gateway', 'nginx')
      .map((x) => (x * 100).toFixed(0))
      .join(', ')} %); target >= 50 %: ${vsNginx >= 0.5 ? 'met' : 'NOT met'}`,
  )
  console.log(
    `bare Node proxy / nginx: ${((rps('bare') / rps('nginx')) * 100).toFixed(1)} %; gateway / bare Node proxy: ${((rps('gateway') / rps('bare')) * 100).toFixed(1)} % (reference figures, no target)`,
  )
  const p50 = (name) => median(lat[name].map((l) => l.p50))
  const p99 = (name) => median(lat[name].map((l) => l.p99))
  const added = p50('gateway') - p50('direct')
  console.log(
    `open model at ${RATE} req/s for ${SECONDS}s x ${ROUNDS}: p50 direct ${p50('direct').toFixed(2)} ms, through the gateway ${p50('gateway').toFixed(2)} ms (p99 ${p99('direct').toFixed(2)} / ${p99('gateway').toFixed(2)} ms)`,
  )
  console.log(
    `p50 added by the gateway: ${added.toFixed(2)} ms; target < 1 ms: ${added < 1 ? 'met' : 'NOT met'}`,
  )
} finally {
  for (const c of children) c.kill('SIGTERM')
  await new Promise((r) => setTimeout(r, 300))
  rmSync(parent, { recursive: true, force: true })
}
