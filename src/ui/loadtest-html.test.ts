import { describe, expect, it } from 'vitest'
import { sampleLoadReport } from '../../test/helpers/load-report.js'
import { renderHtmlReport } from './loadtest-html.js'

const report = sampleLoadReport({ connections: 1, connectionsOpened: 1, connectionsReused: 9 })

describe('renderHtmlReport', () => {
  it('shows the --chaos faults that failed, escaped, and says the run exited 1', () => {
    const html = renderHtmlReport(
      { ...report, chaosFailures: ['pause down@500ms for 1s: no container of <down> is running'] },
      'msvc test',
    )
    expect(html).toContain('<h2>Chaos faults that failed</h2>')
    expect(html).toContain('pause down@500ms for 1s: no container of &#60;down&#62; is running')
    expect(html).toContain('msvc exited 1')
  })

  it('says what a warm-up sent, and nothing of one when there was none', () => {
    const html = renderHtmlReport({ ...report, warmup: { durationMs: 2000, requests: 400, errors: 3 } }, 't')
    expect(html).toContain('After a warm-up of 2.0 s (400 requests, 3 errors), in none of these figures.')
    expect(renderHtmlReport(report, 't')).not.toContain('warm-up')
  })

  it('has no such section when every fault held', () => {
    expect(renderHtmlReport(report, 'msvc test')).not.toContain('Chaos faults that failed')
  })

  it('says when the figures describe the generator, and marks a breach it may account for', () => {
    const html = renderHtmlReport(
      {
        ...report,
        generator: {
          saturated: true,
          sendLagP99: 7.5,
          cpu: 0.98,
          eventLoop: 0.97,
          loopDelayMax: 3,
          reasons: ['sends fell behind the schedule: send lag p99 7.5 ms (over 1 ms)'],
          hint: "latencies include the generator's own delay: lower --rate",
        },
        thresholds: [{ threshold: 'p99<2ms', stat: 'p99', ok: false, actual: 3, trusted: false }],
        passed: false,
      },
      'msvc test',
    )
    expect(html).toContain('<section class="bad" id="generator-saturated">')
    expect(html).toContain('send lag p99 7.5 ms (over 1 ms)')
    expect(html).toContain('lower --rate')
    expect(html).toContain('? p99&#60;2ms (actual 3.00 ms; not judged: the generator may account for it)')
    expect(html).toContain('thresholds not judged: the generator was saturated')
    expect(renderHtmlReport(report, 'msvc test')).not.toContain('generator-saturated')
  })

  it('lists each flow with its failed checks and stops, escaped', () => {
    const latency = { count: 1, p50: 12, p90: 12, p95: 12, p99: 12, p999: 12, max: 12, mean: 12 }
    const html = renderHtmlReport(
      {
        ...report,
        flows: [
          {
            name: 'checkout',
            iterations: 2,
            completed: 1,
            stopped: 1,
            latency,
            steps: [
              {
                name: 'get',
                endpoint: 'checkout › get',
                checks: [{ check: '$.status = "<ok>"', passed: 1, failed: 1 }],
                stops: { 'capture id: the answer has no $.id': 1 },
              },
            ],
          },
        ],
      },
      'msvc test',
    )
    expect(html).toContain('<h2>Flow checkout</h2><p>2 iterations, 1 completed, 1 stopped;')
    expect(html).toContain(
      '<li class="bad">get: check $.status = &#34;&#60;ok&#62;&#34;: 1 passed, 1 failed</li>',
    )
    expect(html).toContain('<li class="bad">get: 1 stopped: capture id: the answer has no $.id</li>')
  })
})
