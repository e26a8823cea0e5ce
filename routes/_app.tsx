/** The HTML document around every page: head, metadata, body. */
import { define } from "@/utils.ts";
import { HttpError } from "fresh";
import { errorHeading } from "@/components/format.ts";

const TITLES: Record<string, string> = {
  "/": "Dashboard",
  "/jobs": "Jobs",
  "/jobs/new": "New job",
  "/workers": "Workers",
  "/queues": "Queues",
  "/login": "Sign in",
};

/**
 * The page's own title: the one its data gives, an error page's heading,
 * "Page not found" on the no-route page, else the route's; null when there
 * is none (the title is then just "jobq").
 */
function titleOf(path: string, data: unknown, error: unknown, route: string | null): string | null {
  const d = (data ?? {}) as { title?: unknown };
  if (typeof d.title === "string") return d.title;
  if (error instanceof HttpError) {
    return route === null && error.status === 404 ? "Page not found" : errorHeading(error.status);
  }
  return Object.hasOwn(TITLES, path) ? TITLES[path] : null;
}

export default define.layout(({ Component, url, data, error, route }) => {
  const title = titleOf(url.pathname, data, error, route);
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        <title>{title ? `${title} · jobq` : "jobq"}</title>
        <link rel="icon" href="/static/favicon.svg" type="image/svg+xml" />
      </head>
      <body class="min-h-screen bg-background font-sans text-foreground antialiased">
        <Component />
      </body>
    </html>
  );
});
