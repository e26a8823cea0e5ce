/**
 * The `/jobs` search and filter bar: a GET form (so it works without
 * JavaScript) with multi-value dropdowns for status, type, queue and priority and
 * a page-size choice. Hydrated, it applies changes at once and remembers the
 * last filters in localStorage, offering them back on a bare `/jobs`. Its
 * "Export CSV" / "Export NDJSON" links download every job the current filters
 * match (`GET /api/jobs/export`, in the list's order).
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { useHydrated } from "@/lib/web/runtime.ts";
import { buttonClass, INPUT } from "@/components/ui.tsx";
import {
  isFiltered,
  JOB_STATUSES,
  type JobsQuery,
  jobsSearch,
  PAGE_SIZES,
  parseJobsQuery,
} from "@/components/jobs_query.ts";

/** Props of {@link JobFilters}. */
export interface JobFiltersProps {
  query: JobsQuery;
  types: string[];
  /** The queue names to offer (every queue any job has named). */
  queues?: string[];
}

/** `GET /api/jobs/export` of every job the list's filters and order match (no page). */
export function exportHref(query: JobsQuery, format: "csv" | "ndjson"): string {
  const filters = jobsSearch({ ...query, page: 1, size: 20 });
  return `/api/jobs/export?format=${format}${filters.replace(/^\?/, "&")}`;
}

/** localStorage key of the remembered filters. */
export const FILTERS_KEY = "jobq.jobs.filters";

function Multi(
  props: {
    name: string;
    label: string;
    options: { value: string; label: string }[];
    selected: string[];
    onChange: () => void;
  },
) {
  const n = props.selected.length;
  return (
    // On phones the menu spans the filter bar (the form is its containing block), so it
    // cannot run off a 390 px screen; from `sm` up it hangs under its button.
    <details class="sm:relative" data-filter={props.name}>
      <summary
        class={`${buttonClass("outline")} list-none [&::-webkit-details-marker]:hidden ${
          n ? "border-primary" : ""
        }`}
        aria-label={`${props.label} filter${n ? `: ${props.selected.join(", ")}` : ""}`}
      >
        {props.label}
        {n > 0 && <span class="rounded bg-primary px-1 text-xs text-primary-foreground">{n}</span>}
        <span aria-hidden="true" class="text-muted-foreground">▾</span>
      </summary>
      <fieldset class="absolute left-0 right-0 z-30 mt-1 min-w-[11rem] rounded-md border border-border bg-card p-1 shadow-lg sm:right-auto">
        <legend class="sr-only">{props.label}</legend>
        {props.options.map((o) => (
          <label class="flex cursor-pointer items-center gap-2 rounded px-2 py-1.5 text-sm hover:bg-accent">
            <input
              type="checkbox"
              name={props.name}
              value={o.value}
              checked={props.selected.includes(o.value)}
              onChange={props.onChange}
              class="h-4 w-4 accent-current"
            />
            {o.label}
          </label>
        ))}
      </fieldset>
    </details>
  );
}

export default function JobFilters({ query, types, queues = [] }: JobFiltersProps) {
  const hydrated = useHydrated();
  const form = useRef<HTMLFormElement>(null);
  const [saved, setSaved] = useState<string | null>(null);
  useEffect(() => {
    const filtersOnly = jobsSearch({ ...query, page: 1 });
    if (isFiltered(query) || filtersOnly) localStorage.setItem(FILTERS_KEY, filtersOnly);
    else setSaved(localStorage.getItem(FILTERS_KEY));
  }, []);
  useEffect(() => {
    // A click or Escape outside an open filter dropdown closes it, as a menu would.
    const close = (e: Event) => {
      for (const d of form.current?.querySelectorAll<HTMLDetailsElement>("details[open]") ?? []) {
        if (e instanceof KeyboardEvent ? e.key === "Escape" : !d.contains(e.target as Node)) {
          d.open = false;
        }
      }
    };
    document.addEventListener("click", close);
    document.addEventListener("keydown", close);
    return () => {
      document.removeEventListener("click", close);
      document.removeEventListener("keydown", close);
    };
  }, []);
  const submit = () => form.current?.requestSubmit();
  return (
    <form
      ref={form}
      method="get"
      action="/jobs"
      role="search"
      aria-label="Filter jobs"
      data-ready={hydrated ? "" : undefined}
      class="relative mb-3 flex flex-wrap items-center gap-2"
      onSubmit={(e) => {
        // Same request as the plain GET, without empty or default parameters.
        e.preventDefault();
        const fd = new FormData(e.currentTarget);
        const next = parseJobsQuery(new URLSearchParams(fd as unknown as Record<string, string>));
        location.assign(
          "/jobs" + jobsSearch({ ...next, sort: query.sort, order: query.order, page: 1 }),
        );
      }}
    >
      <label class="relative min-w-[12rem] flex-1 sm:max-w-xs">
        <span class="sr-only">Search by id or payload text</span>
        <input
          type="search"
          name="q"
          value={query.q}
          placeholder="Search id or payload…"
          class={`${INPUT} h-8`}
        />
      </label>
      <Multi
        name="status"
        label="Status"
        options={JOB_STATUSES.map((s) => ({ value: s, label: s }))}
        selected={query.status}
        onChange={submit}
      />
      <Multi
        name="type"
        label="Type"
        options={types.map((t) => ({ value: t, label: t }))}
        selected={query.type}
        onChange={submit}
      />
      {(queues.length > 1 || (query.queue?.length ?? 0) > 0) && (
        <Multi
          name="queue"
          label="Queue"
          options={queues.map((q) => ({ value: q, label: q }))}
          selected={query.queue ?? []}
          onChange={submit}
        />
      )}
      <Multi
        name="priority"
        label="Priority"
        options={[5, 4, 3, 2, 1].map((p) => ({
          value: String(p),
          label: `P${p}${p === 5 ? " (highest)" : p === 1 ? " (lowest)" : ""}`,
        }))}
        selected={query.priority.map(String)}
        onChange={submit}
      />
      <label class="flex items-center gap-1.5 whitespace-nowrap text-sm text-muted-foreground">
        Per page
        <select name="size" class={`${INPUT} h-8 w-auto py-0`} onChange={submit}>
          {PAGE_SIZES.map((s) => <option key={s} value={s} selected={s === query.size}>{s}
          </option>)}
        </select>
      </label>
      {query.sort !== "created_at" && <input type="hidden" name="sort" value={query.sort} />}
      {query.order !== "desc" && <input type="hidden" name="order" value={query.order} />}
      <button type="submit" class={buttonClass("primary")}>Apply</button>
      {isFiltered(query) && <a href="/jobs" class={buttonClass("ghost")}>Clear</a>}
      {saved && (
        <a
          href={`/jobs${saved}`}
          class={buttonClass("ghost", "text-muted-foreground")}
          data-restore
        >
          Restore last filters
        </a>
      )}
      <span class="flex items-center gap-1 sm:ml-auto" data-export>
        <a href={exportHref(query, "csv")} class={buttonClass("ghost")}>Export CSV</a>
        <a href={exportHref(query, "ndjson")} class={buttonClass("ghost")}>Export NDJSON</a>
      </span>
    </form>
  );
}
