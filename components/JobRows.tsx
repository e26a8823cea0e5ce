/** Compact list of jobs (recent jobs on the dashboard, running jobs on /workers). Server-rendered. */
import type { Job } from "@/lib/queue/types.ts";
import { payloadSummary } from "./format.ts";
import { Empty, LINK, PriorityLabel, RelativeTime, StatusBadge } from "./ui.tsx";

/** A short id for display ("3f2a9c1e"). */
export function shortId(id: string): string {
  return id.slice(0, 8);
}

/** A table of jobs with status, type, summary, priority and age. */
export function JobRows(
  { jobs, now, empty = "No jobs yet." }: { jobs: Job[]; now: Date; empty?: string },
) {
  if (jobs.length === 0) return <Empty>{empty}</Empty>;
  return (
    <div class="overflow-x-auto">
      <table class="w-full text-sm">
        <thead class="sr-only">
          <tr>
            <th>Job</th>
            <th>Status</th>
            <th>Summary</th>
            <th>Priority</th>
            <th>Created</th>
          </tr>
        </thead>
        <tbody class="divide-y divide-border">
          {jobs.map((j) => (
            <tr class="hover:bg-muted">
              <td class="hidden whitespace-nowrap py-2 pl-4 pr-2 font-mono text-xs sm:table-cell">
                <a href={`/jobs/${j.id}`} class={LINK} aria-label={`Job ${j.id}`}>
                  {shortId(j.id)}
                </a>
              </td>
              <td class="py-2 pl-4 pr-2 sm:pl-2">
                <StatusBadge status={j.status} scheduledFor={j.scheduled_for} now={now} />
              </td>
              <td class="max-w-0 w-full truncate px-2 py-2">
                <a href={`/jobs/${j.id}`} class={`${LINK} mr-2 font-medium`}>{j.type}</a>
                <span class="text-muted-foreground">{payloadSummary(j.type, j.payload)}</span>
              </td>
              <td class="hidden px-2 py-2 sm:table-cell">
                <PriorityLabel priority={j.priority} />
              </td>
              <td class="whitespace-nowrap py-2 pl-2 pr-4 text-right text-xs text-muted-foreground">
                <RelativeTime date={j.created_at} now={now} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
