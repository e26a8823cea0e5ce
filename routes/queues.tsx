/**
 * `/queues`: every named queue with its jobs per status, its concurrency
 * limit and whether it is paused. Each row has a pause/resume button and a
 * small form for the limit; both post to this page (same-origin checked by
 * the page middleware like every form) and answer 303 back here, or 422
 * with the page and the field's error. Live through LiveRegion: the table
 * is re-rendered when jobs change (`/api/events`) and every few seconds.
 */
import { define } from "@/utils.ts";
import { page } from "fresh";
import { queues } from "@/lib/queue/mod.ts";
import { queuePatchBody } from "@/lib/api_schemas.ts";
import { fieldIssues } from "@/lib/jobs/mod.ts";
import {
  Alert,
  buttonClass,
  Card,
  Empty,
  INPUT,
  INPUT_INVALID,
  LINK,
  PageHeader,
} from "@/components/ui.tsx";
import { count } from "@/components/format.ts";
import { JOB_STATUSES, QUEUE_NAME_RE } from "@/lib/job_constants.ts";
import LiveRegion from "@/islands/LiveRegion.tsx";
import { actorOf } from "@/lib/http/actor.ts";

interface FormError {
  name: string;
  value: string;
  message: string;
}

const DONE: Record<string, string> = {
  paused: "Queue paused: its jobs are not claimed until it is resumed.",
  resumed: "Queue resumed.",
  limited: "Concurrency limit saved.",
  unlimited: "Concurrency limit removed.",
};

export const handler = define.handlers({
  async GET(ctx) {
    const done = ctx.url.searchParams.get("done") ?? "";
    const name = ctx.url.searchParams.get("queue") ?? "";
    return page({
      items: await queues.list(ctx.state.sql),
      done: Object.hasOwn(DONE, done) && QUEUE_NAME_RE.test(name) ? { done, name } : null,
      error: null as FormError | null,
    });
  },
  async POST(ctx) {
    const form = await ctx.req.formData();
    const name = String(form.get("queue") ?? "");
    const action = String(form.get("action") ?? "");
    if (!QUEUE_NAME_RE.test(name)) throw queues.queueNotFound(name.slice(0, 64));
    let body: unknown;
    let done: string;
    const raw = String(form.get("concurrency") ?? "").trim();
    if (action === "pause" || action === "resume") {
      body = { paused: action === "pause" };
      done = action === "pause" ? "paused" : "resumed";
    } else if (action === "limit") {
      // An empty field clears the limit; anything else must be a whole number ≥ 1.
      body = { concurrency: raw === "" ? null : /^-?\d{1,9}$/.test(raw) ? Number(raw) : raw };
      done = raw === "" ? "unlimited" : "limited";
    } else {
      return new Response("unknown action", { status: 400 });
    }
    const parsed = queuePatchBody.safeParse(body);
    if (!parsed.success) {
      const message = fieldIssues(parsed.error).map((i) => i.message).join("; ");
      return page({
        items: await queues.list(ctx.state.sql),
        done: null,
        error: { name, value: raw, message },
      }, { status: 422 });
    }
    await queues.update(ctx.state.sql, {
      name,
      change: parsed.data,
      now: ctx.state.now(),
      actor: actorOf(ctx),
    });
    ctx.state.newJobs.poke();
    ctx.state.changed.poke();
    return ctx.redirect(`/queues?done=${done}&queue=${encodeURIComponent(name)}`, 303);
  },
});

export default define.page<typeof handler>(({ data }) => {
  const running = data.items.reduce((n, q) => n + q.counts.processing, 0);
  const paused = data.items.filter((q) => q.paused).length;
  return (
    <>
      <PageHeader
        title="Queues"
        description={`${data.items.length} queue${data.items.length === 1 ? "" : "s"}, ${
          count(running)
        } jobs running${paused ? `, ${paused} paused` : ""}`}
        actions={<LiveRegion mode="swap" pollMs={5000} />}
      />
      {data.done && (
        <Alert kind="success">
          {data.done.name}: {DONE[data.done.done]}
        </Alert>
      )}
      {data.error && (
        <Alert kind="error">
          {data.error.name}: {data.error.message}
        </Alert>
      )}
      <Card>
        {data.items.length === 0
          ? <Empty>No queue yet.</Empty>
          : (
            <div class="overflow-x-auto" data-live="queues">
              <table class="w-full text-sm" aria-label="Queues">
                <thead class="border-b border-border text-left text-xs text-muted-foreground">
                  <tr>
                    <th scope="col" class="px-4 py-2 font-medium">Queue</th>
                    {JOB_STATUSES.map((s) => (
                      <th scope="col" class="px-3 py-2 text-right font-medium">{s}</th>
                    ))}
                    <th scope="col" class="px-3 py-2 font-medium">Concurrency</th>
                    <th scope="col" class="px-3 py-2 font-medium">State</th>
                  </tr>
                </thead>
                <tbody>
                  {data.items.map((q) => {
                    const err = data.error?.name === q.name ? data.error : null;
                    return (
                      <tr class="border-b border-border last:border-0" data-queue={q.name}>
                        <th scope="row" class="px-4 py-2 text-left font-mono font-medium">
                          <a class={LINK} href={`/jobs?queue=${encodeURIComponent(q.name)}`}>
                            {q.name}
                          </a>
                        </th>
                        {JOB_STATUSES.map((s) => (
                          <td class="px-3 py-2 text-right tabular-nums" data-count={s}>
                            {count(q.counts[s])}
                          </td>
                        ))}
                        <td class="px-3 py-2">
                          <form method="post" action="/queues" class="flex items-center gap-1.5">
                            <input type="hidden" name="queue" value={q.name} />
                            <input type="hidden" name="action" value="limit" />
                            <input
                              name="concurrency"
                              inputMode="numeric"
                              aria-label={`Concurrency limit of ${q.name} (empty: unlimited)`}
                              placeholder="unlimited"
                              value={err ? err.value : q.concurrency ?? ""}
                              aria-invalid={err ? "true" : undefined}
                              class={`${INPUT} !w-24 ${err ? INPUT_INVALID : ""}`}
                            />
                            <button type="submit" class={buttonClass("outline")}>Save</button>
                          </form>
                        </td>
                        <td class="px-3 py-2">
                          <form method="post" action="/queues" class="flex items-center gap-2">
                            <input type="hidden" name="queue" value={q.name} />
                            <span
                              class={`text-xs ${q.paused ? "text-amber-600" : "text-emerald-600"}`}
                              data-state
                            >
                              {q.paused ? "paused" : "active"}
                            </span>
                            <button
                              type="submit"
                              name="action"
                              value={q.paused ? "resume" : "pause"}
                              class={buttonClass(q.paused ? "primary" : "outline")}
                            >
                              {q.paused ? "Resume" : "Pause"}
                            </button>
                          </form>
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          )}
      </Card>
    </>
  );
});
