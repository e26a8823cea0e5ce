/**
 * Created / completed / failed jobs per bucket, with a 1 h / 24 h / 7 d
 * switch. The server renders the same series as an SVG chart (and links for
 * the switch), so the page shows the trend without JavaScript; once
 * hydrated, chart.js draws it (loaded on demand), the switch fetches
 * `/api/stats/trend`, and job changes refresh it.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { throttle, useHydrated } from "@/lib/web/runtime.ts";
import { apiJson, onJobsChanged } from "@/lib/browser/api.ts";

/** One bucket of the chart (ISO bucket start). */
export interface TrendPointData {
  bucket: string;
  created: number;
  completed: number;
  failed: number;
}

/** Props of {@link TrendChart}. */
export interface TrendChartProps {
  range: "1h" | "24h" | "7d";
  points: TrendPointData[];
}

/** Query of each range for `/api/stats/trend`. */
export const RANGES = {
  "1h": { hours: 1, bucket: "minute" },
  "24h": { hours: 24, bucket: "hour" },
  "7d": { hours: 168, bucket: "hour" },
} as const;

const SERIES = [
  {
    key: "created",
    label: "Created",
    color: "#6366f1",
    cls: "stroke-indigo-500",
    dot: "bg-indigo-500",
  },
  {
    key: "completed",
    label: "Completed",
    color: "#10b981",
    cls: "stroke-emerald-500",
    dot: "bg-emerald-500",
  },
  { key: "failed", label: "Failed", color: "#ef4444", cls: "stroke-red-500", dot: "bg-red-500" },
] as const;

function label(iso: string, range: string): string {
  const d = new Date(iso);
  const hm = d.toISOString().slice(11, 16);
  return range === "7d" ? `${d.toISOString().slice(5, 10)} ${hm}` : hm;
}

function SvgChart({ points }: { points: TrendPointData[] }) {
  const w = 600;
  const h = 160;
  const max = Math.max(1, ...points.flatMap((p) => [p.created, p.completed, p.failed]));
  const x = (i: number) => (points.length <= 1 ? 0 : (i / (points.length - 1)) * w);
  const y = (v: number) => h - 4 - (v / max) * (h - 12);
  return (
    <svg
      viewBox={`0 0 ${w} ${h}`}
      preserveAspectRatio="none"
      class="h-full w-full"
      role="img"
      aria-label="Trend of created, completed and failed jobs"
    >
      {[0.25, 0.5, 0.75].map((f) => (
        <line
          x1="0"
          x2={w}
          y1={h * f}
          y2={h * f}
          class="stroke-current text-border"
          stroke-width="1"
          vector-effect="non-scaling-stroke"
        />
      ))}
      {SERIES.map((s) => (
        <polyline
          fill="none"
          class={s.cls}
          stroke-width="2"
          vector-effect="non-scaling-stroke"
          points={points.map((p, i) => `${x(i).toFixed(1)},${y(p[s.key]).toFixed(1)}`).join(" ")}
        />
      ))}
    </svg>
  );
}

export default function TrendChart(props: TrendChartProps) {
  const hydrated = useHydrated();
  const [range, setRange] = useState(props.range);
  const [points, setPoints] = useState(props.points);
  const [error, setError] = useState<string | null>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  // deno-lint-ignore no-explicit-any
  const chart = useRef<any>(null);
  const rangeRef = useRef(range);
  rangeRef.current = range;

  const load = async (r: keyof typeof RANGES) => {
    try {
      const q = RANGES[r];
      const data = await apiJson<TrendPointData[] | { points: TrendPointData[] }>(
        `/api/stats/trend?hours=${q.hours}&bucket=${q.bucket}`,
      );
      if (rangeRef.current !== r) return;
      setPoints(Array.isArray(data) ? data : data.points);
      setError(null);
    } catch (err) {
      setError((err as Error).message);
    }
  };

  useEffect(() => {
    const refresh = throttle(() => load(rangeRef.current), 2000);
    return onJobsChanged(refresh);
  }, []);

  useEffect(() => {
    if (!hydrated || !canvas.current) return;
    let cancelled = false;
    (async () => {
      const {
        Chart,
        LineController,
        LineElement,
        PointElement,
        LinearScale,
        CategoryScale,
        Filler,
        Tooltip,
        Legend,
      } = await import("chart.js");
      if (cancelled) return;
      Chart.register(
        LineController,
        LineElement,
        PointElement,
        LinearScale,
        CategoryScale,
        Filler,
        Tooltip,
        Legend,
      );
      const dark = matchMedia("(prefers-color-scheme: dark)").matches;
      const grid = dark ? "rgba(255,255,255,0.08)" : "rgba(0,0,0,0.06)";
      const text = dark ? "#a1a1aa" : "#71717a";
      const labels = points.map((p) => label(p.bucket, range));
      const datasets = SERIES.map((s) => ({
        label: s.label,
        data: points.map((p) => p[s.key]),
        borderColor: s.color,
        backgroundColor: s.color + "22",
        borderWidth: 2,
        pointRadius: 0,
        tension: 0.3,
        fill: s.key === "completed",
      }));
      if (chart.current) {
        chart.current.data.labels = labels;
        chart.current.data.datasets.forEach((
          d: { data: number[] },
          i: number,
        ) => (d.data = datasets[i].data));
        chart.current.update("none");
        return;
      }
      chart.current = new Chart(canvas.current!, {
        type: "line",
        data: { labels, datasets },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
          interaction: { mode: "index", intersect: false },
          plugins: { legend: { display: false }, tooltip: { enabled: true } },
          scales: {
            x: { grid: { color: grid }, ticks: { color: text, maxTicksLimit: 8, maxRotation: 0 } },
            y: { beginAtZero: true, grid: { color: grid }, ticks: { color: text, precision: 0 } },
          },
        },
      });
    })().catch((err) => setError(String(err)));
    return () => {
      cancelled = true;
    };
  }, [hydrated, points, range]);

  useEffect(() => () => chart.current?.destroy(), []);

  const totals = SERIES.map((s) => points.reduce((n, p) => n + p[s.key], 0));
  return (
    <div data-ready={hydrated ? "" : undefined} class="p-4">
      <div class="mb-3 flex flex-wrap items-center justify-between gap-2">
        <ul class="flex flex-wrap gap-3 text-xs text-muted-foreground" aria-label="Legend">
          {SERIES.map((s, i) => (
            <li class="flex items-center gap-1.5">
              <span class={`h-2 w-2 rounded-full ${s.dot}`} aria-hidden="true" />
              {s.label}{" "}
              <span class="font-medium tabular-nums text-foreground">
                {totals[i].toLocaleString("en-US")}
              </span>
            </li>
          ))}
        </ul>
        <div
          role="group"
          aria-label="Time range"
          class="inline-flex rounded-md border border-border p-0.5 text-xs"
        >
          {(Object.keys(RANGES) as (keyof typeof RANGES)[]).map((r) => (
            <a
              href={`/?range=${r}`}
              aria-pressed={r === range ? "true" : "false"}
              onClick={(e) => {
                e.preventDefault();
                setRange(r);
                load(r);
                const u = new URL(location.href);
                u.searchParams.set("range", r);
                history.replaceState(null, "", u);
              }}
              class={`rounded px-2 py-1 font-medium focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-ring ${
                r === range
                  ? "bg-primary text-primary-foreground"
                  : "text-muted-foreground hover:bg-accent"
              }`}
            >
              {r}
            </a>
          ))}
        </div>
      </div>
      <div class="relative h-48">
        {hydrated
          ? (
            <canvas
              ref={canvas}
              aria-label={`Jobs per ${RANGES[range].bucket}, last ${range}`}
              role="img"
            />
          )
          : <SvgChart points={points} />}
      </div>
      {error && (
        <p role="alert" class="mt-2 text-xs text-red-600">Could not refresh the chart: {error}</p>
      )}
    </div>
  );
}
