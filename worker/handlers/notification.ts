/**
 * The `notification` handler: push and sms go to `NOTIFY_WEBHOOK_URL` (or the
 * outbox when it is unset); the email channel goes through the mail transport.
 */
import { notification, notificationSchema } from "../../lib/jobs/notification.ts";
import type { Handler } from "../types.ts";
import { parsePayload } from "./common.ts";

/** Where an email-channel notification goes: `user_id` when it is an address, else `<user_id>@localhost`. */
export function notificationAddress(userId: string): string {
  return /^[^\s@<>]+@[^\s@<>]+$/.test(userId)
    ? userId
    : `${userId.replace(/[^A-Za-z0-9._+-]/g, "_")}@localhost`;
}

/** Delivers the notification; result: where it went (`delivered_via`, transport details). */
export const notificationHandler: Handler = {
  timeoutSeconds: notification.timeoutSeconds,
  async run(payload, ctx) {
    const p = parsePayload(notificationSchema, payload);
    if (p.channel === "email") {
      const to = notificationAddress(p.user_id);
      const sent = await ctx.sendMail({
        to,
        subject: `Notification for ${p.user_id}`.replace(/[\r\n]+/g, " ").slice(0, 200),
        text: p.message,
      });
      return {
        delivered_via: "email",
        to,
        transport: sent.transport,
        message_id: sent.message_id,
        ...(sent.path ? { path: sent.path } : {}),
      };
    }
    const out = await ctx.postWebhook({
      job_id: ctx.job.id,
      user_id: p.user_id,
      channel: p.channel,
      message: p.message,
    });
    return {
      delivered_via: out.transport,
      channel: p.channel,
      ...(out.status !== undefined ? { status: out.status } : {}),
      ...(out.path ? { path: out.path } : {}),
    };
  },
};
