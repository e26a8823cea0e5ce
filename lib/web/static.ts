/**
 * Serves files under `static/` with an ETag (304 on a match) and cache
 * headers: content-hashed files (`name-ABCD1234.js`, as the island build
 * writes them) are immutable for a year; everything else is revalidated.
 */
import { extname, join, normalize, sep } from "node:path";
import { ROOT } from "./paths.ts";

const TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".webmanifest": "application/manifest+json",
};

/** True for names with a content hash (safe to cache forever). */
export function isHashed(name: string): boolean {
  return /-[A-Z0-9]{8}\.(js|css)$/.test(name);
}

const etags = new Map<string, { mtime: number; size: number; etag: string }>();

/**
 * Answers a GET/HEAD for `path` (URL path below the `/static/` prefix) from
 * `dir`, or `null` when there is no such file (including any path that
 * would leave `dir`, or hidden files).
 */
export async function serveStatic(
  req: Request,
  path: string,
  dir = join(ROOT, "static"),
): Promise<Response | null> {
  let rel: string;
  try {
    rel = decodeURIComponent(path);
  } catch {
    return null;
  }
  if (rel.includes("\0") || rel.split("/").some((s) => s.startsWith("."))) return null;
  const full = normalize(join(dir, rel));
  if (!full.startsWith(normalize(dir) + sep)) return null;
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(full);
  } catch {
    return null;
  }
  if (!info.isFile) return null;
  const mtime = info.mtime?.getTime() ?? 0;
  let cached = etags.get(full);
  let bytes: Uint8Array<ArrayBuffer> | null = null;
  if (!cached || cached.mtime !== mtime || cached.size !== info.size) {
    bytes = await Deno.readFile(full);
    const d = new Uint8Array(await crypto.subtle.digest("SHA-1", bytes));
    const etag = `"${[...d.slice(0, 10)].map((b) => b.toString(16).padStart(2, "0")).join("")}"`;
    cached = { mtime, size: info.size, etag };
    etags.set(full, cached);
  }
  const headers = new Headers({
    "content-type": TYPES[extname(full)] ?? "application/octet-stream",
    etag: cached.etag,
    "cache-control": isHashed(full)
      ? "public, max-age=31536000, immutable"
      : "public, max-age=0, must-revalidate",
    "x-content-type-options": "nosniff",
  });
  const inm = req.headers.get("if-none-match");
  if (inm && inm.split(",").map((s) => s.trim().replace(/^W\//, "")).includes(cached.etag)) {
    return new Response(null, { status: 304, headers });
  }
  if (req.method === "HEAD") {
    headers.set("content-length", String(info.size));
    return new Response(null, { headers });
  }
  return new Response(bytes ?? await Deno.readFile(full), { headers });
}
