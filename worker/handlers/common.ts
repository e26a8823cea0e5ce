/** Helpers shared by the built-in handlers. */
import type { z } from "zod";
import { PermanentError } from "../../lib/jobs/common.ts";

/**
 * Validates a payload with the type's schema. A payload that does not fit can
 * never succeed, so it throws {@link PermanentError} listing every issue.
 */
export function parsePayload<T>(schema: z.ZodType<T>, payload: unknown): T {
  const parsed = schema.safeParse(payload);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) =>
    `${i.path.map(String).join(".") || "payload"}: ${i.message}`
  );
  throw new PermanentError(`invalid payload: ${issues.join("; ")}`);
}
