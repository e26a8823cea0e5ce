/**
 * `GET /docs/assets/:file`: Swagger UI's files from the `swagger-ui-dist`
 * npm package (an allow-list, read once and kept in memory), and `init.js`,
 * which points the UI at `/api/openapi.json`.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { define } from "../../../utils.ts";
import { HttpError } from "../../../lib/http/errors.ts";

const FILES = new Map<string, string>(Object.entries({
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
  "swagger-ui-standalone-preset.js": "text/javascript; charset=utf-8",
  "favicon-32x32.png": "image/png",
  "favicon-16x16.png": "image/png",
}));

const INIT_JS = `window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/api/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "StandaloneLayout",
    validatorUrl: null
  });
});
`;

let distDir: string | undefined;
const cache = new Map<string, Promise<{ bytes: Uint8Array<ArrayBuffer>; etag: string }>>();

function dist(): string {
  distDir ??= dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
  return distDir;
}

async function load(name: string) {
  const bytes = name === "init.js"
    ? new TextEncoder().encode(INIT_JS)
    : await Deno.readFile(join(dist(), name));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const etag = `"${[...digest.slice(0, 12)].map((b) => b.toString(16).padStart(2, "0")).join("")}"`;
  return { bytes, etag };
}

export const handler = define.handlers({
  async GET(ctx) {
    const name = ctx.params.file;
    const type = name === "init.js" ? "text/javascript; charset=utf-8" : FILES.get(name);
    if (!type) throw new HttpError(404, "not_found", `no asset ${name}`);
    let entry = cache.get(name);
    if (!entry) {
      entry = load(name);
      cache.set(name, entry);
      entry.catch(() => cache.delete(name));
    }
    const { bytes, etag } = await entry;
    const headers = {
      "content-type": type,
      etag,
      "cache-control": "public, max-age=3600",
      "x-content-type-options": "nosniff",
    };
    if (ctx.req.headers.get("if-none-match") === etag) {
      return new Response(null, { status: 304, headers });
    }
    return new Response(bytes, { headers });
  },
});
