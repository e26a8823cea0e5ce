/** Pieces of the `/schedules` pages: the flash message, a schedule's row and its action buttons. */
import type { Schedule } from "@/lib/queue/schedules.ts";
import { buttonClass, LINK, RelativeTime } from "@/components/ui.tsx";

const DONE: Record<string, string> = {
  created: "Schedule created.",
  saved: "Schedule saved.",
  enabled: "Schedule enabled.",
  disabled: "Schedule disabled: it makes no jobs until enabled.",
  run: "Job enqueued.",
  deleted: "Schedule deleted (its jobs stay).",
};

/** The flash message of `?done=` (null for none or an unknown key). */
export function doneMessage(key: string | null): string | null {
  return key && Object.hasOwn(DONE, key) ? DONE[key] : null;
}

/** Enable/disable and "Run now" (each a form posting to the schedule's page). */
export function ScheduleActions({ s, back }: { s: Schedule; back: "list" | "page" }) {
  const action = `/schedules/${encodeURIComponent(s.name)}`;
  return (
    <div class="flex flex-wrap items-center gap-1.5">
      <form method="post" action={action}>
        <input type="hidden" name="back" value={back} />
        <button
          type="submit"
          name="action"
          value={s.enabled ? "disable" : "enable"}
          class={buttonClass("outline")}
        >
          {s.enabled ? "Disable" : "Enable"}
        </button>
      </form>
      <form method="post" action={action}>
        <input type="hidden" name="back" value={back} />
        <button type="submit" name="action" value="run" class={buttonClass("outline")}>
          Run now
        </button>
      </form>
    </div>
  );
}

/** One schedule in the list. */
export function ScheduleRow({ s, now }: { s: Schedule; now: Date }) {
  const href = `/schedules/${encodeURIComponent(s.name)}`;
  return (
    <tr class="border-b border-border last:border-0" data-schedule={s.name}>
      <td class="px-4 py-2.5">
        <a href={href} class={`${LINK} font-medium`}>{s.name}</a>
        <div class="text-xs text-muted-foreground">
          {s.type}
          {s.queue ? ` · ${s.queue}` : ""}
          {s.source === "file" ? " · from file" : ""}
        </div>
      </td>
      <td class="px-4 py-2.5">
        <code class="font-mono text-xs">{s.cron}</code>
        <div class="text-xs text-muted-foreground">{s.timezone}</div>
      </td>
      <td class="px-4 py-2.5 text-sm" data-next-run>
        {s.enabled && s.next_run_at
          ? <RelativeTime date={s.next_run_at} now={now} />
          : <span class="text-muted-foreground">disabled</span>}
      </td>
      <td class="px-4 py-2.5 text-sm">
        {s.last_run_at ? <RelativeTime date={s.last_run_at} now={now} /> : "—"}
        {s.last_job_id && (
          <div>
            <a href={`/jobs/${s.last_job_id}`} class={`${LINK} font-mono text-xs`}>
              job {s.last_job_id.slice(0, 8)}
            </a>
          </div>
        )}
      </td>
      <td class="px-4 py-2.5">
        <ScheduleActions s={s} back="list" />
      </td>
    </tr>
  );
}
