/** A uPlot chart as a Preact component: time series, with fault windows shaded. */
import { useEffect, useRef } from 'preact/hooks'
import uPlot from 'uplot'

export interface Band {
  label: string
  /** seconds since the epoch, as the x axis */
  from: number
  to: number
}

export interface ChartProps {
  title: string
  /** x values (seconds since the epoch), then one array per series */
  data: [number[], ...(number | null)[][]]
  series: { label: string; stroke: string; unit?: string }[]
  bands?: Band[]
  width?: number
  height?: number
}

/** Shades the fault windows behind the series, through uPlot's draw hook. */
function bandsPlugin(bands: Band[]): uPlot.Plugin {
  return {
    hooks: {
      drawClear: (u: uPlot) => {
        const ctx = u.ctx
        ctx.save()
        ctx.fillStyle = 'rgba(220, 60, 60, 0.15)'
        for (const b of bands) {
          const x0 = u.valToPos(b.from, 'x', true)
          const x1 = u.valToPos(b.to, 'x', true)
          ctx.fillRect(x0, u.bbox.top, Math.max(2, x1 - x0), u.bbox.height)
        }
        ctx.restore()
      },
    },
  }
}

export function Chart({ title, data, series, bands = [], width = 520, height = 180 }: ChartProps) {
  const el = useRef<HTMLDivElement>(null)
  useEffect(() => {
    if (!el.current) return
    const opts: uPlot.Options = {
      title,
      width,
      height,
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.stroke,
          width: 1.5,
          value: (_u: uPlot, v: number | null) => (v == null ? '-' : `${v.toFixed(1)}${s.unit ?? ''}`),
        })),
      ],
      axes: [{}, { size: 50 }],
      plugins: [bandsPlugin(bands)],
    }
    const plot = new uPlot(opts, data as uPlot.AlignedData, el.current)
    return () => plot.destroy()
  }, [title, JSON.stringify(data), JSON.stringify(bands), width, height])
  return <div class="chart" ref={el} />
}
