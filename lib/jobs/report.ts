/** The `report` job type: a CSV or PDF built from the job data of a date range. */
import { z } from "zod";
import type { JobType } from "./common.ts";

export const REPORT_TYPES = ["job_summary", "failures", "throughput"] as const;
export const REPORT_FORMATS = ["pdf", "csv"] as const;

const isoDate = z.string({ error: "expected a date (YYYY-MM-DD)" })
  .regex(/^\d{4}-\d{2}-\d{2}$/, "expected a date (YYYY-MM-DD)")
  .refine(
    (s) =>
      !Number.isNaN(Date.parse(s + "T00:00:00Z")) &&
      new Date(s + "T00:00:00Z").toISOString().startsWith(s),
    "not a real calendar date",
  )
  .describe("a real calendar date, YYYY-MM-DD (2026-02-30 is a 422)");

/** Payload of a report job. */
export const reportSchema = z.strictObject({
  report_type: z.enum(REPORT_TYPES, {
    error: `report_type must be one of ${REPORT_TYPES.join(", ")}`,
  }),
  format: z.enum(REPORT_FORMATS, { error: "format must be pdf or csv" }),
  date_range: z.strictObject({ from: isoDate, to: isoDate })
    .refine((r) => r.from <= r.to, { message: "from must be on or before to", path: ["to"] })
    .describe("the days covered, inclusive; from must be on or before to (else 422)"),
});
export type ReportPayload = z.infer<typeof reportSchema>;

export const report: JobType<ReportPayload> = {
  name: "report",
  label: "Report",
  description:
    "Builds a CSV or PDF report of the jobs in a date range; download it from the job's page.",
  schema: reportSchema,
  fields: [
    { name: "report_type", label: "Report", kind: "select", options: REPORT_TYPES },
    { name: "format", label: "Format", kind: "select", options: REPORT_FORMATS },
    { name: "date_range.from", label: "From", kind: "date" },
    { name: "date_range.to", label: "To", kind: "date" },
  ],
  timeoutSeconds: 120,
  queue: "reports",
  example: {
    report_type: "job_summary",
    format: "csv",
    date_range: { from: "2026-11-01", to: "2026-11-30" },
  },
};
