/**
 * The `/health` page's "What holds vacuum back" card: the open transactions
 * of this database, the replication slots and the prepared transactions,
 * each with its age and level, and the legend of their thresholds.
 */
import type { DbHealth } from "@/lib/queue/health.ts";
import { above, bytes, type Figure, seconds, worst } from "@/lib/queue/health_levels.ts";
import { Card, Empty } from "@/components/ui.tsx";
import { FigureCell, Legend, Th } from "@/components/Health.tsx";
import { count } from "@/components/format.ts";

const xids = (n: number | null) => n === null ? "—" : count(n);

/** The card, from the health read `h`. */
export function VacuumCard({ h }: { h: DbHealth }) {
  const t = h.thresholds;
  const v = h.vacuum;
  return (
    <Card title="What holds vacuum back" class="mb-4" id="vacuum">
      <div data-live="health-vacuum">
        <h3 class="px-4 pt-3 text-xs font-semibold uppercase tracking-wide text-muted-foreground">
          Open transactions in this database
        </h3>
        {v.open_transactions.length === 0
          ? <Empty>No transaction is open in this database.</Empty>
          : (
            <div class="overflow-x-auto">
              <table class="w-full text-sm" aria-label="Open transactions">
                <thead class="border-b border-border text-left text-xs text-muted-foreground">
                  <tr>
                    <Th>pid</Th>
                    <Th>Application</Th>
                    <Th>State</Th>
                    <Th right>Open for</Th>
                    <Th right>xmin age</Th>
                    <Th>Query</Th>
                  </tr>
                </thead>
                <tbody>
                  {v.open_transactions.map((o, i) => {
                    const figure: Figure<unknown> = i === 0 ? v.oldest_transaction : {
                      value: o.age_seconds,
                      level: worst(
                        above(o.age_seconds, t.xact_warn_seconds, t.xact_bad_seconds),
                        above(o.xmin_age, t.xid_age_warn, t.xid_age_bad),
                      ),
                      meaning: `open for ${seconds(o.age_seconds)} (${o.state ?? "unknown"})`,
                    };
                    return (
                      <tr class="border-b border-border last:border-0" data-pid={o.pid}>
                        <td class="px-3 py-2 font-mono tabular-nums">{o.pid}</td>
                        <td class="px-3 py-2 font-mono text-xs">{o.application_name || "—"}</td>
                        <td class="px-3 py-2 whitespace-nowrap text-xs">
                          {o.state ?? "—"}
                          {o.wait_event && (
                            <span class="block text-muted-foreground">{o.wait_event}</span>
                          )}
                        </td>
                        <FigureCell name="age" figure={figure} shown={seconds(o.age_seconds)} />
                        <td class="px-3 py-2 text-right tabular-nums">{xids(o.xmin_age)}</td>
                        <td class="max-w-md truncate px-3 py-2 font-mono text-xs" title={o.query}>
                          {o.query || "—"}
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          )}
        <h3 class="border-t border-border px-4 pt-3 text-xs font-semibold uppercase tracking-wide text-muted-foreground">
          Replication slots
        </h3>
        {v.replication_slots.length === 0
          ? <Empty>No replication slot on this server.</Empty>
          : (
            <div class="overflow-x-auto">
              <table class="w-full text-sm" aria-label="Replication slots">
                <thead class="border-b border-border text-left text-xs text-muted-foreground">
                  <tr>
                    <Th>Slot</Th>
                    <Th>Type</Th>
                    <Th>State</Th>
                    <Th right>WAL retained</Th>
                    <Th right>xmin age</Th>
                  </tr>
                </thead>
                <tbody>
                  {v.replication_slots.map((s) => (
                    <tr class="border-b border-border last:border-0" data-slot={s.slot_name}>
                      <td class="px-3 py-2 font-mono">{s.slot_name}</td>
                      <td class="px-3 py-2 text-xs">{s.slot_type} {s.database ?? ""}</td>
                      <td class="px-3 py-2 text-xs">
                        {s.active ? "active" : "inactive"} {s.wal_status ?? ""}
                      </td>
                      <FigureCell
                        name="retained"
                        figure={s.retained_wal}
                        shown={s.retained_wal.value === null ? "—" : bytes(s.retained_wal.value)}
                      />
                      <td class="px-3 py-2 text-right tabular-nums">
                        {xids(Math.max(s.xmin_age ?? 0, s.catalog_xmin_age ?? 0) || null)}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        <h3 class="border-t border-border px-4 pt-3 text-xs font-semibold uppercase tracking-wide text-muted-foreground">
          Prepared transactions
        </h3>
        {v.prepared_transactions.length === 0
          ? <Empty>No prepared transaction on this server.</Empty>
          : (
            <div class="overflow-x-auto">
              <table class="w-full text-sm" aria-label="Prepared transactions">
                <thead class="border-b border-border text-left text-xs text-muted-foreground">
                  <tr>
                    <Th>gid</Th>
                    <Th>Database</Th>
                    <Th>Owner</Th>
                    <Th right>Prepared</Th>
                    <Th right>xid age</Th>
                  </tr>
                </thead>
                <tbody>
                  {v.prepared_transactions.map((p) => (
                    <tr class="border-b border-border last:border-0" data-gid={p.gid}>
                      <td class="px-3 py-2 font-mono">{p.gid}</td>
                      <td class="px-3 py-2 font-mono text-xs">{p.database}</td>
                      <td class="px-3 py-2 font-mono text-xs">{p.owner}</td>
                      <FigureCell
                        name="age"
                        figure={p.age}
                        shown={`${seconds(p.age.value)} ago`}
                      />
                      <td class="px-3 py-2 text-right tabular-nums">{xids(p.xid_age)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        <Legend
          items={[
            [
              "Open for",
              `a transaction open this long keeps every row that died since it began; ` +
              `warn above ${seconds(t.xact_warn_seconds)}, bad above ${
                seconds(t.xact_bad_seconds)
              } (often "idle in transaction": a client that forgot to commit)`,
            ],
            [
              "xmin age",
              `transactions a snapshot is behind; warn above ${count(t.xid_age_warn)}, bad ` +
              `above ${count(t.xid_age_bad)}`,
            ],
            [
              "WAL retained",
              `WAL a slot keeps on disk until its consumer reads it; warn above ${
                bytes(t.slot_wal_warn_bytes)
              }, bad above ${bytes(t.slot_wal_bad_bytes)}, an inactive slot at least warn`,
            ],
          ]}
        />
      </div>
    </Card>
  );
}
