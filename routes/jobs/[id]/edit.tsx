/**
 * `/jobs/:id/edit`: edit and retry a failed or cancelled job. `GET` renders
 * the create form prefilled with the job's payload, priority and queue, its
 * type fixed. `POST` (`application/x-www-form-urlencoded` or multipart: the
 * payload's fields by name, nested ones dotted, `priority`, `queue`; other
 * fields are ignored) validates them as the create form does and re-queues
 * the SAME job with the new values (`jobs.retry` with an edit: the previous
 * values stay in its timeline), then answers 303 to the job's page; 422
 * with the form and every field's error; 409 with the form and the reason
 * when the job can no longer be retried (or its unique key is held).
 */
import { formValues } from "@/lib/http/form.ts";
import { define } from "@/utils.ts";
import { UUID_RE } from "@/lib/job_constants.ts";
import { page } from "fresh";
import { HttpError } from "@/lib/http/errors.ts";
import { actorOf } from "@/lib/http/actor.ts";
import { ConflictError, type Job, jobs } from "@/lib/queue/mod.ts";
import { defaultQueueOf, JOB_TYPES } from "@/lib/jobs/mod.ts";
import {
  type FormErrors,
  type FormValues,
  payloadToValues,
  validateForm,
} from "@/components/job_form.ts";
import { Alert, Card, LINK, PageHeader } from "@/components/ui.tsx";
import JobForm from "@/islands/JobForm.tsx";

async function load(sql: Parameters<typeof jobs.get>[0], id: string): Promise<Job> {
  const job = UUID_RE.test(id) ? await jobs.get(sql, { id }) : null;
  if (!job) throw new HttpError(404, "job_not_found", `there is no job ${id}`);
  return job;
}

const retryable = (job: Job) => job.status === "failed" || job.status === "cancelled";

function formPage(job: Job, values: FormValues, errors: FormErrors, status = 200) {
  return page({
    job: { id: job.id, type: job.type, status: job.status },
    values,
    errors,
    title: `Edit and retry ${job.type} ${job.id.slice(0, 8)}`,
  }, { status });
}

/** The fields an edit takes from a form for a job of `type`: its payload's, priority, queue. */
function editable(type: string, values: FormValues): FormValues {
  const names = [...(JOB_TYPES[type]?.fields ?? []).map((f) => f.name), "priority", "queue"];
  return Object.fromEntries(names.filter((n) => n in values).map((n) => [n, values[n]]));
}

export const handler = define.handlers({
  async GET(ctx) {
    const job = await load(ctx.state.sql, ctx.params.id);
    if (!retryable(job)) {
      throw new HttpError(
        409,
        "job_not_retryable",
        `only a failed or cancelled job can be edited and retried; this one is ${job.status}`,
      );
    }
    return formPage(job, {
      ...payloadToValues(job.type, job.payload),
      priority: String(job.priority),
      queue: job.queue,
    }, {});
  },

  async POST(ctx) {
    const { sql, now } = ctx.state;
    const job = await load(sql, ctx.params.id);
    const values = editable(job.type, await formValues(ctx.req));
    const r = validateForm({ ...values, type: job.type });
    if (!r.ok) return formPage(job, values, r.errors, 422);
    let after: Job;
    try {
      after = await jobs.retry(sql, {
        id: job.id,
        now: now(),
        actor: actorOf(ctx),
        edit: {
          payload: r.job.payload as Record<string, unknown>,
          priority: r.job.priority,
          queue: r.job.queue ?? defaultQueueOf(job.type),
        },
      });
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      return formPage(job, values, { "": `Not retried: ${err.message}.` }, 409);
    }
    ctx.state.newJobs.poke();
    ctx.state.changed.poke();
    // Both rows come from the database, so equal JSON values are spelled alike.
    const edited = JSON.stringify([job.payload, job.priority, job.queue]) !==
      JSON.stringify([after.payload, after.priority, after.queue]);
    return ctx.redirect(`/jobs/${job.id}?done=${edited ? "edited" : "retried"}`, 303);
  },
});

export default define.page<typeof handler>(({ data }) => {
  const { job } = data;
  const short = job.id.slice(0, 8);
  const errors = Object.keys(data.errors).filter((k) => k !== "");
  return (
    <div class="mx-auto max-w-2xl">
      <nav aria-label="Breadcrumb" class="mb-2 text-sm text-muted-foreground">
        <a href="/jobs" class={LINK}>Jobs</a> <span aria-hidden="true">/</span>{" "}
        <a href={`/jobs/${job.id}`} class={`${LINK} font-mono`}>{short}</a>{" "}
        <span aria-hidden="true">/</span> Edit
      </nav>
      <PageHeader
        title="Edit and retry"
        description={`Job ${short} ${
          job.status === "failed" ? "failed" : "was cancelled"
        }. Change what needs changing: the same job goes back to pending with a fresh set of attempts, and its timeline keeps the values it had.`}
      />
      {errors.length > 0 && (
        <Alert kind="error">The job was not retried: fix the fields marked below.</Alert>
      )}
      <Card>
        <div class="p-4">
          <JobForm type={job.type} values={data.values} errors={data.errors} editOf={job.id} />
        </div>
      </Card>
    </div>
  );
});
