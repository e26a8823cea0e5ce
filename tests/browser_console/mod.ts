/**
 * The operator console's browser checks, run by tests/browser_console_test.ts
 * in one Chromium: each check gets a server (and database) of its own.
 */
import type { Browser } from "playwright-core";
import type { TestServer } from "../_helpers/browser.ts";
import { alertsCheck } from "./alerts.ts";
import { auditCheck } from "./audit.ts";
import { bulkCheck } from "./bulk.ts";
import { editCheck } from "./edit.ts";
import { exportCheck } from "./export.ts";
import { healthCheck } from "./health.ts";

/** What a check gets: the shared browser and its own server. */
export interface ConsoleCheckContext {
  browser: Browser;
  server: TestServer;
}

/** One feature's pages in Chromium, with and without JavaScript. */
export interface ConsoleCheck {
  name: string;
  /** Environment for its server (e.g. ALERT_WEBHOOK_URL); none by default. */
  env?: Record<string, string>;
  fn(ctx: ConsoleCheckContext): Promise<void>;
}

/** Every check, one line per feature. */
export const CONSOLE_CHECKS: ConsoleCheck[] = [
  alertsCheck,
  auditCheck,
  bulkCheck,
  editCheck,
  exportCheck,
  healthCheck,
];
