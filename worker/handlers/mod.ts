/**
 * The built-in handlers module: the runner imports it (or another module with
 * the same `handlers` export, see `SupervisorOptions.handlersModule`).
 * Worker-only: it pulls in pdfkit and nodemailer, so islands never import it.
 */
import type { HandlerMap } from "../types.ts";
import { emailHandler } from "./email.ts";
import { notificationHandler } from "./notification.ts";
import { reportHandler } from "./report.ts";

/** Job type name → handler, one per type of `lib/jobs/mod.ts`. */
export const handlers: HandlerMap = {
  email: emailHandler,
  report: reportHandler,
  notification: notificationHandler,
};
