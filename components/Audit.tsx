/** The audit log's table (the `/audit` page): one row per operator action, newest first. */
import type { AuditEntry } from "@/lib/queue/audit.ts";
import { LINK, RelativeTime } from "./ui.tsx";
import { count } from "./format.ts";

/** Jobs linked one by one in a row; the rest are counted. */
const JOBS_SHOWN = 3;

const VIA: Record<AuditEntry["via"], string> = {
  token: "API token",
  session: "dashboard",
  open: "open install",
};

/** A value in a few characters: text as is, the rest as JSON, cut at `max`. */
function short(v: unknown, max = 40): string {
  const text = typeof v === "string" ? v : JSON.stringify(v) ?? "null";
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** A filter as `status=failed,cancelled type=email`. */
export function filterText(filter: Record<string, unknown>): string {
  return Object.entries(filter)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.map((x) => short(x)).join(",") : short(v)}`)
    .join(" ");
}

/** The details in one line: `paused: false → true`, or `key=value` pairs. */
export function detailsText(details: Record<string, unknown>): string {
  const { before, after, ...rest } = details as {
    before?: Record<string, unknown>;
    after?: Record<string, unknown>;
  } & Record<string, unknown>;
  const parts: string[] = [];
  if (before && after && typeof before === "object" && typeof after === "object") {
    for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) {
      parts.push(`${k}: ${short(before[k] ?? null)} → ${short(after[k] ?? null)}`);
    }
  }
  for (const [k, v] of Object.entries(rest)) {
    if (v && typeof v === "object" && !Array.isArray(v)) {
      parts.push(`${k}: ${filterText(v as Record<string, unknown>)}`);
    } else parts.push(`${k}=${short(v)}`);
  }
  const text = parts.join("; ");
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

function Jobs({ ids }: { ids: string[] }) {
  return (
    <span class="flex flex-wrap gap-x-2">
      {ids.slice(0, JOBS_SHOWN).map((id) => (
        <a class={`${LINK} font-mono`} href={`/jobs/${id}`} data-job={id}>{id.slice(0, 8)}</a>
      ))}
      {ids.length > JOBS_SHOWN && (
        <a class={`${LINK} text-muted-foreground`} href={`/audit?job=${ids[JOBS_SHOWN]}`}>
          and {count(ids.length - JOBS_SHOWN)} more
        </a>
      )}
    </span>
  );
}

/** The table of `items`; `now` for relative times. */
export function AuditTable({ items, now }: { items: AuditEntry[]; now: Date }) {
  return (
    <div class="overflow-x-auto">
      <table class="w-full text-sm" aria-label="Audit log">
        <thead class="border-b border-border text-left text-xs text-muted-foreground">
          <tr>
            <th scope="col" class="px-4 py-2 font-medium">When</th>
            <th scope="col" class="px-3 py-2 font-medium">Who</th>
            <th scope="col" class="px-3 py-2 font-medium">What</th>
            <th scope="col" class="hidden px-3 py-2 text-right font-medium sm:table-cell">
              Count
            </th>
          </tr>
        </thead>
        <tbody>
          {items.map((e) => {
            const details = detailsText(e.details ?? {});
            return (
              <tr class="border-b border-border align-top last:border-0" data-audit={e.id}>
                <td class="px-3 py-2 text-muted-foreground sm:px-4">
                  <RelativeTime date={e.at} now={now} />
                </td>
                <td class="px-3 py-2">
                  <a
                    class={`${LINK} font-medium`}
                    href={`/audit?actor=${encodeURIComponent(e.actor)}`}
                    data-actor
                  >
                    {e.actor}
                  </a>
                  <div class="text-xs text-muted-foreground" data-via={e.via}>
                    {VIA[e.via] ?? e.via}
                    {e.address && <span data-address>{` from ${e.address}`}</span>}
                  </div>
                </td>
                <td class="min-w-[10rem] px-3 py-2">
                  <div class="flex flex-wrap items-baseline gap-x-2">
                    <code class="whitespace-nowrap font-mono text-xs font-semibold" data-action>
                      {e.action}
                    </code>
                    {e.target && <span class="font-mono" data-target>{e.target}</span>}
                    {e.job_ids && e.job_ids.length > 0 && <Jobs ids={e.job_ids} />}
                    {e.count !== null && (
                      <span class="text-xs text-muted-foreground sm:hidden">
                        {count(e.count)} {e.count === 1 ? "job" : "jobs"}
                      </span>
                    )}
                  </div>
                  {e.filter && (
                    <code class="break-all font-mono text-xs" data-filter>
                      {filterText(e.filter)}
                    </code>
                  )}
                  {details && (
                    <div class="break-words text-xs text-muted-foreground" data-details>
                      {details}
                    </div>
                  )}
                </td>
                <td class="hidden px-3 py-2 text-right tabular-nums sm:table-cell" data-count>
                  {e.count === null ? "" : count(e.count)}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
