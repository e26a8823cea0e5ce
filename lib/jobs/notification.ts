/** The `notification` job type: a message to a user over push, sms or email. */
import { z } from "zod";
import { type JobType, text } from "./common.ts";

export const CHANNELS = ["push", "sms", "email"] as const;

/** Payload of a notification job. */
export const notificationSchema = z.strictObject({
  user_id: text({ max: 128, label: "user_id" }),
  channel: z.enum(CHANNELS, { error: "channel must be push, sms or email" }),
  message: text({ max: 2000, label: "message" }),
});
export type NotificationPayload = z.infer<typeof notificationSchema>;

export const notification: JobType<NotificationPayload> = {
  name: "notification",
  label: "Notification",
  description:
    "Notifies a user: POST to NOTIFY_WEBHOOK_URL, email through the mail transport, else the outbox.",
  schema: notificationSchema,
  fields: [
    { name: "user_id", label: "User id", kind: "text", placeholder: "user-42" },
    { name: "channel", label: "Channel", kind: "select", options: CHANNELS },
    { name: "message", label: "Message", kind: "textarea" },
  ],
  timeoutSeconds: 30,
  example: { user_id: "user-42", channel: "push", message: "Your report is ready." },
};
