/**
 * `/health`: database health — overview figures (database size, transaction
 * id age, connections, vacuum horizon, oldest open transaction), what holds
 * vacuum back, every table and index of the schema, and the slowest
 * statements when pg_stat_statements is there. Each figure has a coloured
 * level and a one-line meaning. The JSON is `GET /api/health/db`. Works
 * without JavaScript (the statements' order is a link); live through
 * LiveRegion, which re-renders the `[data-live]` regions every few seconds
 * (on a timer only: its catalog reads are not worth repeating on every job change).
 * Not to be confused with `/healthz` (liveness) and `/readyz` (readiness).
 */
import { define } from "@/utils.ts";
import { page } from "fresh";
import { health } from "@/lib/queue/mod.ts";
import type { StatementSort, Thresholds } from "@/lib/queue/health.ts";
import { bytes, seconds } from "@/lib/queue/health_levels.ts";
import { Alert, Card, Empty, LINK, PageHeader, RelativeTime } from "@/components/ui.tsx";
import { FigureCell, FigureTile, Legend, LevelBadge, Th } from "@/components/Health.tsx";
import { count } from "@/components/format.ts";
import LiveRegion from "@/islands/LiveRegion.tsx";
import { VacuumCard } from "@/components/HealthVacuum.tsx";

/** How often the live page re-reads the figures. */
const POLL_MS = 5000;

export const handler = define.handlers({
  async GET(ctx) {
    const raw = ctx.url.searchParams.get("sort");
    const sort: StatementSort = raw === "total" ? "total" : "mean";
    const h = await health.read(ctx.state.sql, { sort });
    return page({ h, summary: health.summary(h) });
  },
});

const pct = (r: number) => `${Math.round(r * 100)} %`;
const xids = (n: number | null) => n === null ? "—" : count(n);

function when(d: Date | string | null, now: Date) {
  return d ? <RelativeTime date={d} now={now} /> : "never";
}

function whenText(d: Date | string | null, now: Date): string {
  if (!d) return "never";
  return seconds((now.getTime() - new Date(d).getTime()) / 1000) + " ago";
}

function tableLegend(t: Thresholds): [string, string][] {
  return [
    [
      "Size",
      "table, indexes and TOAST on disk; warn above " + bytes(t.table_warn_bytes) +
      ", bad above " + bytes(t.table_bad_bytes) + " (prune old jobs)",
    ],
    ["Live", "rows the statistics estimate are visible"],
    [
      "Dead",
      `rows deleted or updated, not yet vacuumed; warn above ${pct(t.dead_warn_ratio)} ` +
      `of live, bad above ${pct(t.dead_bad_ratio)} (from ${count(t.dead_min)} dead rows)`,
    ],
    ["Vacuumed", "the last manual or autovacuum; warn while dead rows are over their threshold"],
    [
      "Analyzed",
      `the last (auto)analyze; warn when more rows changed since than ` +
      `${pct(t.analyze_warn_ratio)} of live (stale planner estimates)`,
    ],
  ];
}

export default define.page<typeof handler>(({ data }) => {
  const { h, summary } = data;
  const t = h.thresholds;
  const now = new Date(h.checked_at);
  const v = h.vacuum;
  const oldest = v.oldest_transaction.value;
  return (
    <>
      <PageHeader
        title="Database health"
        description={
          <span data-live="health-summary">
            {h.database.name} on PostgreSQL {h.database.server_version.split(" ")[0]}, schema{" "}
            {h.database.schema} ·{" "}
            <LevelBadge level={summary.level}>
              {summary.level === "ok"
                ? "all figures ok"
                : `${summary.bad} bad, ${summary.warn} worth a look`}
            </LevelBadge>
          </span>
        }
        actions={
          <>
            <a class={`${LINK} text-sm`} href="/api/health/db">JSON</a>
            <LiveRegion mode="swap" pollMs={POLL_MS} onJobs={false} />
          </>
        }
      />

      <Card title="Overview" class="mb-4" id="overview">
        <div
          class="grid gap-3 p-4 sm:grid-cols-2 lg:grid-cols-3"
          data-live="health-overview"
        >
          <FigureTile
            id="database-size"
            label="Database size"
            figure={h.database.size}
            shown={bytes(h.database.size.value)}
          />
          <FigureTile
            id="xid-age"
            label="Transaction id age"
            figure={h.database.xid_age}
            shown={xids(h.database.xid_age.value)}
          />
          <FigureTile
            id="connections"
            label="Connections in use"
            figure={h.connections.in_use}
            shown={`${count(h.connections.in_use.value)} of ${count(h.connections.available)}`}
          />
          <FigureTile
            id="oldest-transaction"
            label="Oldest open transaction"
            figure={v.oldest_transaction}
            shown={oldest ? seconds(oldest.age_seconds) : "none"}
          />
          <FigureTile
            id="vacuum-horizon"
            label="Vacuum horizon"
            figure={v.horizon}
            shown={v.horizon.value.xid_age === null
              ? "clear"
              : `${xids(v.horizon.value.xid_age)} xid${
                v.horizon.value.xid_age === 1 ? "" : "s"
              } behind`}
          />
          <FigureTile
            id="statements"
            label="Statement statistics"
            figure={{
              value: h.statements.state,
              level: health.statementsLevel(h.statements),
              meaning: h.statements.state === "ok"
                ? "pg_stat_statements records every statement's time (below)"
                : h.statements.state === "unreadable"
                ? "pg_stat_statements is installed but not loaded: see below how to finish"
                : "pg_stat_statements is not installed: slow statements cannot be listed (below: how)",
            }}
            shown={h.statements.state.replace("_", " ")}
          />
        </div>
      </Card>

      <VacuumCard h={h} />

      <Card title="Tables" class="mb-4" id="tables">
        <div data-live="health-tables">
          <div class="overflow-x-auto">
            <table class="w-full text-sm" aria-label="Tables">
              <thead class="border-b border-border text-left text-xs text-muted-foreground">
                <tr>
                  <Th>Table</Th>
                  <Th right>Size</Th>
                  <Th right>Live</Th>
                  <Th right>Dead</Th>
                  <Th right>Vacuumed</Th>
                  <Th right>Analyzed</Th>
                </tr>
              </thead>
              <tbody>
                {h.tables.map((x) => (
                  <tr class="border-b border-border last:border-0" data-table={x.name}>
                    <th scope="row" class="px-4 py-2 text-left font-mono font-medium">{x.name}</th>
                    <FigureCell name="size" figure={x.size} shown={bytes(x.size.value)} />
                    <td class="px-3 py-2 text-right tabular-nums" data-cell="live">
                      {count(x.live_tuples)}
                    </td>
                    <FigureCell
                      name="dead"
                      figure={x.dead_tuples}
                      shown={count(x.dead_tuples.value)}
                    />
                    <FigureCell
                      name="vacuumed"
                      figure={x.last_vacuum}
                      shown={whenText(x.last_vacuum.value, now)}
                    />
                    <FigureCell
                      name="analyzed"
                      figure={x.last_analyze}
                      shown={whenText(x.last_analyze.value, now)}
                    />
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Legend items={tableLegend(t)} />
        </div>
      </Card>

      <Card title="Indexes" class="mb-4" id="indexes">
        <div data-live="health-indexes">
          <div class="overflow-x-auto">
            <table class="w-full text-sm" aria-label="Indexes">
              <thead class="border-b border-border text-left text-xs text-muted-foreground">
                <tr>
                  <Th>Index</Th>
                  <Th>Table</Th>
                  <Th right>Size</Th>
                  <Th right>Scans</Th>
                </tr>
              </thead>
              <tbody>
                {h.indexes.map((i) => (
                  <tr class="border-b border-border last:border-0" data-index={i.name}>
                    <th scope="row" class="px-4 py-2 text-left font-mono text-xs font-medium">
                      {i.name}
                      {i.unique && <span class="ml-1 text-muted-foreground">(unique)</span>}
                    </th>
                    <td class="px-3 py-2 font-mono text-xs">{i.table}</td>
                    <FigureCell name="size" figure={i.size} shown={bytes(i.size.value)} />
                    <td class="px-3 py-2 text-right tabular-nums">{count(i.scans)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Legend
            items={[
              ["Size", "the index on disk; every insert and update of its table writes it"],
              [
                "Scans",
                `times the planner used it since the statistics were reset; warn when never, ` +
                `not unique and over ${bytes(t.unused_index_warn_bytes)}; an invalid index ` +
                `is bad`,
              ],
            ]}
          />
        </div>
      </Card>

      <Card
        title="Slowest statements"
        id="statements"
        actions={
          <nav aria-label="Order of statements" class="flex gap-2 text-xs">
            {(["mean", "total"] as const).map((s) => (
              <a
                class={`${LINK} ${h.statements.sort === s ? "font-semibold" : ""}`}
                href={`/health?sort=${s}#statements`}
                aria-current={h.statements.sort === s ? "true" : undefined}
              >
                by {s === "mean" ? "mean time" : "total time"}
              </a>
            ))}
          </nav>
        }
      >
        <div data-live="health-statements" data-state={h.statements.state}>
          {h.statements.state !== "ok"
            ? (
              <div class="p-4 pb-0">
                <Alert>{h.statements.message}</Alert>
              </div>
            )
            : h.statements.items.length === 0
            ? <Empty>No statement recorded yet in this database.</Empty>
            : (
              <div class="overflow-x-auto">
                <table class="w-full text-sm" aria-label="Slowest statements">
                  <thead class="border-b border-border text-left text-xs text-muted-foreground">
                    <tr>
                      <Th>Statement</Th>
                      <Th right>Calls</Th>
                      <Th right>Mean</Th>
                      <Th right>Total</Th>
                      <Th right>Share</Th>
                    </tr>
                  </thead>
                  <tbody>
                    {h.statements.items.map((s) => (
                      <tr class="border-b border-border last:border-0" data-statement>
                        <td class="max-w-xl truncate px-4 py-2 font-mono text-xs" title={s.query}>
                          {s.query}
                        </td>
                        <td class="px-3 py-2 text-right tabular-nums">{count(s.calls)}</td>
                        <FigureCell
                          name="mean"
                          figure={s.mean_exec_time}
                          shown={`${s.mean_exec_time.value.toFixed(1)} ms`}
                        />
                        <td class="px-3 py-2 text-right tabular-nums">
                          {(s.total_exec_time / 1000).toFixed(1)} s
                        </td>
                        <td class="px-3 py-2 text-right tabular-nums">{pct(s.share)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          <Legend
            items={[
              [
                "Mean",
                `execution time per call; warn above ${t.statement_warn_ms} ms, bad above ` +
                `${t.statement_bad_ms} ms`,
              ],
              ["Share", "of the listed statements' total execution time"],
            ]}
          />
        </div>
      </Card>
      <p class="mt-3 text-xs text-muted-foreground" data-live="health-checked">
        Checked {when(h.checked_at, now)}. Liveness is{" "}
        <a class={LINK} href="/healthz">/healthz</a>, readiness{" "}
        <a class={LINK} href="/readyz">/readyz</a>.
      </p>
    </>
  );
});
