/** The `email` job type: sends one plain-text message. */
import { z } from "zod";
import { type JobType, text } from "./common.ts";

/** Payload of an email job. */
export const emailSchema = z.strictObject({
  to: z.email({ error: "to must be an email address" }).max(
    254,
    "to must be at most 254 characters",
  )
    .refine((s) => !/[\r\n]/.test(s), "to must be one address"),
  subject: text({ max: 200, label: "subject" }).refine(
    (s) => !/[\r\n]/.test(s),
    "subject must be one line",
  ),
  body: text({ max: 100_000, label: "body" }),
});
export type EmailPayload = z.infer<typeof emailSchema>;

export const email: JobType<EmailPayload> = {
  name: "email",
  label: "Email",
  description:
    "Sends a plain-text email (SMTP when SMTP_URL is set, else an .eml file in the outbox).",
  schema: emailSchema,
  fields: [
    { name: "to", label: "To", kind: "email", placeholder: "ada@example.com" },
    { name: "subject", label: "Subject", kind: "text" },
    { name: "body", label: "Body", kind: "textarea" },
  ],
  timeoutSeconds: 30,
  example: { to: "ada@example.com", subject: "Welcome", body: "Hello Ada,\nwelcome aboard." },
};
