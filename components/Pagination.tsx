/**
 * The `/jobs` pagination bar: the range shown, First / Previous, page numbers
 * around the current page, Next / Last, all links that keep the list's state.
 * Server-rendered (a live region of the list page).
 */
import { type JobsQuery, jobsSearch } from "./jobs_query.ts";
import { count } from "./format.ts";
import { buttonClass } from "./ui.tsx";

/**
 * The page numbers to offer: the first, the last and the pages next to
 * `page`; `null` stands for a gap. A gap of one page shows that page instead.
 */
export function pageWindow(page: number, pages: number): (number | null)[] {
  const near = [...new Set([1, page - 1, page, page + 1, pages])]
    .filter((p) => p >= 1 && p <= pages).sort((a, b) => a - b);
  const out: (number | null)[] = [];
  for (const p of near) {
    const prev = out.at(-1);
    if (typeof prev === "number" && p - prev === 2) out.push(prev + 1);
    else if (typeof prev === "number" && p - prev > 2) out.push(null);
    out.push(p);
  }
  return out;
}

/** Number of pages of `total` jobs at `size` a page (at least 1). */
export function pageCount(total: number, size: number): number {
  return Math.max(1, Math.ceil(total / size));
}

function PageLink(
  { query, page, rel, label, enabled, class: cls = "" }: {
    query: JobsQuery;
    page: number;
    rel?: string;
    label: string;
    enabled: boolean;
    class?: string;
  },
) {
  if (!enabled) {
    return (
      <span class={buttonClass("outline", `h-7 px-2 opacity-50 ${cls}`)} aria-disabled="true">
        {label}
      </span>
    );
  }
  return (
    <a
      class={buttonClass("outline", `h-7 px-2 ${cls}`)}
      rel={rel}
      href={`/jobs${jobsSearch(query, { page })}`}
    >
      {label}
    </a>
  );
}

/** The pagination bar of `total` matching jobs at `query.page`. */
export function Pagination({ query, total }: { query: JobsQuery; total: number }) {
  const pages = pageCount(total, query.size);
  const from = (query.page - 1) * query.size + 1;
  const to = Math.min(total, query.page * query.size);
  const range = total === 0
    ? "No results"
    : from > total
    ? `${count(total)} ${total === 1 ? "job" : "jobs"}`
    : `${count(from)}–${count(to)} of ${count(total)}`;
  return (
    <nav
      aria-label="Pagination"
      class="flex flex-wrap items-center justify-between gap-2 border-t border-border px-3 py-2 text-sm"
    >
      <span class="text-muted-foreground" data-range>{range}</span>
      <div class="flex flex-wrap items-center gap-1">
        <span class="mr-1 text-muted-foreground sm:hidden">
          Page {count(query.page)} of {count(pages)}
        </span>
        <PageLink query={query} page={1} rel="first" label="First" enabled={query.page > 1} />
        <PageLink
          query={query}
          page={Math.min(query.page, pages + 1) - 1}
          rel="prev"
          label="Previous"
          enabled={query.page > 1}
        />
        <span class="hidden items-center gap-1 sm:flex">
          {pageWindow(query.page, pages).map((p, i) =>
            p === null
              ? (
                <span key={`gap-${i}`} class="px-1 text-muted-foreground" aria-hidden="true">
                  …
                </span>
              )
              : p === query.page
              ? (
                <span
                  key={p}
                  class={buttonClass("primary", "h-7 min-w-[1.75rem] px-2")}
                  aria-current="page"
                  data-page={p}
                >
                  {count(p)}
                </span>
              )
              : (
                <a
                  key={p}
                  class={buttonClass("outline", "h-7 min-w-[1.75rem] px-2")}
                  href={`/jobs${jobsSearch(query, { page: p })}`}
                  aria-label={`Page ${p}`}
                  data-page={p}
                >
                  {count(p)}
                </a>
              )
          )}
        </span>
        <PageLink
          query={query}
          page={query.page + 1}
          rel="next"
          label="Next"
          enabled={query.page < pages}
        />
        <PageLink
          query={query}
          page={pages}
          rel="last"
          label="Last"
          enabled={query.page !== pages}
        />
      </div>
    </nav>
  );
}
