/** A job's lifecycle as a vertical timeline: every event, its worker, message and durations. */
import type { JobEvent } from "@/lib/queue/types.ts";
import { duration, exactTime } from "./format.ts";
import { RelativeTime } from "./ui.tsx";
import { ErrorText } from "./ErrorText.tsx";

const KIND: Record<string, { label: string; dot: string }> = {
  created: { label: "Created", dot: "bg-indigo-500" },
  claimed: { label: "Claimed", dot: "bg-sky-500" },
  completed: { label: "Completed", dot: "bg-emerald-500" },
  failed: { label: "Failed", dot: "bg-red-500" },
  rescued: { label: "Rescued (lease expired)", dot: "bg-amber-500" },
  cancelled: { label: "Cancelled", dot: "bg-zinc-400" },
  retried: { label: "Retried by hand", dot: "bg-violet-500" },
  released: { label: "Released (worker stopping)", dot: "bg-zinc-400" },
  expired: { label: "Expired (not started by its deadline)", dot: "bg-zinc-400" },
  edited: { label: "Edited", dot: "bg-violet-400" },
  restored: { label: "Restored (bulk action undone)", dot: "bg-teal-500" },
};

/** The values an `edited` event replaced (its `data.previous`: payload, priority, queue), or null. */
function previousOf(e: JobEvent): Record<string, unknown> | null {
  const p = e.kind === "edited" ? e.data?.previous : null;
  if (!p || typeof p !== "object") return null;
  const { payload, priority, queue, ...rest } = p as Record<string, unknown>;
  return { payload, priority, queue, ...rest };
}

/**
 * PostgreSQL timestamps in a message ("2026-01-15 12:00:30.123+00", as
 * events recorded before retry times were formatted hold) as exact times.
 */
export function readableTimes(message: string): string {
  return message.replace(
    /\b(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.\d+)?\+00(?::00)?\b/g,
    (_, d, t) => exactTime(`${d}T${t}Z`),
  );
}

/** The timeline; `now` is for relative times. */
export function Timeline({ events, now }: { events: JobEvent[]; now: Date }) {
  let claimAt: number | null = null;
  return (
    <ol class="relative ml-1.5 border-l border-border" aria-label="Timeline">
      {events.map((e, i) => {
        const k = KIND[e.kind] ?? { label: e.kind, dot: "bg-zinc-400" };
        const at = new Date(e.at).getTime();
        const prev = i > 0 ? new Date(events[i - 1].at).getTime() : null;
        let ran: string | null = null;
        if (e.kind === "claimed") claimAt = at;
        else if (
          (e.kind === "completed" || e.kind === "failed" || e.kind === "rescued" ||
            e.kind === "released") && claimAt !== null
        ) {
          ran = duration(at - claimAt);
          claimAt = null;
        }
        return (
          <li
            class="relative mb-4 ml-5 last:mb-0"
            data-event={e.kind}
            data-view-key={`event-${i}`}
          >
            <span
              class={`absolute -left-[1.625rem] top-1 h-3 w-3 rounded-full ring-4 ring-background ${k.dot}`}
              aria-hidden="true"
            />
            <div class="flex flex-wrap items-baseline gap-x-2 text-sm">
              <span class="font-medium">{k.label}</span>
              {e.attempt > 0 && (
                <span class="text-xs text-muted-foreground">attempt {e.attempt}</span>
              )}
              {e.worker && (
                <span class="font-mono text-xs text-muted-foreground">on {e.worker}</span>
              )}
              {ran && <span class="rounded bg-muted px-1.5 text-xs tabular-nums">ran {ran}</span>}
              {prev !== null && !ran && at - prev > 0 && (
                <span class="text-xs text-muted-foreground tabular-nums">
                  +{duration(at - prev)}
                </span>
              )}
            </div>
            <div class="text-xs text-muted-foreground" title={exactTime(e.at)}>
              {exactTime(e.at)} · <RelativeTime date={e.at} now={now} />
            </div>
            {e.message && (
              <ErrorText
                text={readableTimes(e.message)}
                preClass={`mt-1 max-h-48 overflow-auto whitespace-pre-wrap break-words rounded-md border border-border px-2 py-1.5 font-mono text-xs ${
                  e.kind === "failed"
                    ? "bg-red-50 text-red-900 dark:bg-red-900/40 dark:text-red-200"
                    : "bg-muted"
                }`}
              />
            )}
            {previousOf(e) && (
              <details class="mt-1 text-xs" data-previous>
                <summary class="cursor-pointer text-muted-foreground hover:text-foreground">
                  Values before the edit
                </summary>
                <pre class="mt-1 max-h-64 overflow-auto whitespace-pre-wrap break-words rounded-md border border-border bg-muted px-2 py-1.5 font-mono text-xs">{JSON.stringify(previousOf(e), null, 2)}</pre>
              </details>
            )}
          </li>
        );
      })}
    </ol>
  );
}
