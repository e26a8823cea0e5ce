/**
 * `/alerts`: every alert rule with its state (firing / ok / disabled), last
 * value, since when, and its last notice; enable, disable and delete on each
 * row, and the create form. Forms post urlencoded here (same-origin checked
 * by the page middleware like every form) and answer 303 back, or 422 with
 * the form and every field's error (409 for a taken name). Each change is
 * audited as the session's user. Live: re-rendered every few seconds, as the
 * worker processes evaluate the rules.
 */
import { define, type State } from "@/utils.ts";
import { type Context, page } from "fresh";
import { alerts } from "@/lib/queue/mod.ts";
import { createAlertBody } from "@/lib/alerts/schema.ts";
import { actorOf } from "@/lib/http/actor.ts";
import { formValues } from "@/lib/http/form.ts";
import { HttpError } from "@/lib/http/errors.ts";
import { Alert as Notice, Card, Empty, PageHeader } from "@/components/ui.tsx";
import { AlertForm, AlertTable } from "@/components/Alerts.tsx";
import {
  type AlertErrors,
  alertErrors,
  type AlertValues,
  BLANK_ALERT,
  formToAlert,
} from "@/components/alert_form.ts";
import LiveRegion from "@/islands/LiveRegion.tsx";

const DONE: Record<string, string> = {
  created: "Alert created: the worker processes evaluate it from their next pass.",
  enabled: "Alert enabled.",
  disabled: "Alert disabled: it no longer fires.",
  deleted: "Alert deleted.",
};

async function listPage(
  ctx: Context<State>,
  form: { values: AlertValues; errors: AlertErrors },
  status = 200,
) {
  const sp = ctx.url.searchParams;
  const done = sp.get("done") ?? "";
  const name = (sp.get("name") ?? "").slice(0, 100);
  return page({
    items: await alerts.list(ctx.state.sql),
    now: ctx.state.now() ?? new Date(),
    done: Object.hasOwn(DONE, done) ? { message: DONE[done], name } : null,
    ...form,
  }, { status });
}

const back = (done: string, name: string) =>
  `/alerts?done=${done}&name=${encodeURIComponent(name)}`;

export const handler = define.handlers({
  async GET(ctx) {
    return await listPage(ctx, { values: BLANK_ALERT, errors: {} });
  },
  async POST(ctx) {
    const values = await formValues(ctx.req);
    const actor = actorOf(ctx);
    const now = ctx.state.now();
    const { sql } = ctx.state;
    const action = values.action ?? "";
    if (action === "create") {
      const parsed = createAlertBody.safeParse(formToAlert(values));
      if (!parsed.success) {
        return await listPage(ctx, { values, errors: alertErrors(parsed.error) }, 422);
      }
      try {
        const a = await alerts.create(sql, { alert: parsed.data, actor, now });
        return ctx.redirect(back("created", a.name), 303);
      } catch (err) {
        if ((err as { code?: string }).code !== "alert_exists") throw err;
        return await listPage(ctx, { values, errors: { name: [(err as Error).message] } }, 409);
      }
    }
    const id = /^[1-9]\d{0,9}$/.test(values.id ?? "") ? Number(values.id) : NaN;
    if (!(id <= 2_147_483_647)) throw alerts.alertNotFound(String(values.id ?? "").slice(0, 64));
    if (action === "enable" || action === "disable") {
      const a = await alerts.update(sql, {
        id,
        patch: { enabled: action === "enable" },
        actor,
        now,
      });
      return ctx.redirect(back(`${action}d`, a.name), 303);
    }
    if (action === "delete") {
      const a = await alerts.remove(sql, { id, actor, now });
      return ctx.redirect(back("deleted", a.name), 303);
    }
    throw new HttpError(400, "unknown_action", "action must be create, enable, disable or delete");
  },
});

export default define.page<typeof handler>(({ data }) => {
  const firing = data.items.filter((a) => a.state === "firing").length;
  return (
    <>
      <PageHeader
        title="Alerts"
        description={`${data.items.length} rule${
          data.items.length === 1 ? "" : "s"
        }, ${firing} firing. ` +
          "The worker processes evaluate them and POST each firing and each resolve to ALERT_WEBHOOK_URL."}
        actions={<LiveRegion mode="swap" pollMs={10_000} />}
      />
      {data.done && (
        <Notice kind="success">
          {data.done.name ? `${data.done.name}: ` : ""}
          {data.done.message}
        </Notice>
      )}
      <Card title="Rules">
        <div data-live="alerts">
          {data.items.length === 0
            ? <Empty>No alert rule yet. Create one below.</Empty>
            : <AlertTable items={data.items} now={data.now} />}
        </div>
      </Card>
      <Card title="New alert" class="mt-3">
        <AlertForm values={data.values} errors={data.errors} />
      </Card>
    </>
  );
});
