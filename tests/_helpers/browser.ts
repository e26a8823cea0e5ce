/**
 * Browser tests: a real HTTP server on port 0 over a test database, and
 * Debian's Chromium driven by playwright-core. Pages collect console errors
 * and failed requests so a test can insist on none; screenshots go to
 * `.data/screenshots/`.
 */
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { type App, createApp } from "../../lib/app.ts";
import { parseConfig } from "../../lib/config.ts";
import { createTestDb, type TestDb } from "./db.ts";

/** Where screenshots are written (git-ignored). */
export const SCREENSHOT_DIR = ".data/screenshots";

/** A running dashboard server. */
export interface TestServer {
  url: string;
  db: TestDb;
  app: App;
  close(): Promise<void>;
}

/** Starts the app on 127.0.0.1:0 over a fresh test database (a real socket: Chromium must reach it). */
export async function startServer(env: Record<string, string> = {}): Promise<TestServer> {
  const db = await createTestDb({ max: 20 });
  const app = await createApp({ sql: db.sql, config: parseConfig(env) });
  const ac = new AbortController();
  let resolveAddr: (a: Deno.NetAddr) => void;
  const addr = new Promise<Deno.NetAddr>((r) => (resolveAddr = r));
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: (a) => resolveAddr(a) },
    app.fetch,
  );
  const { port } = await addr;
  return {
    url: `http://127.0.0.1:${port}`,
    db,
    app,
    async close() {
      ac.abort();
      await server.finished;
      await app.close();
      await db.drop();
    },
  };
}

/** Launches headless Chromium. */
export async function launchBrowser(): Promise<Browser> {
  return await chromium.launch({
    executablePath: Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
}

/** A page whose console errors, page errors and failed requests are collected in `problems`. */
export async function openPage(
  browser: Browser,
  opts: { colorScheme?: "light" | "dark"; width?: number; height?: number; javaScript?: boolean } =
    {},
): Promise<{ page: Page; context: BrowserContext; problems: string[] }> {
  const context = await browser.newContext({
    viewport: { width: opts.width ?? 1280, height: opts.height ?? 860 },
    colorScheme: opts.colorScheme ?? "light",
    javaScriptEnabled: opts.javaScript ?? true,
  });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("console", (m) => {
    // A 422 answer to an invalid form post is intended, not a fault of the page.
    if (m.type() === "error" && !/status of 422/.test(m.text())) {
      problems.push(`console: ${m.text()}`);
    }
  });
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  page.on("requestfailed", (r) => {
    const failure = r.failure()?.errorText ?? "";
    // Streams cut by navigation are not failures of the page.
    if (!r.url().endsWith("/api/events") && !failure.includes("ERR_ABORTED")) {
      problems.push(`requestfailed: ${r.url()} ${failure}`);
    }
  });
  page.on("response", (r) => {
    if (r.status() >= 500) problems.push(`http ${r.status()}: ${r.url()}`);
  });
  return { page, context, problems };
}

/** Saves a full-page screenshot as `.data/screenshots/<name>.png`. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await Deno.mkdir(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: `${SCREENSHOT_DIR}/${name}.png`, fullPage: true });
}

/** Waits until every island on the page has hydrated (`data-ready` on each island's root). */
export async function islandsReady(page: Page): Promise<void> {
  await page.waitForFunction(() =>
    [...document.querySelectorAll("[data-island]")].every((el) =>
      el.firstElementChild?.hasAttribute("data-ready")
    )
  );
}
