/**
 * `/audit`: the audit log — who did which operator action, when, from
 * where, on which jobs — newest first, a page at a time. The filters (action,
 * actor, job) are a GET form, so they live in the URL and work without
 * JavaScript; a bad filter value is a 422 with the page and its error.
 */
import { define } from "@/utils.ts";
import { page } from "fresh";
import { audit } from "@/lib/queue/mod.ts";
import { AUDIT_ACTIONS } from "@/lib/queue/audit.ts";
import { auditQuery } from "@/lib/audit_schema.ts";
import { fieldIssues } from "@/lib/jobs/mod.ts";
import {
  Alert,
  buttonClass,
  Card,
  Empty,
  INPUT,
  LABEL,
  LINK,
  PageHeader,
} from "@/components/ui.tsx";
import { AuditTable } from "@/components/Audit.tsx";
import { Pagination } from "@/components/Pagination.tsx";
import LiveRegion from "@/islands/LiveRegion.tsx";

/** Entries a page. */
const PAGE_SIZE = 50;

interface Filters {
  action: string;
  actor: string;
  job: string;
}

/** The URL of page `page` of the log with `f`. */
function auditHref(f: Filters, page = 1): string {
  const sp = new URLSearchParams();
  for (const [k, v] of Object.entries(f)) if (v) sp.set(k, v);
  if (page > 1) sp.set("page", String(page));
  const q = sp.toString();
  return q ? `/audit?${q}` : "/audit";
}

export const handler = define.handlers({
  async GET(ctx) {
    const sp = ctx.url.searchParams;
    const f: Filters = {
      action: (sp.get("action") ?? "").trim(),
      actor: (sp.get("actor") ?? "").trim(),
      job: (sp.get("job") ?? "").trim().toLowerCase(),
    };
    const n = Number(sp.get("page") ?? "1");
    const pageNo = Number.isInteger(n) && n >= 1 && n <= 1_000_000 ? n : 1;
    const parsed = auditQuery.safeParse({
      action: f.action ? [f.action] : undefined,
      actor: f.actor || undefined,
      job: f.job || undefined,
    });
    const now = ctx.state.now() ?? new Date();
    if (!parsed.success) {
      const error = fieldIssues(parsed.error).map((i) => i.message).join("; ");
      return page({ f, error, items: [], total: 0, page: 1, now }, { status: 422 });
    }
    const r = await audit.list(ctx.state.sql, {
      action: parsed.data.action,
      actor: parsed.data.actor,
      job: parsed.data.job,
      limit: PAGE_SIZE,
      offset: (pageNo - 1) * PAGE_SIZE,
    });
    return page({ f, error: null, items: r.items, total: r.total, page: pageNo, now });
  },
});

export default define.page<typeof handler>(({ data }) => {
  const { f } = data;
  const filtered = Boolean(f.action || f.actor || f.job);
  return (
    <>
      <PageHeader
        title="Audit log"
        description="Every operator action: who, when, from where, on which jobs. Jobs created through the API are not listed."
        actions={<LiveRegion mode="swap" pollMs={30_000} />}
      />
      {data.error && <Alert kind="error">{data.error}</Alert>}
      <form
        method="get"
        action="/audit"
        class="mb-4 flex flex-wrap items-end gap-3"
        aria-label="Filter the audit log"
      >
        <div>
          <label class={LABEL} for="a-action">Action</label>
          <select id="a-action" name="action" class={`${INPUT} !w-48`}>
            <option value="">any action</option>
            {AUDIT_ACTIONS.map((a) => (
              <option key={a} value={a} selected={f.action === a}>{a}</option>
            ))}
          </select>
        </div>
        <div>
          <label class={LABEL} for="a-actor">Who</label>
          <input
            id="a-actor"
            name="actor"
            value={f.actor}
            placeholder="token name or user"
            class={`${INPUT} !w-44`}
          />
        </div>
        <div>
          <label class={LABEL} for="a-job">Job id</label>
          <input
            id="a-job"
            name="job"
            value={f.job}
            placeholder="uuid"
            class={`${INPUT} !w-80 max-w-full font-mono`}
          />
        </div>
        <button type="submit" class={buttonClass("primary")}>Filter</button>
        {filtered && <a class={`${LINK} py-2 text-sm`} href="/audit">Clear</a>}
      </form>
      <Card>
        <div data-live="audit">
          {data.items.length === 0
            ? (
              <Empty>
                {filtered ? "No entry matches these filters." : "No operator action yet."}
              </Empty>
            )
            : <AuditTable items={data.items} now={data.now} />}
          {data.total > PAGE_SIZE && (
            <Pagination
              query={{ page: data.page, size: PAGE_SIZE }}
              total={data.total}
              href={(p) => auditHref(f, p)}
              noun={["entry", "entries"]}
            />
          )}
        </div>
      </Card>
    </>
  );
});
