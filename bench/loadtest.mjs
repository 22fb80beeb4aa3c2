// Load generator throughput and honesty, side by side in one run (not a test). Needs a build
// (npm run build), Debian's wrk (apt-get install -y wrk), wrk2 for the open model (built by
// ../shared/tools/build-wrk2.sh, which this runs; WRK2=<path> to use another) and, for a target
// faster than the generators, nginx (apt-get install -y nginx-light); without nginx a Node server
// stands in and every generator hits its limit instead (TOOLCHAIN.md "Measuring load generators
// fairly"). Target pinned to core 1, generators to core 0 (taskset). On a shared machine, read
// the ratios.
//   [ROUNDS=3] [PARTS=throughput,memory] node bench/loadtest.mjs [seconds per run, default 5] [memory run seconds, default 30]
// PARTS picks what runs (both by default): throughput (closed model, open model against wrk2,
// --workers) and memory (the long run; `PARTS=memory node bench/loadtest.mjs 5 600` for the
// 10-minute target alone).
import { execa } from 'execa'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { SMOKE, alternate, assertFreshBuild, fail, median, rounds, smokeBanner } from './lib.mjs'

assertFreshBuild()
smokeBanner('loadtest')
const SECONDS = SMOKE ? 1 : Number(process.argv[2] ?? 5)
const ROUNDS = rounds()
const MEMORY_SECONDS = SMOKE ? 2 : Number(process.argv[3] ?? 30)
const PARTS = (process.env.PARTS || 'throughput,memory').split(',').map((p) => p.trim())
for (const p of PARTS)
  if (!['throughput', 'memory'].includes(p))
    fail(`PARTS=${process.env.PARTS}: expected throughput and/or memory`)
const CONNECTIONS = 50
const MSVC = fileURLToPath(new URL('../bin/msvc.js', import.meta.url))
const AUTOCANNON = fileURLToPath(new URL('../node_modules/autocannon/autocannon.js', import.meta.url))
// the least a Node.js client does for the same work: what the runtime itself allows on this machine
const BARE = fileURLToPath(new URL('./bare-http-client.mjs', import.meta.url))
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const has = async (cmd) => (await execa('sh', ['-c', `command -v ${cmd}`], { reject: false })).exitCode === 0
const TASKSET = await has('taskset')
/** Runs cmd on one core (returns execa's subprocess, not a promise of it). */
const pin = (core, cmd, args, opts = {}) =>
  TASKSET ? execa('taskset', ['-c', String(core), cmd, ...args], opts) : execa(cmd, args, opts)

/**
 * wrk2's binary: $WRK2, else what ../shared/tools/build-wrk2.sh builds (once; later runs only
 * print the path). Missing in full mode ends the bench; in smoke mode its runs are skipped, said
 * in one line (.ci/run builds it, so CI runs them).
 */
const findWrk2 = async () => {
  if (process.env.WRK2) return process.env.WRK2
  const script = fileURLToPath(new URL('../../shared/tools/build-wrk2.sh', import.meta.url))
  const built = await execa('bash', [script], { reject: false })
  if (built.exitCode === 0 && built.stdout.trim()) return built.stdout.trim().split('\n').at(-1)
  const why = `wrk2 could not be built with ${script}: ${(built.stderr || built.message || '').trim().split('\n').at(-1)}`
  if (!SMOKE) fail(`${why} (or set WRK2=<path of wrk2>)`)
  console.log(`[smoke] ${why}; its runs are skipped`)
  return undefined
}
const WRK2 = await findWrk2()

const port = await new Promise((res) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port
    s.close(() => res(p))
  })
})
const url = `http://127.0.0.1:${port}/`
const dir = await mkdtemp(join(tmpdir(), 'msvc-loadbench-'))

// the target
let target
let targetName
const nginx = (await has('nginx')) ? 'nginx' : (await has('/usr/sbin/nginx')) ? '/usr/sbin/nginx' : undefined
if (nginx) {
  await writeFile(
    join(dir, 'nginx.conf'),
    `worker_processes 1; daemon off; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 10000000; keepalive_timeout 60s;
  server { listen 127.0.0.1:${port}; location / { default_type application/json; return 200 '{"ok":true}'; } } }
`,
  )
  target = pin(1, nginx, ['-c', join(dir, 'nginx.conf'), '-p', dir], { reject: false })
  targetName = 'nginx return 200 (keepalive_requests raised), 1 worker'
} else {
  const code = `require('http').createServer((q,s)=>{s.setHeader('content-type','application/json');s.end('{"ok":true}')}).listen(${port},'127.0.0.1')`
  target = pin(1, process.execPath, ['-e', code], { reject: false })
  targetName = 'Node http server (nginx missing: apt-get install -y nginx-light for a faster target)'
}
for (let i = 0; i < 50; i++) {
  if ((await fetch(url).catch(() => undefined))?.ok) break
  await sleep(100)
}

/** `msvc loadtest <url> ...args --json`, on core 0 or left to the scheduler: its report. */
const msvcReport = async (args, pinned) => {
  const argv = [MSVC, 'loadtest', url, ...args, '--json']
  const out = await (pinned ? pin(0, process.execPath, argv) : execa(process.execPath, argv))
  return JSON.parse(out.stdout)
}

try {
  if (PARTS.includes('throughput')) {
    // closed model, same connections, same duration; the three alternate over ROUNDS rounds so that
    // a change in the machine's load hits each of them alike; the median round is reported
    const wrkMissing = !(await has('wrk'))
    const closedRuns = {
      msvc: async () =>
        (await msvcReport(['-c', String(CONNECTIONS), '-d', `${SECONDS}s`], true)).achievedRate,
      autocannon: async () => {
        const ac = await pin(0, process.execPath, [
          AUTOCANNON,
          '-c',
          String(CONNECTIONS),
          '-d',
          String(SECONDS),
          '-j',
          url,
        ])
        const acr = JSON.parse(ac.stdout)
        return acr.requests.total / (acr.duration || SECONDS)
      },
      wrk: async () => {
        const wrk = await pin(0, 'wrk', ['-t1', `-c${CONNECTIONS}`, `-d${SECONDS}s`, url])
        return Number(/Requests\/sec:\s+([\d.]+)/.exec(wrk.stdout)?.[1])
      },
      bare: async () =>
        JSON.parse(
          (
            await pin(0, process.execPath, [
              BARE,
              'closed',
              String(port),
              String(CONNECTIONS),
              String(SECONDS),
            ])
          ).stdout,
        ).rps,
    }
    const names = wrkMissing ? ['msvc', 'autocannon', 'bare'] : ['msvc', 'autocannon', 'bare', 'wrk']
    const runs = { wrk: [], ...(await alternate(ROUNDS, names, (name) => closedRuns[name]())) }
    const closed = [
      ['msvc loadtest -c', median(runs.msvc), runs.msvc],
      ['autocannon 9', median(runs.autocannon), runs.autocannon],
      ['bare Node loop', median(runs.bare), runs.bare],
      [
        wrkMissing ? 'wrk -t1 (missing: apt-get install -y wrk)' : 'wrk -t1',
        median(runs.wrk) ?? NaN,
        runs.wrk,
      ],
    ]
    const base = closed[0][1]
    console.log(
      `target: ${targetName}; generators on core 0, target on core 1; ${SECONDS} s per run, ${ROUNDS} rounds`,
    )
    console.log(
      `\nclosed model, ${CONNECTIONS} connections (median of ${ROUNDS} alternating rounds; all rounds in brackets):`,
    )
    for (const [name, rps, all] of closed)
      console.log(
        `  ${name.padEnd(22)} ${Math.round(rps).toString().padStart(8)} req/s   msvc/this ${(base / rps).toFixed(2)}x   [${all.map((x) => Math.round(x)).join(', ')}]`,
      )
    // the same ratios round by round (each round's runs are seconds apart)
    const ratio = (other) => runs.msvc.map((m, i) => (m / other[i]).toFixed(2)).join(', ')
    console.log(
      `  per round: msvc/autocannon ${ratio(runs.autocannon)}; msvc/bare ${ratio(runs.bare)}${wrkMissing ? '' : `; msvc/wrk ${ratio(runs.wrk)}`}`,
    )
    if (!wrkMissing)
      console.log(
        `  the bare Node loop (bench/bare-http-client.mjs: node:net, prebuilt bytes, no parsing) / wrk: ${(median(runs.bare) / median(runs.wrk)).toFixed(2)}x, the most a Node client reached here`,
      )

    // open model against wrk2 (issue #19): rates at shares of msvc's own closed-model maximum just
    // measured, and fixed ones; the same connections (wrk2 -c, msvc --max-connections), both on
    // core 0, alternating over the rounds; each figure is the median of its rounds
    const closedMax = base
    const OPEN_SECONDS = SMOKE ? 1 : SECONDS * 2
    // wrk2 records nothing of a run's first 10 s + 5 ms per connection (its calibration); msvc
    // (--warmup) and the bare loop are given the same unrecorded start, and all three record the
    // same span: wrk2's whole seconds less its calibration. Smoke runs are too short to calibrate.
    const WARM_MS = SMOKE ? 0 : 10_000 + 5 * CONNECTIONS
    const WRK2_SECONDS = SMOKE ? OPEN_SECONDS : OPEN_SECONDS + Math.ceil(WARM_MS / 1000)
    const RECORD_MS = WRK2_SECONDS * 1000 - WARM_MS
    const SHARES = SMOKE ? [0.1] : [0.1, 0.25, 0.5, 0.8]
    const FIXED = SMOKE ? [] : [10_000]
    const openRates = [
      ...SHARES.map((share) => ({ share, rate: Math.max(100, Math.round((closedMax * share) / 100) * 100) })),
      ...FIXED.map((rate) => ({ rate })),
    ]
    /** wrk2's latency percentile `q` (e.g. '99.000') in ms, from its --latency table. */
    const wrk2Percentile = (text, q) => {
      const m = new RegExp(`^\\s*${q.replace('.', '\\.')}%\\s+([\\d.]+)(us|ms|s|m|h)\\b`, 'm').exec(text)
      if (!m) throw new Error(`no ${q}% line in wrk2's output:\n${text}`)
      return Number(m[1]) * { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2]]
    }
    const openRuns = {
      wrk2: async (rate) => {
        const out = await pin(0, WRK2, [
          '-t1',
          `-c${CONNECTIONS}`,
          `-d${WRK2_SECONDS}s`,
          `-R${rate}`,
          '--latency',
          url,
        ])
        return { p99: wrk2Percentile(out.stdout, '99.000') }
      },
      msvc: async (rate) => {
        const r = await msvcReport(
          [
            '--rate',
            String(rate),
            '-d',
            `${RECORD_MS}ms`,
            ...(WARM_MS ? ['--warmup', `${WARM_MS}ms`] : []),
            '--max-connections',
            String(CONNECTIONS),
          ],
          true,
        )
        return {
          p99: r.latency.p99,
          lag: r.sendLag.p99,
          opened: r.connectionsOpened,
          reused: r.connectionsReused,
          requests: r.requests,
          errors: r.errors,
        }
      },
    }
    openRuns.bare = async (rate) => {
      const out = await pin(0, process.execPath, [
        BARE,
        'open',
        String(port),
        String(CONNECTIONS),
        String(RECORD_MS / 1000),
        String(rate),
        String(WARM_MS),
      ])
      const r = JSON.parse(out.stdout)
      return { p99: r.p99, lag: r.lagP99 }
    }
    const openNames = WRK2 ? ['wrk2', 'msvc', 'bare'] : ['msvc', 'bare']
    console.log(
      `\nopen model against wrk2 -t1 -c${CONNECTIONS} (msvc --max-connections ${CONNECTIONS}, the bare Node loop with ${CONNECTIONS}), all on core 0, ` +
        `${(RECORD_MS / 1000).toFixed(2)} s recorded per run${WARM_MS ? ` after ${WARM_MS / 1000} s unrecorded (wrk2's calibration; msvc --warmup)` : ''}; ` +
        `rates as shares of msvc's closed-model maximum above (${Math.round(closedMax)} req/s); median of ${ROUNDS} alternating rounds:`,
    )
    console.log(
      '  rate (share)         wrk2 p99   msvc p99  msvc/wrk2  send-lag p99  conns opened/reused   targets',
    )
    const verdicts = []
    for (const { share, rate } of openRates) {
      const res = await alternate(ROUNDS, openNames, (name) => openRuns[name](rate))
      const mid = (name, key) => median(res[name].map((r) => r[key]))
      // (a run too short for wrk2 to record after its calibration reports 0: nothing to compare)
      const wrk2P99 = WRK2 && mid('wrk2', 'p99') > 0 ? mid('wrk2', 'p99') : NaN
      const [p99, lag, opened, reused] = ['p99', 'lag', 'opened', 'reused'].map((k) => mid('msvc', k))
      const errors = mid('msvc', 'errors')
      // the issue's targets: up to 50 % of the closed maximum, send-lag p99 < 1 ms and p99 within
      // 1.5x wrk2's; at 80 %, send-lag p99 < 5 ms
      const checks = []
      if (share !== undefined && share <= 0.5) {
        checks.push([`lag<1ms`, lag < 1])
        if (wrk2P99 > 0) checks.push([`p99<=1.5x`, p99 <= 1.5 * wrk2P99])
      } else if (share !== undefined) checks.push([`lag<5ms`, lag < 5])
      for (const [name, ok] of checks) verdicts.push({ rate, share, name, ok })
      const label = `${rate}/s${share !== undefined ? ` (${Math.round(share * 100)} %)` : ''}`
      console.log(
        `  ${label.padEnd(18)} ${(wrk2P99 > 0 ? `${wrk2P99.toFixed(2)} ms` : WRK2 ? 'no samples' : 'skipped').padStart(10)} ${`${p99.toFixed(2)} ms`.padStart(10)} ` +
          `${(wrk2P99 > 0 ? `${(p99 / wrk2P99).toFixed(2)}x` : '-').padStart(10)} ${`${lag.toFixed(2)} ms`.padStart(13)} ` +
          `${`${opened}/${reused}`.padStart(20)}   ${checks.map(([n, ok]) => `${n} ${ok ? 'met' : 'NOT met'}`).join(', ') || '-'}` +
          `${errors ? `  (${errors} errors)` : ''}`,
      )
      console.log(
        `    rounds: wrk2 p99 [${WRK2 ? res.wrk2.map((r) => r.p99.toFixed(2)).join(', ') : ''}], msvc p99 [${res.msvc.map((r) => r.p99.toFixed(2)).join(', ')}], send-lag p99 [${res.msvc.map((r) => r.lag.toFixed(2)).join(', ')}]`,
      )
      console.log(
        `    the bare Node loop, same schedule: p99 ${mid('bare', 'p99').toFixed(2)} ms, send-lag p99 ${mid('bare', 'lag').toFixed(2)} ms [${res.bare.map((r) => `${r.p99.toFixed(2)}/${r.lag.toFixed(2)}`).join(', ')}]`,
      )
    }
    const missed = verdicts.filter((v) => !v.ok)
    console.log(
      `  open-model targets: ${verdicts.length - missed.length} of ${verdicts.length} met` +
        (missed.length ? `; NOT met: ${missed.map((v) => `${v.name} at ${v.rate}/s`).join(', ')}` : ''),
    )

    // the open model at 20,000 req/s left to the scheduler (nginx stays on core 1): pinned, V8's
    // background threads (JIT compiles in the first seconds, GC) share core 0 with the send loop
    const RATE = 20_000
    {
      const open = await msvcReport(['--rate', String(RATE), '-d', `${OPEN_SECONDS}s`], false)
      console.log(
        `\nopen model at ${RATE} req/s for ${OPEN_SECONDS} s, not pinned, default connections:\n` +
          `  achieved ${Math.round(open.achievedRate)} req/s, answered ${open.requests}, errors ${open.errors}, ` +
          `send lag p50 ${open.sendLag.p50} ms, p99 ${open.sendLag.p99} ms, max ${open.sendLag.max} ms, ` +
          `${open.sendLag.late} sends > ${open.sendLag.lateAfterMs} ms late; latency p99 ${open.latency.p99} ms, ` +
          `connections opened ${open.connectionsOpened}, reused ${open.connectionsReused}, generator CPU ${open.generator.cpu} cores`,
      )
    }

    // --workers: 1 against 2 threads, closed model at the same connections, and the open model at
    // RATE; not pinned (the workers need cores of their own; nginx stays on core 1). On these 2-core
    // machines the bar is that 2 workers never do worse than 1 (issue #19).
    const workerRuns = Object.fromEntries(
      [1, 2].map((w) => [
        w,
        async () => {
          const workers = ['-d', `${SECONDS}s`, '--workers', String(w)]
          const closedRun = await msvcReport(['-c', String(CONNECTIONS), ...workers], false)
          const open = await msvcReport(['--rate', String(RATE), ...workers], false)
          return { rps: closedRun.achievedRate, lag: open.sendLag.p99, p99: open.latency.p99 }
        },
      ]),
    )
    const byWorkers = await alternate(ROUNDS, ['1', '2'], (w) => workerRuns[w]())
    const wm = (w, key) => median(byWorkers[w].map((r) => r[key]))
    console.log(`
--workers (not pinned; median of ${ROUNDS} alternating rounds):`)
    for (const w of ['1', '2'])
      console.log(
        `  ${w} worker${w === '1' ? ' ' : 's'}: closed ${Math.round(wm(w, 'rps'))} req/s; open at ${RATE}/s send lag p99 ${wm(w, 'lag')} ms, latency p99 ${wm(w, 'p99')} ms`,
      )
    const scaling = wm('2', 'rps') / wm('1', 'rps')
    console.log(
      `  closed-model scaling 2/1: ${scaling.toFixed(2)}x; bar on 2 cores (never worse than 1 worker): ${scaling >= 1 ? 'met' : 'NOT met'}`,
    )
  }
  if (PARTS.includes('memory')) {
    // memory over a longer run at 10,000 req/s, sampled from outside each second (/proc VmRSS) and
    // at the end (VmHWM, the peak): msvc's open model, and autocannon capped at the same rate (-R,
    // its closest mode) with as many connections as msvc may open; they alternate over the rounds
    const MEMORY_RATE = 10_000
    const rss = (pid) => {
      try {
        const status = readFileSync(`/proc/${pid}/status`, 'utf8')
        const kib = (key) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1])
        return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 }
      } catch {
        return undefined // it has exited
      }
    }
    const memoryOf = async (args) => {
      const child = pin(0, process.execPath, args)
      const samples = []
      const timer = setInterval(() => {
        const m = rss(child.pid)
        if (m) samples.push(m)
      }, 1000)
      await child
      clearInterval(timer)
      if (!samples.length) throw new Error(`no memory samples of ${args.join(' ')}`)
      // growth after warm-up: from the sample a fifth of the way in (JIT, pools and histograms
      // are in place by then) to the last one taken while the load ran
      const warm = samples[Math.floor(samples.length / 5)].rss
      return {
        end: samples.at(-1).rss,
        peak: Math.max(...samples.map((m) => m.peak)),
        growth: samples.at(-1).rss - warm,
        samples: samples.length,
      }
    }
    const memoryRuns = {
      msvc: () =>
        memoryOf([
          MSVC,
          'loadtest',
          url,
          '--rate',
          String(MEMORY_RATE),
          '-d',
          `${MEMORY_SECONDS}s`,
          '--json',
        ]),
      autocannon: () =>
        memoryOf([
          AUTOCANNON,
          '-c',
          '1000',
          '-R',
          String(MEMORY_RATE),
          '-d',
          String(MEMORY_SECONDS),
          '-j',
          url,
        ]),
    }
    const memory = await alternate(ROUNDS, Object.keys(memoryRuns), (name) => memoryRuns[name]())
    console.log(
      `\nmemory at ${MEMORY_RATE} req/s for ${MEMORY_SECONDS} s against ${targetName}, RSS MiB (median of ${ROUNDS} alternating rounds):`,
    )
    for (const [name, rs] of Object.entries(memory))
      console.log(
        `  ${name.padEnd(12)} peak ${median(rs.map((r) => r.peak)).toFixed(0)}, at the end ${median(rs.map((r) => r.end)).toFixed(0)}, growth after warm-up ${median(rs.map((r) => r.growth)).toFixed(1)}`,
      )
    // the target is in MB (10^6 bytes); the samples are MiB
    const growth = median(memory.msvc.map((r) => r.growth)) * 1.048576
    console.log(
      `  msvc RSS growth after warm-up: ${growth.toFixed(1)} MB over ${MEMORY_SECONDS} s; target under 10 MB over 600 s (node bench/loadtest.mjs 5 600): ${MEMORY_SECONDS >= 600 ? (growth < 10 ? 'met' : 'NOT met') : 'run 600 s to judge'}`,
    )
    console.log(
      `  msvc/autocannon peak: ${(median(memory.msvc.map((r) => r.peak)) / median(memory.autocannon.map((r) => r.peak))).toFixed(2)}`,
    )
  }
} finally {
  target.kill('SIGTERM')
  await target
  await rm(dir, { recursive: true, force: true })
}
