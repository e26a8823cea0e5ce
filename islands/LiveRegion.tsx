/**
 * Keeps a server-rendered page live. In "swap" mode it re-renders the page
 * on the server when jobs change (`/api/events`, throttled), swaps every
 * `[data-live]` region in place and hands the fresh render to islands that
 * follow it (`useLiveProps`); in "reload" mode (a job's page) it watches
 * one job through `/api/jobs/:id` and reloads the page when it changed,
 * keeping the scroll and which JSON nodes were open.
 * `pollMs` adds a periodic refresh (heartbeats change without job events).
 * Relative times ("3 min ago") are rewritten every {@link TICK_MS}.
 * Renders a small "Live" indicator.
 */
import { useEffect, useState } from "preact/hooks";
import {
  announcePage,
  fetchPage,
  pageIsLeaving,
  refreshTimes,
  restoreView,
  saveView,
  swapLiveRegions,
  throttle,
  useHydrated,
} from "@/lib/web/runtime.ts";
import { apiJson, onJobsChanged, useLive } from "@/lib/browser/api.ts";
import { relativeTime } from "@/components/format.ts";

/** How often relative times are rewritten. */
export const TICK_MS = 15_000;

/** Props of {@link LiveRegion}. */
export interface LiveRegionProps {
  mode?: "swap" | "reload";
  /** Reload mode: the job to watch and the `updated_at` the page shows. */
  jobId?: string;
  updatedAt?: string;
  /** Also refresh every this many ms (0: only on events). */
  pollMs?: number;
  /** Refresh when jobs change (default); false: only every `pollMs` (pages whose reads are not cheap). */
  onJobs?: boolean;
}

export default function LiveRegion(
  { mode = "swap", jobId, updatedAt, pollMs = 0, onJobs = true }: LiveRegionProps,
) {
  const hydrated = useHydrated();
  const live = useLive();
  const [updates, setUpdates] = useState(0);
  useEffect(() => {
    const tick = setInterval(() => refreshTimes((d) => relativeTime(d)), TICK_MS);
    return () => clearInterval(tick);
  }, []);
  useEffect(() => {
    const viewKey = `jobq.view:${location.pathname}`;
    if (mode === "reload") restoreView(viewKey);
    const refresh = throttle(async () => {
      if (pageIsLeaving()) return;
      try {
        if (mode === "reload" && jobId) {
          const job = await apiJson<{ updated_at: string }>(`/api/jobs/${jobId}`);
          if (updatedAt && new Date(job.updated_at).getTime() !== new Date(updatedAt).getTime()) {
            saveView(viewKey);
            location.reload();
          }
        } else {
          const doc = await fetchPage();
          const swapped = swapLiveRegions(doc);
          announcePage(doc);
          if (swapped > 0) setUpdates((n) => n + 1);
        }
      } catch (err) {
        console.warn("live refresh failed", err);
      }
    }, 400);
    const off = onJobs ? onJobsChanged(refresh) : () => {};
    const timer = pollMs > 0 ? setInterval(refresh, pollMs) : undefined;
    return () => {
      off();
      if (timer) clearInterval(timer);
    };
  }, [mode, jobId, updatedAt, pollMs, onJobs]);
  return (
    <span
      data-ready={hydrated ? "" : undefined}
      data-updates={updates}
      class="inline-flex items-center gap-1.5 rounded-full border border-border px-2 py-0.5 text-xs text-muted-foreground"
      title={live ? "Updates arrive as jobs change" : "Not connected; showing the page as loaded"}
    >
      <span
        aria-hidden="true"
        class={`h-1.5 w-1.5 rounded-full ${live ? "bg-emerald-500 animate-pulse" : "bg-zinc-400"}`}
      />
      {live ? "Live" : hydrated ? "Connecting…" : "Static"}
    </span>
  );
}
