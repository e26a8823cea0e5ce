/**
 * The pagination bar of a list page (`/jobs`, `/audit`): the range shown,
 * First / Previous, page numbers around the current page, Next / Last, all
 * links that keep the list's state. Server-rendered (a live region of the
 * list page).
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

/** A page of a list: its number and size. */
type Paged = Pick<JobsQuery, "page" | "size">;

/** The link to page `page` of the `/jobs` list of `query`. */
function jobsPage(query: Paged, page: number): string {
  return `/jobs${jobsSearch(query as JobsQuery, { page })}`;
}

function PageLink(
  { href, page, rel, label, enabled, class: cls = "" }: {
    href: (page: number) => string;
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
      href={href(page)}
    >
      {label}
    </a>
  );
}

/**
 * The pagination bar of `total` matching items at `query.page`; `href` makes
 * a page's link (default: the `/jobs` list of `query`), `noun` names one item
 * and several.
 */
export function Pagination(
  { query, total, href = (p) => jobsPage(query, p), noun = ["job", "jobs"] }: {
    query: Paged;
    total: number;
    href?: (page: number) => string;
    noun?: [string, string];
  },
) {
  const pages = pageCount(total, query.size);
  const from = (query.page - 1) * query.size + 1;
  const to = Math.min(total, query.page * query.size);
  const range = total === 0
    ? "No results"
    : from > total
    ? `${count(total)} ${total === 1 ? noun[0] : noun[1]}`
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
        <PageLink href={href} page={1} rel="first" label="First" enabled={query.page > 1} />
        <PageLink
          href={href}
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
                  href={href(p)}
                  aria-label={`Page ${p}`}
                  data-page={p}
                >
                  {count(p)}
                </a>
              )
          )}
        </span>
        <PageLink
          href={href}
          page={query.page + 1}
          rel="next"
          label="Next"
          enabled={query.page < pages}
        />
        <PageLink
          href={href}
          page={pages}
          rel="last"
          label="Last"
          enabled={query.page !== pages}
        />
      </div>
    </nav>
  );
}
