/** The `email` handler: one plain-text message through the mail transport. */
import { email, emailSchema } from "../../lib/jobs/email.ts";
import type { Handler } from "../types.ts";
import { parsePayload } from "./common.ts";

/** Sends the message; result: message id, recipient, transport (and the .eml path for the outbox). */
export const emailHandler: Handler = {
  timeoutSeconds: email.timeoutSeconds,
  async run(payload, ctx) {
    const p = parsePayload(emailSchema, payload);
    const sent = await ctx.sendMail({ to: p.to, subject: p.subject, text: p.body });
    return {
      message_id: sent.message_id,
      to: p.to,
      transport: sent.transport,
      ...(sent.path ? { path: sent.path } : {}),
    };
  },
};
