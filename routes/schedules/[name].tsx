/**
 * `/schedules/[name]`: one schedule — next and last run, its last job, the
 * actions (enable/disable, run now, delete) and the edit form (read-only for
 * a schedule from the schedules file). `POST` takes `action` = `save`,
 * `enable`, `disable`, `run` or `delete` (urlencoded) and answers 303, or 422
 * with the form and every field's error; a refused change changes nothing.
 */
import { define } from "@/utils.ts";
import { page } from "fresh";
import { ZodError } from "zod";
import { runNow, schedules } from "@/lib/queue/mod.ts";
import { patchScheduleBody, SCHEDULE_NAME_RE } from "@/lib/schedules/schema.ts";
import type { Schedule } from "@/lib/queue/schedules.ts";
import { ConflictError } from "@/lib/queue/types.ts";
import { HttpError } from "@/lib/http/errors.ts";
import { Alert, buttonClass, Card, LINK, RelativeTime } from "@/components/ui.tsx";
import { exactTime } from "@/components/format.ts";
import { ScheduleForm } from "@/components/ScheduleForm.tsx";
import {
  formToSchedule,
  type ScheduleErrors,
  scheduleErrors,
  scheduleToValues,
  type ScheduleValues,
} from "@/components/schedule_form.ts";
import { doneMessage, ScheduleActions } from "@/components/Schedules.tsx";
import LiveRegion from "@/islands/LiveRegion.tsx";
import { formValues } from "@/lib/http/form.ts";
import { actorOf } from "@/lib/http/actor.ts";
import type { Context } from "fresh";
import type { State } from "@/utils.ts";

async function load(ctx: Context<State>): Promise<Schedule> {
  const name = ctx.params.name ?? "";
  const s = SCHEDULE_NAME_RE.test(name) ? await schedules.get(ctx.state.sql, { name }) : null;
  if (!s) throw new HttpError(404, "schedule_not_found", `there is no schedule ${name}`);
  return s;
}

function schedulePage(
  ctx: Context<State>,
  s: Schedule,
  form: { values: ScheduleValues; errors: ScheduleErrors },
  status = 200,
) {
  return page({
    s,
    now: ctx.state.now() ?? new Date(),
    done: doneMessage(ctx.url.searchParams.get("done")),
    title: `schedule ${s.name}`,
    ...form,
  }, { status });
}

export const handler = define.handlers({
  async GET(ctx) {
    const s = await load(ctx);
    return schedulePage(ctx, s, { values: scheduleToValues(s), errors: {} });
  },
  async POST(ctx) {
    const s = await load(ctx);
    const { sql } = ctx.state;
    const now = ctx.state.now();
    const actor = actorOf(ctx);
    const values = await formValues(ctx.req);
    const self = `/schedules/${encodeURIComponent(s.name)}`;
    const back = (done: string, extra = "") =>
      ctx.redirect(`${values.back === "list" ? "/schedules" : self}?done=${done}${extra}`, 303);
    switch (values.action) {
      case "enable":
      case "disable":
        await schedules.update(sql, {
          name: s.name,
          patch: { enabled: values.action === "enable" },
          now,
          actor,
        });
        return back(`${values.action}d`);
      case "run": {
        const job = await runNow(sql, { name: s.name, now, actor });
        ctx.state.changed.poke();
        return back("run", `&job=${job.id}`);
      }
      case "delete":
        await schedules.remove(sql, { name: s.name, now, actor });
        return ctx.redirect(`/schedules?done=deleted`, 303);
      case "save": {
        const parsed = patchScheduleBody.safeParse(formToSchedule(values, { edit: true }));
        const fail = (errors: ScheduleErrors, status: number) =>
          schedulePage(ctx, s, { values: { ...values, name: s.name }, errors }, status);
        if (!parsed.success) return fail(scheduleErrors(parsed.error), 422);
        try {
          await schedules.update(sql, { name: s.name, patch: parsed.data, now, actor });
        } catch (err) {
          if (err instanceof ZodError) return fail(scheduleErrors(err), 422);
          if (err instanceof ConflictError) return fail({ "": [err.message] }, 409);
          throw err;
        }
        return back("saved");
      }
    }
    throw new HttpError(400, "bad_action", "choose save, enable, disable, run or delete");
  },
});

export default define.page<typeof handler>(({ data }) => {
  const { s, now } = data;
  const fromFile = s.source === "file";
  return (
    <>
      <nav aria-label="Breadcrumb" class="mb-2 text-sm text-muted-foreground">
        <a href="/schedules" class={LINK}>Schedules</a> <span aria-hidden="true">/</span>{" "}
        <span>{s.name}</span>
      </nav>
      {data.done && <Alert kind="success">{data.done}</Alert>}
      <div class="mb-4 flex flex-wrap items-start justify-between gap-3">
        <div class="min-w-0">
          <div class="flex items-center gap-2">
            <h1 class="text-xl font-semibold tracking-tight">{s.name}</h1>
            <LiveRegion mode="swap" pollMs={30_000} />
          </div>
          <p class="mt-0.5 text-sm text-muted-foreground">
            <code class="font-mono">{s.cron}</code> in {s.timezone} · {s.type} job
            {fromFile && " · declared in the schedules file"}
          </p>
        </div>
        <div class="flex flex-wrap items-center gap-1.5">
          <ScheduleActions s={s} back="page" />
          {!fromFile && (
            <form method="post" action={`/schedules/${encodeURIComponent(s.name)}`}>
              <button type="submit" name="action" value="delete" class={buttonClass("destructive")}>
                Delete
              </button>
            </form>
          )}
        </div>
      </div>
      <div data-live="schedule">
        <Card class="mb-3">
          <dl class="grid grid-cols-2 gap-x-4 gap-y-3 px-4 py-3 sm:grid-cols-4">
            <div>
              <dt class="text-xs text-muted-foreground">Next run</dt>
              <dd class="mt-0.5 text-sm" data-next-run>
                {s.enabled && s.next_run_at
                  ? (
                    <>
                      <RelativeTime date={s.next_run_at} now={now} />
                      <div class="text-xs text-muted-foreground">{exactTime(s.next_run_at)}</div>
                    </>
                  )
                  : "disabled"}
              </dd>
            </div>
            <div>
              <dt class="text-xs text-muted-foreground">Last run</dt>
              <dd class="mt-0.5 text-sm">
                {s.last_run_at ? <RelativeTime date={s.last_run_at} now={now} /> : "—"}
              </dd>
            </div>
            <div>
              <dt class="text-xs text-muted-foreground">Last job</dt>
              <dd class="mt-0.5 text-sm">
                {s.last_job_id
                  ? (
                    <a href={`/jobs/${s.last_job_id}`} class={`${LINK} font-mono text-xs`}>
                      {s.last_job_id.slice(0, 8)}
                    </a>
                  )
                  : "—"}
              </dd>
            </div>
            <div>
              <dt class="text-xs text-muted-foreground">Queue · priority</dt>
              <dd class="mt-0.5 text-sm">{s.queue ?? "default"} · {s.priority}</dd>
            </div>
          </dl>
        </Card>
      </div>
      <Card title={fromFile ? "Definition (from the schedules file)" : "Edit"}>
        {fromFile && (
          <p class="px-4 pt-3 text-sm text-muted-foreground">
            This schedule is declared in the schedules file, which wins at every worker start:
            change it there. Here it can be enabled, disabled and run now.
          </p>
        )}
        <ScheduleForm
          action={`/schedules/${encodeURIComponent(s.name)}`}
          values={data.values}
          errors={data.errors}
          edit
          readOnly={fromFile}
        />
      </Card>
    </>
  );
});
