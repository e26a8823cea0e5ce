/**
 * `GET /docs`: Swagger UI on `/api/openapi.json`, with its scripts and styles
 * served by this app under `/docs/assets/` (works with no internet).
 */
import { define } from "../utils.ts";
import { refuseQuery } from "./_query.ts";

export const handler = define.handlers({
  GET(ctx) {
    const refused = refuseQuery(ctx.url);
    if (refused) return refused;
    const nonce = ctx.state.nonce;
    const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>jobq API</title>
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"><noscript>The interactive API page needs JavaScript; the document itself is
<a href="/api/openapi.json">/api/openapi.json</a>.</noscript></div>
<script src="/docs/assets/swagger-ui-bundle.js" nonce="${nonce}"></script>
<script src="/docs/assets/swagger-ui-standalone-preset.js" nonce="${nonce}"></script>
<script src="/docs/assets/init.js" nonce="${nonce}"></script>
</body>
</html>`;
    return new Response(html, {
      headers: {
        "content-type": "text/html; charset=utf-8",
        "content-security-policy": "default-src 'self'; img-src 'self' data:; " +
          `style-src 'self' 'unsafe-inline'; script-src 'self' 'nonce-${nonce}'; ` +
          "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
        "cache-control": "no-store",
      },
    });
  },
});
