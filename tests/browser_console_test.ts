/**
 * The operator console's pages in Chromium: every check in
 * tests/browser_console/mod.ts, in one browser, each on a server of its own.
 * `CONSOLE_ONLY=<name>` runs only the checks whose name contains it.
 */
import { launchBrowser, startServer } from "./_helpers/browser.ts";
import { CONSOLE_CHECKS } from "./browser_console/mod.ts";

const only = Deno.env.get("CONSOLE_ONLY");

Deno.test({
  name: "browser: the operator console's pages",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const browser = await launchBrowser();
    try {
      for (const check of CONSOLE_CHECKS) {
        if (only && !check.name.includes(only)) continue;
        await t.step(check.name, async () => {
          const server = await startServer(check.env ?? {});
          try {
            await check.fn({ browser, server });
          } finally {
            await server.close();
          }
        });
      }
    } finally {
      await browser.close();
    }
  },
});
