/**
 * The `/jobs` table: sortable column headers (links), row checkboxes and a
 * bulk bar (retry, cancel, delete) in a POST form that works without
 * JavaScript. Hydrated, it adds "select all on this page", "select all N
 * matching", a count of the selection, and a confirmation before acting.
 * Under it, "Retry all N", "Cancel all N", "Delete all N": actions on every
 * job the filters match. Without JavaScript they are links to the page's
 * confirmation (`?confirm=<action>`, the count from a dry run, a Confirm
 * button); hydrated, N comes from a dry run (`POST /api/jobs/bulk` with
 * `dry_run`), asked again when clicked, and shown in the confirmation.
 * The server applies the action and redirects back with the outcome (shown
 * once: the outcome's parameters leave the address bar). It follows live
 * refreshes of the page (`useLiveProps`), keeping the selection.
 */
import { useEffect, useState } from "preact/hooks";
import { useHydrated, useLiveProps } from "@/lib/web/runtime.ts";
import {
  buttonClass,
  Empty,
  LINK,
  PriorityLabel,
  RelativeTime,
  StatusBadge,
} from "@/components/ui.tsx";
import { isFiltered, type JobsQuery, jobsSearch, type Sortable } from "@/components/jobs_query.ts";
import { pageCount } from "@/components/Pagination.tsx";
import { ProgressBar } from "@/components/ProgressBar.tsx";

/** One row as the table shows it. */
export interface JobRow {
  id: string;
  type: string;
  status: string;
  priority: number;
  attempts: number;
  max_attempts: number;
  created_at: Date;
  updated_at: Date;
  /** When a pending job becomes due: later than now shows it as scheduled. */
  scheduled_for: Date;
  summary: string;
  /** A running job's last progress, or null. */
  progress?: { percent: number; message: string | null } | null;
  /** A running job whose cancel was requested. */
  cancel_requested?: boolean;
  /** A pending job whose queue is paused. */
  paused?: boolean;
}

/** Props of {@link JobsTable}. */
export interface JobsTableProps {
  rows: JobRow[];
  total: number;
  query: JobsQuery;
  now: Date;
}

const ACTIONS = [
  {
    value: "retry",
    label: "Retry",
    variant: "outline",
    verb: "Retry",
    past: "retried",
    note: "failed or cancelled ones go back to pending; Undo is offered for a minute",
  },
  {
    value: "cancel",
    label: "Cancel",
    variant: "outline",
    verb: "Cancel",
    past: "cancelled",
    note:
      "pending ones are cancelled, running ones are asked to stop; Undo is offered for a minute",
  },
  {
    value: "delete",
    label: "Delete",
    variant: "destructive",
    verb: "Delete",
    past: "deleted",
    note: "this cannot be undone; running ones are skipped",
  },
] as const;

/** The sortable columns, in table order (some hidden on narrow screens). */
const COLUMNS: { col: Sortable; label: string; class?: string }[] = [
  { col: "status", label: "Status" },
  { col: "type", label: "Type · payload" },
  { col: "priority", label: "Pri", class: "hidden sm:table-cell" },
  { col: "attempts", label: "Tries", class: "hidden sm:table-cell" },
  { col: "created_at", label: "Created" },
  { col: "updated_at", label: "Updated", class: "hidden md:table-cell" },
];

function SortHeader(
  { query, col, label, class: cls = "" }: {
    query: JobsQuery;
    col: Sortable;
    label: string;
    class?: string;
  },
) {
  const active = query.sort === col;
  const next = active && query.order === "desc" ? "asc" : "desc";
  return (
    <th
      scope="col"
      aria-sort={active ? (query.order === "asc" ? "ascending" : "descending") : undefined}
      class={`px-2 py-2 text-left font-medium ${cls}`}
    >
      <a
        href={`/jobs${jobsSearch(query, { sort: col, order: next, page: 1 })}`}
        class={`inline-flex items-center gap-1 rounded-sm hover:text-foreground focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-ring ${
          active ? "text-foreground" : ""
        }`}
      >
        {label}
        <span aria-hidden="true" class={active ? "" : "opacity-30"}>
          {active ? (query.order === "asc" ? "↑" : "↓") : "↕"}
        </span>
      </a>
    </th>
  );
}

/** Parameters that report a finished action; they are dropped from the address once shown. */
const OUTCOME_PARAMS = [
  "bulk",
  "done",
  "skipped",
  "capped",
  "deleted",
  "undo",
  "until",
  "undone",
  "restored",
  "moved_on",
  "undo_gone",
];

/** The list's filters as `POST /api/jobs/bulk` takes them (empty ones left out). */
function apiFilter(q: JobsQuery): Record<string, unknown> {
  const f: Record<string, unknown> = {};
  if (q.status.length) f.status = q.status;
  if (q.type.length) f.type = q.type;
  if (q.priority.length) f.priority = q.priority;
  if (q.queue.length) f.queue = q.queue;
  if (q.q) f.q = q.q;
  return f;
}

/** How many jobs `action` on all matching would change now (a dry run); null when it cannot tell. */
async function dryRun(action: string, q: JobsQuery): Promise<number | null> {
  const filter = apiFilter(q);
  try {
    const res = await fetch("/api/jobs/bulk", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        action,
        filter,
        dry_run: true,
        ...(Object.keys(filter).length === 0 ? { all: true } : {}),
      }),
    });
    if (!res.ok) return null;
    return ((await res.json()) as { count: number }).count;
  } catch {
    return null;
  }
}

/** Posts the action on all matching jobs as the page's form would. */
function postAll(action: string, back: string, everything: boolean) {
  const form = document.createElement("form");
  form.method = "post";
  form.action = "/jobs";
  const fields: [string, string][] = [["action", action], ["scope", "all"], ["back", back]];
  if (everything) fields.push(["all", "1"]);
  for (const [name, value] of fields) {
    const input = document.createElement("input");
    input.type = "hidden";
    input.name = name;
    input.value = value;
    form.append(input);
  }
  document.body.append(form);
  form.submit();
}

function EmptyList({ query, total }: { query: JobsQuery; total: number }) {
  const pages = pageCount(total, query.size);
  if (total > 0 && query.page > pages) {
    return (
      <p class="px-4 py-8 text-center text-sm text-muted-foreground" data-out-of-range>
        Page {query.page.toLocaleString("en-US")} does not exist —{" "}
        <a href={`/jobs${jobsSearch(query, { page: pages })}`} class={`${LINK} text-foreground`}>
          go to the last page ({pages.toLocaleString("en-US")})
        </a>.
      </p>
    );
  }
  return (
    <div data-empty>
      <Empty>
        {isFiltered(query)
          ? "No jobs match these filters."
          : "No jobs yet: create one with New job or POST /api/jobs."}
      </Empty>
    </div>
  );
}

export default function JobsTable(props: JobsTableProps) {
  const { rows, total, query, now } = useLiveProps("JobsTable", props);
  const hydrated = useHydrated();
  const [picked, setSelected] = useState<Set<string>>(new Set());
  const [allMatching, setAllMatching] = useState(false);
  useEffect(() => {
    const url = new URL(location.href);
    if (!OUTCOME_PARAMS.some((p) => url.searchParams.has(p))) return;
    for (const p of OUTCOME_PARAMS) url.searchParams.delete(p);
    history.replaceState(history.state, "", url.pathname + url.search + url.hash);
  }, []);
  // Jobs that left the page (deleted, or moved by a live refresh) leave the selection.
  const selected = new Set(rows.filter((r) => picked.has(r.id)).map((r) => r.id));
  const back = `/jobs${jobsSearch(query)}`;
  const allOnPage = rows.length > 0 && rows.every((r) => selected.has(r.id));
  const count = allMatching ? total : selected.size;
  const toggle = (id: string) => {
    const s = new Set(selected);
    if (s.has(id)) s.delete(id);
    else s.add(id);
    setSelected(s);
    setAllMatching(false);
  };
  const [counts, setCounts] = useState<Record<string, number | null> | null>(null);
  useEffect(() => {
    let live = true;
    Promise.all(ACTIONS.map((a) => dryRun(a.value, query))).then((cs) => {
      if (live) setCounts(Object.fromEntries(ACTIONS.map((a, i) => [a.value, cs[i]])));
    });
    return () => {
      live = false;
    };
  }, [back, total]);
  const everything = !isFiltered(query);
  const confirmHref = (action: string) =>
    `/jobs${jobsSearch(query, { page: 1 })}${
      jobsSearch(query, { page: 1 }) ? "&" : "?"
    }confirm=${action}`;
  /** Asks the dry run again, confirms with its count, then posts. */
  const runAll = async (a: typeof ACTIONS[number]) => {
    const n = await dryRun(a.value, query);
    if (n === null) {
      location.href = confirmHref(a.value);
      return;
    }
    setCounts((c) => ({ ...c, [a.value]: n }));
    if (n === 0) {
      alert(`No matching job can be ${a.past}.`);
      return;
    }
    const what = everything
      ? `EVERY job (no filter is set): ${n.toLocaleString("en-US")}`
      : `all ${n.toLocaleString("en-US")} matching job${n === 1 ? "" : "s"}`;
    if (confirm(`${a.verb} ${what}? (${a.note})`)) postAll(a.value, back, everything);
  };
  const onSubmit = (e: SubmitEvent) => {
    const action = (e.submitter as HTMLButtonElement | null)?.value;
    const a = ACTIONS.find((x) => x.value === action);
    if (!a || count === 0) {
      e.preventDefault();
      return;
    }
    if (allMatching) {
      e.preventDefault();
      runAll(a);
      return;
    }
    if (!confirm(`${a.verb} ${count} job${count === 1 ? "" : "s"}? (${a.note})`)) {
      e.preventDefault();
    }
  };
  return (
    <form
      method="post"
      action="/jobs"
      onSubmit={onSubmit}
      data-ready={hydrated ? "" : undefined}
      aria-label="Jobs"
    >
      <input type="hidden" name="back" value={back} />
      {allMatching && <input type="hidden" name="scope" value="all" />}
      <div class="flex min-h-[2.75rem] flex-wrap items-center gap-2 border-b border-border px-3 py-1.5 text-sm">
        <span class="text-muted-foreground" aria-live="polite" data-selection>
          {count > 0
            ? `${count.toLocaleString("en-US")} selected`
            : hydrated
            ? "Select jobs to act on them"
            : "Tick jobs, then choose an action"}
        </span>
        {hydrated && allOnPage && !allMatching && total > rows.length && (
          <button
            type="button"
            class={`${LINK} text-sm font-medium`}
            onClick={() => setAllMatching(true)}
          >
            Select all {total.toLocaleString("en-US")} matching
          </button>
        )}
        {allMatching && (
          <button
            type="button"
            class={`${LINK} text-sm font-medium`}
            onClick={() => (setAllMatching(false), setSelected(new Set()))}
          >
            Clear selection
          </button>
        )}
        <div class="ml-auto flex gap-1.5">
          {ACTIONS.map((a) => (
            <button
              type="submit"
              name="action"
              value={a.value}
              disabled={hydrated && count === 0}
              class={buttonClass(a.variant, "h-7 px-2.5 text-xs")}
            >
              {a.label}
            </button>
          ))}
        </div>
      </div>
      <div
        class="flex flex-wrap items-center gap-x-2 gap-y-1 border-b border-border px-3 py-1.5 text-xs"
        data-all-matching
      >
        <span class="text-muted-foreground">
          {everything ? "Every job:" : "All matching:"}
        </span>
        {ACTIONS.map((a) => {
          const n = counts?.[a.value];
          const label = hydrated && typeof n === "number"
            ? `${a.verb} all ${n.toLocaleString("en-US")}`
            : `${a.verb} all…`;
          return (
            <a
              href={confirmHref(a.value)}
              data-action={a.value}
              data-count={typeof n === "number" ? n : undefined}
              aria-disabled={hydrated && n === 0 ? "true" : undefined}
              onClick={(e) => {
                e.preventDefault();
                runAll(a);
              }}
              class={`${LINK} font-medium ${a.value === "delete" ? "text-destructive" : ""} ${
                hydrated && n === 0 ? "pointer-events-none opacity-50" : ""
              }`}
            >
              {label}
            </a>
          );
        })}
      </div>
      {rows.length === 0 ? <EmptyList query={query} total={total} /> : (
        <div class="overflow-x-auto">
          <table class="w-full text-sm">
            <thead class="border-b border-border text-xs text-muted-foreground">
              <tr>
                <th scope="col" class="w-8 py-2 pl-3 pr-1 text-left">
                  <input
                    type="checkbox"
                    aria-label="Select all jobs on this page"
                    checked={allOnPage}
                    disabled={!hydrated}
                    onChange={() => {
                      setSelected(allOnPage ? new Set() : new Set(rows.map((r) => r.id)));
                      setAllMatching(false);
                    }}
                    class="h-4 w-4"
                  />
                </th>
                <th scope="col" class="hidden px-2 py-2 text-left font-medium sm:table-cell">
                  Job
                </th>
                {COLUMNS.map((c) => <SortHeader key={c.col} query={query} {...c} />)}
              </tr>
            </thead>
            <tbody class="divide-y divide-border">
              {rows.map((r) => (
                <tr
                  key={r.id}
                  class={`hover:bg-muted ${selected.has(r.id) || allMatching ? "bg-accent" : ""}`}
                  data-job-id={r.id}
                >
                  <td class="py-1.5 pl-3 pr-1">
                    <input
                      type="checkbox"
                      name="ids"
                      value={r.id}
                      checked={allMatching || selected.has(r.id)}
                      onChange={() => toggle(r.id)}
                      aria-label={`Select job ${r.id.slice(0, 8)}`}
                      class="h-4 w-4"
                    />
                  </td>
                  <td class="hidden whitespace-nowrap px-2 py-1.5 font-mono text-xs sm:table-cell">
                    <a href={`/jobs/${r.id}`} class={LINK}>{r.id.slice(0, 8)}</a>
                  </td>
                  <td class="px-2 py-1.5">
                    <StatusBadge
                      status={r.status}
                      scheduledFor={r.scheduled_for}
                      now={now}
                      paused={r.paused}
                    />
                    {r.progress && (
                      <div class="mt-1" title={r.progress.message ?? undefined}>
                        <ProgressBar percent={r.progress.percent} message={null} compact />
                      </div>
                    )}
                    {r.cancel_requested && (
                      <div class="mt-0.5 text-xs text-muted-foreground" data-cancel-requested>
                        cancelling…
                      </div>
                    )}
                  </td>
                  <td class="max-w-0 w-full truncate px-2 py-1.5">
                    <a href={`/jobs/${r.id}`} class={`${LINK} mr-2 font-medium`}>{r.type}</a>
                    <span class="text-muted-foreground">{r.summary}</span>
                  </td>
                  <td class="hidden px-2 py-1.5 sm:table-cell">
                    <PriorityLabel priority={r.priority} />
                  </td>
                  <td class="hidden px-2 py-1.5 tabular-nums text-muted-foreground sm:table-cell">
                    {r.attempts}/{r.max_attempts}
                  </td>
                  <td class="px-2 py-1.5 text-xs text-muted-foreground">
                    <RelativeTime date={r.created_at} now={now} />
                  </td>
                  <td class="hidden px-2 py-1.5 text-xs text-muted-foreground md:table-cell">
                    <RelativeTime date={r.updated_at} now={now} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </form>
  );
}
