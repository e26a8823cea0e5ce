/**
 * The frame of every page: skip link, top bar, content column. A `bare`
 * frame (the sign-in page) shows only the name in its top bar.
 */
import type { ComponentChildren } from "preact";
import { buttonClass } from "./ui.tsx";

const NAV: { href: string; label: string; more?: string }[] = [
  { href: "/", label: "Dashboard" },
  { href: "/jobs", label: "Jobs" },
  { href: "/queues", label: "Queues" },
  { href: "/workers", label: "Workers" },
  { href: "/schedules", label: "Schedules" },
  { href: "/audit", label: "Audit" },
  { href: "/health", label: "Health" },
  { href: "/alerts", label: "Alerts" },
  { href: "/docs", label: "API", more: " docs" },
];

function active(path: string, href: string): boolean {
  if (href === "/") return path === "/";
  return path === href || (path.startsWith(href + "/") && path !== "/jobs/new");
}

/** Props of {@link Frame}. */
export interface FrameProps {
  /** The page's path (marks the current navigation link). */
  path: string;
  bare?: boolean;
  signedIn?: boolean;
  children: ComponentChildren;
}

export function Frame({ path, bare = false, signedIn = false, children }: FrameProps) {
  return (
    <>
      <a
        href="#main"
        class="sr-only focus:not-sr-only focus:fixed focus:left-2 focus:top-2 focus:z-50 focus:rounded-md focus:bg-background focus:px-3 focus:py-2 focus:ring-2 focus:ring-ring"
      >
        Skip to content
      </a>
      <header class="sticky top-0 z-40 border-b border-border bg-background">
        <div class="mx-auto flex h-12 max-w-7xl items-center gap-3 px-3 sm:px-6">
          <a
            href="/"
            class="flex items-center gap-2 rounded-sm font-semibold tracking-tight focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-ring"
          >
            <svg viewBox="0 0 24 24" class="h-5 w-5" aria-hidden="true">
              <rect x="3" y="4" width="18" height="4" rx="1.5" class="fill-current opacity-90" />
              <rect x="3" y="10" width="13" height="4" rx="1.5" class="fill-current opacity-60" />
              <rect x="3" y="16" width="8" height="4" rx="1.5" class="fill-current opacity-30" />
            </svg>
            {/* On phones the mark alone names the app, leaving the navigation room. */}
            <span class={bare ? "" : "sr-only sm:not-sr-only"}>jobq</span>
          </a>
          {!bare && (
            <nav
              aria-label="Main"
              class="flex min-w-0 flex-1 items-center gap-0.5 overflow-x-auto text-sm"
            >
              {NAV.map((n) => (
                <a
                  href={n.href}
                  aria-current={active(path, n.href) ? "page" : undefined}
                  class={`whitespace-nowrap rounded-md px-2 py-1.5 font-medium sm:px-2.5 transition-colors hover:bg-accent focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-ring ${
                    active(path, n.href) ? "bg-accent text-foreground" : "text-muted-foreground"
                  }`}
                >
                  {n.label}
                  {n.more && <span class="hidden sm:inline">{n.more}</span>}
                </a>
              ))}
            </nav>
          )}
          {!bare && (
            <div class="ml-auto flex items-center gap-2">
              <a
                href="/jobs/new"
                class={buttonClass("primary", "px-2.5 sm:px-3")}
                aria-label="New job"
              >
                <span aria-hidden="true">+</span>
                <span class="hidden sm:inline" aria-hidden="true">New job</span>
              </a>
              {signedIn && (
                <form method="post" action="/logout">
                  <button type="submit" class={buttonClass("ghost")}>Sign out</button>
                </form>
              )}
            </div>
          )}
        </div>
      </header>
      <main id="main" class="mx-auto max-w-7xl px-3 py-5 sm:px-6">
        {children}
      </main>
    </>
  );
}
