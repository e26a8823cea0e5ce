/**
 * File-system routes, Fresh's conventions: `routes/index.tsx` → `/`,
 * `routes/jobs/[id].tsx` → `/jobs/:id`, `routes/[...rest].tsx` → catch-all,
 * `(group)` folders add no segment, files in `(_name)` folders are not
 * routes (helpers), `_app.tsx`, `_layout.tsx`, `_middleware.ts`, `_404.tsx`
 * and `_error.tsx` are special files.
 */
import { join, relative, sep } from "node:path";
import { toFileUrl } from "./paths.ts";

/** One discovered file and what it means. */
export interface RouteFile {
  /** Path relative to the routes folder, with `/` separators. */
  file: string;
  kind: "route" | "app" | "layout" | "middleware" | "notFound" | "error";
  /** Hono pattern (routes only), e.g. `/jobs/:id`. */
  pattern: string;
  /** URL prefix of the folder the file is in (for layouts and middleware), e.g. `/jobs`. */
  dir: string;
}

/** Converts a route file path (relative, `/`-separated) to a Hono pattern. */
export function patternOf(file: string): string {
  const noExt = file.replace(/\.(tsx|ts|jsx|js)$/, "");
  const segments = noExt.split("/").filter((s) => !/^\(.+\)$/.test(s));
  if (segments[segments.length - 1] === "index") segments.pop();
  const parts = segments.map((s) => {
    const rest = /^\[\.\.\.([A-Za-z_][A-Za-z0-9_]*)\]$/.exec(s);
    if (rest) return "*";
    return s.replace(/\[([A-Za-z_][A-Za-z0-9_]*)\]/g, ":$1");
  });
  return "/" + parts.join("/");
}

/** URL prefix of the folder holding `file` (groups removed). */
export function dirOf(file: string): string {
  const segments = file.split("/").slice(0, -1).filter((s) => !/^\(.+\)$/.test(s));
  return "/" + segments.map((s) => s.replace(/\[([A-Za-z_][A-Za-z0-9_]*)\]/g, ":$1")).join("/");
}

/** Classifies a file name (`null`: not a route file). */
export function kindOf(file: string): RouteFile["kind"] | null {
  if (file.split("/").slice(0, -1).some((s) => /^\(_.*\)$/.test(s))) return null;
  const base = file.split("/").pop()!.replace(/\.(tsx|ts|jsx|js)$/, "");
  if (!/\.(tsx|ts|jsx|js)$/.test(file) || /_test\.(tsx?|jsx?)$/.test(file)) return null;
  switch (base) {
    case "_app":
      return "app";
    case "_layout":
      return "layout";
    case "_middleware":
      return "middleware";
    case "_404":
      return "notFound";
    case "_error":
    case "_500":
      return "error";
  }
  if (base.startsWith("_")) return null;
  return "route";
}

/** What `file` (a route file path) is and where it applies. */
export function routeFile(file: string): RouteFile {
  const kind = kindOf(file)!;
  return { file, kind, pattern: kind === "route" ? patternOf(file) : "", dir: dirOf(file) };
}

/** True when a file in folder `dir` (a URL prefix, maybe with `:params`) applies to `path`. */
export function covers(dir: string, path: string): boolean {
  if (dir === "/" || path === dir || path.startsWith(dir + "/")) return true;
  return dir.includes(":") &&
    new RegExp("^" + dir.replace(/:[A-Za-z_][A-Za-z0-9_]*/g, "[^/]+") + "(/|$)").test(path);
}

/**
 * Sort key so static segments win over dynamic ones, and catch-alls come
 * last: `/jobs/new` is tried before `/jobs/:id`.
 */
export function specificity(pattern: string): string {
  return pattern.split("/").map((s) => (s === "*" ? "2" : s.startsWith(":") ? "1" : "0")).join("") +
    pattern;
}

/** Lists the route files under `root`, routes sorted most specific first. */
export async function discover(root: string): Promise<RouteFile[]> {
  const out: RouteFile[] = [];
  async function walk(dir: string) {
    for await (const e of Deno.readDir(dir)) {
      const full = join(dir, e.name);
      if (e.isDirectory) await walk(full);
      else if (e.isFile) {
        const file = relative(root, full).split(sep).join("/");
        if (kindOf(file)) out.push(routeFile(file));
      }
    }
  }
  await walk(root);
  out.sort((a, b) =>
    a.kind === "route" && b.kind === "route"
      ? specificity(a.pattern).localeCompare(specificity(b.pattern))
      : a.file.localeCompare(b.file)
  );
  return out;
}

/** Imports a discovered file as a module. */
export async function load(root: string, f: RouteFile): Promise<Record<string, unknown>> {
  try {
    return await import(toFileUrl(join(root, f.file)).href);
  } catch (err) {
    throw new Error(`route module routes/${f.file} failed to load: ${(err as Error).message}`);
  }
}
