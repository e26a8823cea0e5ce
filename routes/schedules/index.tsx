/**
 * `/schedules`: every recurring schedule (cron, time zone, next run in words
 * with the exact time on hover, last run and its job, enable/disable, run
 * now) and the create form. `POST` takes the form urlencoded, validates it
 * with the API's schema and answers 303 to the new schedule, or 422 with the
 * form and every field's error. Live: re-rendered when jobs change, times
 * rewritten as they age.
 */
import { define } from "@/utils.ts";
import { page } from "fresh";
import { schedules } from "@/lib/queue/mod.ts";
import { createScheduleBody } from "@/lib/schedules/schema.ts";
import { Alert, Card, Empty, PageHeader } from "@/components/ui.tsx";
import { ScheduleForm } from "@/components/ScheduleForm.tsx";
import {
  formToSchedule,
  type ScheduleErrors,
  scheduleErrors,
  scheduleToValues,
  type ScheduleValues,
} from "@/components/schedule_form.ts";
import { doneMessage, ScheduleRow } from "@/components/Schedules.tsx";
import LiveRegion from "@/islands/LiveRegion.tsx";
import { formValues } from "@/lib/http/form.ts";
import { actorOf } from "@/lib/http/actor.ts";
import type { Context } from "fresh";
import type { State } from "@/utils.ts";

async function listPage(
  ctx: Context<State>,
  form: { values: ScheduleValues; errors: ScheduleErrors },
  status = 200,
) {
  const items = await schedules.list(ctx.state.sql);
  const sp = ctx.url.searchParams;
  const job = sp.get("job");
  return page({
    items,
    now: ctx.state.now() ?? new Date(),
    done: doneMessage(sp.get("done")),
    name: sp.get("name"),
    job: job && /^[0-9a-f-]{36}$/.test(job) ? job : null,
    ...form,
  }, { status });
}

export const handler = define.handlers({
  async GET(ctx) {
    return await listPage(ctx, { values: scheduleToValues(null), errors: {} });
  },
  async POST(ctx) {
    const values = await formValues(ctx.req);
    const parsed = createScheduleBody.safeParse(formToSchedule(values));
    if (!parsed.success) {
      return await listPage(ctx, { values, errors: scheduleErrors(parsed.error) }, 422);
    }
    try {
      const s = await schedules.create(ctx.state.sql, {
        schedule: parsed.data,
        now: ctx.state.now(),
        actor: actorOf(ctx),
      });
      return ctx.redirect(`/schedules/${encodeURIComponent(s.name)}?done=created`, 303);
    } catch (err) {
      if ((err as { code?: string }).code !== "schedule_exists") throw err;
      const errors = { name: [(err as Error).message] };
      return await listPage(ctx, { values, errors }, 409);
    }
  },
});

export default define.page<typeof handler>(({ data }) => (
  <>
    <PageHeader
      title="Schedules"
      description="Recurring jobs: each tick of a cron, in its time zone, enqueues one job."
      actions={<LiveRegion mode="swap" pollMs={30_000} />}
    />
    {data.done && (
      <Alert kind="success">
        {data.done}
        {data.job && (
          <>
            {" "}
            <a class="underline" href={`/jobs/${data.job}`}>Open the job</a>
          </>
        )}
      </Alert>
    )}
    <div data-live="schedules">
      <Card class="mb-4">
        {data.items.length === 0
          ? <Empty>No schedules yet. Create one below, or declare them in schedules.json.</Empty>
          : (
            <div class="overflow-x-auto">
              <table class="w-full text-left">
                <thead class="border-b border-border text-xs text-muted-foreground">
                  <tr>
                    <th class="px-4 py-2 font-medium">Schedule</th>
                    <th class="px-4 py-2 font-medium">Cron</th>
                    <th class="px-4 py-2 font-medium">Next run</th>
                    <th class="px-4 py-2 font-medium">Last run</th>
                    <th class="px-4 py-2 font-medium">
                      <span class="sr-only">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {data.items.map((s) => <ScheduleRow key={s.name} s={s} now={data.now} />)}
                </tbody>
              </table>
            </div>
          )}
      </Card>
    </div>
    <Card title="New schedule" id="new">
      <ScheduleForm action="/schedules" values={data.values} errors={data.errors} />
    </Card>
  </>
));
