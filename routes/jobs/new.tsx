/**
 * `/jobs/new`: the create form. `POST` takes
 * `application/x-www-form-urlencoded` (or multipart) fields `type`,
 * `priority`, `scheduled_for`, `unique_key`, `timeout_seconds`, `expires_at`
 * and the payload's fields by name (nested ones dotted, `date_range.from`),
 * validates them with the API's schema and answers 303 to the new job (or to
 * the pending or processing job that holds the unique key), or 422 with the
 * form and every field's error.
 * `?clone=<id>` starts from an existing job; `?type=` picks the type.
 */
import { formValues } from "@/lib/http/form.ts";
import { actorOf } from "@/lib/http/actor.ts";
import { define } from "@/utils.ts";
import { UUID_RE } from "@/lib/job_constants.ts";
import { page } from "fresh";
import { jobs } from "@/lib/queue/mod.ts";
import { JOB_TYPES } from "@/lib/jobs/mod.ts";
import {
  type FormErrors,
  type FormValues,
  payloadToValues,
  validateForm,
} from "@/components/job_form.ts";
import { Alert, Card, PageHeader } from "@/components/ui.tsx";
import JobForm from "@/islands/JobForm.tsx";

function formPage(
  type: string,
  values: FormValues,
  errors: FormErrors,
  status = 200,
  cloneOf?: string,
) {
  return page({ type: JOB_TYPES[type] ? type : "email", values, errors, cloneOf }, { status });
}

export const handler = define.handlers({
  async GET(ctx) {
    const sp = ctx.url.searchParams;
    const clone = sp.get("clone");
    if (clone && UUID_RE.test(clone)) {
      const job = await jobs.get(ctx.state.sql, { id: clone });
      if (job) {
        return formPage(
          job.type,
          {
            ...payloadToValues(job.type, job.payload),
            priority: String(job.priority),
            queue: job.queue,
          },
          {},
          200,
          job.id,
        );
      }
    }
    const values: FormValues = {};
    for (const [k, v] of sp) if (k !== "type" && k !== "clone") values[k] = v;
    return formPage(sp.get("type") ?? "email", values, {});
  },

  async POST(ctx) {
    const values: FormValues = await formValues(ctx.req);
    const r = validateForm(values);
    if (!r.ok) return formPage(values.type ?? "email", values, r.errors, 422);
    const { job, existed } = await jobs.enqueueFromForm(ctx.state.sql, {
      job: {
        type: r.job.type,
        payload: r.job.payload,
        priority: r.job.priority,
        max_attempts: r.job.max_attempts,
        scheduled_for: r.job.scheduled_for ?? null,
        queue: r.job.queue,
        unique_key: r.job.unique_key ?? null,
        timeout_seconds: r.job.timeout_seconds ?? null,
        expires_at: r.job.expires_at ?? null,
      },
      actor: actorOf(ctx),
      now: ctx.state.now(),
    });
    if (existed) return ctx.redirect(`/jobs/${job.id}?done=existed`, 303);
    ctx.state.newJobs.poke();
    ctx.state.changed.poke();
    return ctx.redirect(`/jobs/${job.id}?done=created`, 303);
  },
});

export default define.page<typeof handler>(({ data }) => (
  <div class="mx-auto max-w-2xl">
    <PageHeader
      title="New job"
      description={data.cloneOf
        ? `A copy of job ${data.cloneOf.slice(0, 8)}; change what you need.`
        : "Queue a job by hand."}
    />
    {Object.keys(data.errors).length > 0 && (
      <Alert kind="error">The job was not created: fix the fields marked below.</Alert>
    )}
    <Card>
      <div class="p-4">
        <JobForm type={data.type} values={data.values} errors={data.errors} />
      </div>
    </Card>
  </div>
));
