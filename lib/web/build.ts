/**
 * Island bundles: `deno bundle --platform=browser --code-splitting --minify`
 * over every `islands/*.tsx` plus the hydration entry (`client.ts`), written
 * to `static/islands/` with content-hashed names (`StatusCards-3F2K9Q1A.js`,
 * shared `chunk-….js` files for Preact and signals) and a `manifest.json`.
 * The manifest records a fingerprint of the sources, so a server start
 * rebuilds only when a browser-safe folder ({@link configureIslands}) changed.
 *
 * `deno task build` (`scripts/build_islands.ts`) always rebuilds and removes old files.
 */
import { join, relative, sep } from "node:path";
import { ROOT } from "./paths.ts";
import { classTokens } from "./twind.ts";
import { loadIslands } from "./islands.ts";
import { log } from "../log.ts";

/** What the server needs to link a page's islands. */
export interface Manifest {
  fingerprint: string;
  /** The hydration entry (file name in `static/islands/`). */
  client: string;
  /** Island name → its entry file. */
  islands: Record<string, string>;
  /** Entry file → the chunks it imports statically (for `modulepreload`). */
  imports: Record<string, string[]>;
  /** Class tokens found in islands and components (their CSS is sent on island pages). */
  classes: string[];
}

/** Where bundles are written. */
export const OUT_DIR = join(ROOT, "static", "islands");
/** The URL prefix they are served under. */
export const OUT_URL = "/static/islands/";

/** This folder's own files in the bundles, and the import map. */
const OWN_SOURCES = ["lib/web/client.ts", "lib/web/serial.ts", "lib/web/runtime.ts", "deno.json"];

/** The app's folders islands may import from (see {@link configureIslands}). */
let browserSafe = ["islands", "components"];

/**
 * Tells the bundler which folders (relative to the project root) islands
 * import from: a change in any of them rebuilds the bundles.
 */
export function configureIslands(opts: { browserSafe: string[] }): void {
  browserSafe = [...opts.browserSafe];
}

async function listFiles(path: string): Promise<string[]> {
  try {
    const info = await Deno.stat(path);
    if (info.isFile) return [path];
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
  const out: string[] = [];
  for await (const e of Deno.readDir(path)) {
    const full = join(path, e.name);
    if (e.isDirectory) out.push(...await listFiles(full));
    else if (e.isFile && /\.(tsx?|json)$/.test(e.name) && !/_test\.tsx?$/.test(e.name)) {
      out.push(full);
    }
  }
  return out;
}

async function hashHex(data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return [...d].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** An 8-character upper-case content hash, like esbuild's chunk names. */
async function shortHash(data: Uint8Array): Promise<string> {
  const hex = await hashHex(data);
  return BigInt("0x" + hex.slice(0, 12)).toString(36).toUpperCase().padStart(8, "0").slice(-8);
}

/** Fingerprint of everything the bundles are made from (paths and contents). */
export async function sourceFingerprint(root = ROOT): Promise<string> {
  const sources = [...browserSafe, ...OWN_SOURCES];
  const files = (await Promise.all(sources.map((s) => listFiles(join(root, s))))).flat().sort();
  const parts = [Deno.version.deno];
  for (const f of files) {
    parts.push(relative(root, f).split(sep).join("/"), await hashHex(await Deno.readFile(f)));
  }
  return await hashHex(parts.join("\n"));
}

async function readManifest(dir: string): Promise<Manifest | null> {
  try {
    return JSON.parse(await Deno.readTextFile(join(dir, "manifest.json")));
  } catch {
    return null;
  }
}

async function islandNames(root: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(join(root, "islands"))) {
      if (e.isFile && /^[A-Z][A-Za-z0-9]*\.tsx$/.test(e.name)) names.push(e.name.slice(0, -4));
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return names.sort();
}

/**
 * Bundles the islands into `outDir` and writes the manifest. With `clean`,
 * files of earlier builds are removed. Throws with deno bundle's output when
 * bundling fails.
 */
export async function buildIslands(
  opts: { root?: string; outDir?: string; clean?: boolean } = {},
): Promise<Manifest> {
  const root = opts.root ?? ROOT;
  const outDir = opts.outDir ?? OUT_DIR;
  const fingerprint = await sourceFingerprint(root);
  const names = await islandNames(root);
  const tmp = join(outDir, `.build-${crypto.randomUUID()}`);
  await Deno.mkdir(tmp, { recursive: true });
  try {
    const entries = [
      join(root, "lib/web/client.ts"),
      ...names.map((n) => join(root, "islands", n + ".tsx")),
    ];
    // Islands are bundled with the automatic JSX runtime: the server's
    // "precompile" templates only make sense to preact-render-to-string.
    const config = JSON.parse(await Deno.readTextFile(join(root, "deno.json")));
    config.compilerOptions = {
      ...config.compilerOptions,
      jsx: "react-jsx",
      jsxImportSource: "preact",
    };
    delete config.tasks;
    delete config.lint;
    delete config.fmt;
    const configPath = join(root, `.bundle-config-${crypto.randomUUID()}.json`);
    await Deno.writeTextFile(configPath, JSON.stringify(config));
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "bundle",
        "--config",
        configPath,
        "--no-lock",
        "--quiet",
        "--platform=browser",
        "--code-splitting",
        "--minify",
        "--outdir",
        tmp,
        ...entries,
      ],
      cwd: root,
      stdout: "piped",
      stderr: "piped",
    }).output().finally(() => Deno.remove(configPath).catch(() => {}));
    if (!out.success) {
      throw new Error(
        `deno bundle failed for islands/: ${new TextDecoder().decode(out.stderr)}${
          new TextDecoder().decode(out.stdout)
        }`,
      );
    }
    // Entries keep their folders (lib/web/client.js, islands/X.js); chunks sit at the top.
    // Flatten: move entries up and point their relative imports at the top folder.
    const entryNames = new Set(["client", ...names]);
    const files: Record<string, string> = {};
    const renamed = new Map<string, string>();
    const flat = join(tmp, ".flat");
    await Deno.mkdir(flat);
    const walkOut = async (dir: string, depth: number): Promise<void> => {
      for await (const e of Deno.readDir(dir)) {
        const full = join(dir, e.name);
        if (e.isDirectory) {
          if (e.name !== ".flat") await walkOut(full, depth + 1);
          continue;
        }
        let bytes = await Deno.readFile(full);
        if (depth > 0) {
          const up = new RegExp(`(["'])(?:\\.\\./){${depth}}`, "g");
          bytes = new TextEncoder().encode(new TextDecoder().decode(bytes).replace(up, "$1./"));
        }
        const base = e.name.replace(/\.js$/, "");
        let final = e.name;
        if (e.name.endsWith(".js") && entryNames.has(base)) {
          final = `${base}-${await shortHash(bytes)}.js`;
          files[base] = final;
        }
        await Deno.writeFile(join(flat, final), bytes);
        renamed.set(final, final);
      }
    };
    await walkOut(tmp, 0);
    const imports: Record<string, string[]> = {};
    const direct = new Map<string, string[]>();
    for (const [orig, final] of renamed) {
      if (!final.endsWith(".js")) continue;
      const text = await Deno.readTextFile(join(flat, orig));
      direct.set(
        final,
        [...text.matchAll(/(?:from|import)\s*["']\.\/([^"']+\.js)["']/g)].map((m) => m[1]),
      );
    }
    for (const file of Object.values(files)) {
      const seen = new Set<string>();
      const walk = (f: string) => {
        for (const d of direct.get(f) ?? []) if (!seen.has(d)) (seen.add(d), walk(d));
      };
      walk(file);
      imports[file] = [...seen];
    }
    for (const [orig, final] of renamed) await Deno.rename(join(flat, orig), join(outDir, final));
    if (!files.client) throw new Error("deno bundle produced no client.js");
    const classes = new Set<string>();
    for (
      const f of (await Promise.all(["islands", "components"].map((d) => listFiles(join(root, d)))))
        .flat()
    ) {
      for (const t of classTokens(await Deno.readTextFile(f))) classes.add(t);
    }
    const manifest: Manifest = {
      fingerprint,
      client: files.client,
      islands: Object.fromEntries(names.map((n) => [n, files[n]])),
      imports,
      classes: [...classes].sort(),
    };
    if (opts.clean) {
      const keep = new Set([
        ...Object.values(files),
        ...Object.values(imports).flat(),
        "manifest.json",
      ]);
      for (const f of renamed.values()) keep.add(f);
      for await (const e of Deno.readDir(outDir)) {
        if (e.isFile && !keep.has(e.name)) await Deno.remove(join(outDir, e.name));
      }
    }
    const tmpManifest = join(outDir, `.manifest-${crypto.randomUUID()}.json`);
    await Deno.writeTextFile(tmpManifest, JSON.stringify(manifest, null, 1));
    await Deno.rename(tmpManifest, join(outDir, "manifest.json"));
    return manifest;
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

/**
 * The current manifest: read from disk when its fingerprint matches the
 * sources, else rebuilt. Returns `null` only when bundling fails (pages then
 * render without scripts, and the failure is logged).
 */
export async function ensureBundles(
  opts: { root?: string; outDir?: string } = {},
): Promise<Manifest | null> {
  const root = opts.root ?? ROOT;
  const outDir = opts.outDir ?? OUT_DIR;
  const fingerprint = await sourceFingerprint(root);
  const existing = await readManifest(outDir);
  if (existing?.fingerprint === fingerprint) {
    try {
      await Promise.all(
        [existing.client, ...Object.values(existing.islands)].map((f) =>
          Deno.stat(join(outDir, f))
        ),
      );
      return existing;
    } catch {
      // A file is missing: rebuild below.
    }
  }
  const t0 = performance.now();
  try {
    const m = await buildIslands({ root, outDir });
    log("info", "web.islands_built", {
      islands: Object.keys(m.islands).length,
      ms: Math.round(performance.now() - t0),
    });
    return m;
  } catch (err) {
    log("error", "web.islands_build_failed", { error: err });
    return null;
  }
}

let ready: Promise<Manifest | null> | null = null;

/**
 * Registers the islands (server side) and makes sure their bundles exist;
 * memoised per process. The island runtime reads the result through
 * {@link currentManifest}.
 */
export function prepareIslands(): Promise<Manifest | null> {
  ready ??= (async () => {
    await loadIslands(join(ROOT, "islands"));
    current = await ensureBundles();
    return current;
  })();
  return ready;
}

let current: Manifest | null = null;

/** The manifest loaded by {@link prepareIslands}, or `null` before that (or after a failed build). */
export function currentManifest(): Manifest | null {
  return current;
}
