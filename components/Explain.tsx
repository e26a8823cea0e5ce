/**
 * The "why isn't it running?" panel of a pending job's page: the reason of
 * `GET /api/jobs/:id/explain` in the viewer's words (times as "in 3 h" with
 * the exact instant on hover), and its code.
 */
import type { Explanation } from "@/lib/queue/explain.ts";
import { exactTime, relativeTime } from "./format.ts";

const TITLES: Record<string, string> = {
  expired: "Expired",
  retry_backoff: "Waiting to retry",
  scheduled: "Scheduled",
  queue_paused: "Queue paused",
  queue_at_limit: "Queue at its limit",
  no_worker: "No worker",
  behind: "Waiting its turn",
  ready: "Ready",
};

/** The sentence for the page: the API's, with its instant put in relative words. */
export function explainSentence(e: Explanation, now: Date): string {
  if (!e.until) return e.message;
  const when = `${relativeTime(e.until, now)} (${exactTime(e.until)})`;
  if (e.code === "scheduled") return `It is scheduled to run ${when}.`;
  const d = e.details as { attempts?: number; max_attempts?: number };
  return `Attempt ${d.attempts} of ${d.max_attempts} failed; it retries ${when}.`;
}

/** The panel; nothing for a job that is not pending. */
export function ExplainPanel({ explanation, now }: { explanation: Explanation | null; now: Date }) {
  if (!explanation || !(explanation.code in TITLES)) return null;
  const warn = ["queue_paused", "no_worker", "expired", "queue_at_limit"].includes(
    explanation.code,
  );
  return (
    <section
      aria-label="Why isn't it running?"
      data-explain={explanation.code}
      class={`mb-3 rounded-lg border px-4 py-3 text-sm ${
        warn
          ? "border-amber-300 bg-amber-50 text-amber-950 dark:border-amber-800 dark:bg-amber-900/30 dark:text-amber-100"
          : "border-border bg-muted text-foreground"
      }`}
    >
      <div class="text-xs font-medium text-muted-foreground">
        Why isn't it running? · <span class="font-mono">{explanation.code}</span>
      </div>
      <p class="mt-1">
        <strong class="font-semibold">{TITLES[explanation.code]}.</strong>{" "}
        {explainSentence(explanation, now)}
      </p>
    </section>
  );
}
