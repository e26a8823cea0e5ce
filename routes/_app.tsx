/** The HTML document around every page: head, metadata, body. */
import { define } from "@/utils.ts";

const TITLES: Record<string, string> = {
  "/": "Dashboard",
  "/jobs": "Jobs",
  "/jobs/new": "New job",
  "/workers": "Workers",
  "/login": "Sign in",
};

export default define.layout(({ Component, url, data }) => {
  const given = (data as { title?: string } | null | undefined)?.title;
  const title = given ?? TITLES[url.pathname] ?? "jobq";
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        <title>{`${title} · jobq`}</title>
        <link rel="icon" href="/static/favicon.svg" type="image/svg+xml" />
      </head>
      <body class="min-h-screen bg-background font-sans text-foreground antialiased">
        <Component />
      </body>
    </html>
  );
});
