/** Admin: the filtered, sorted, paged job list. */
import type { Sql, TxSql } from "../db.ts";
import { type CountedColumn, countGroups, countMatching } from "./stats.ts";
import type { Job, JobStatus } from "./types.ts";
import { JOB_STATUSES, SORT_COLUMNS, type SortColumn, UUID_RE } from "../job_constants.ts";

export { SORT_COLUMNS, type SortColumn };

/** The ORDER BY key of an allow-listed sort column (`status` in lifecycle order, not the alphabet's). */
function sortKey(sql: Sql | TxSql, sort: SortColumn) {
  return sort === "status" ? sql`array_position(${JOB_STATUSES}::text[], status)` : sql(sort);
}

/**
 * Sort columns of few values, which the maintained counts group jobs by: a
 * page sorted by one is read group by group ({@link groupedPage}).
 */
const GROUPED: readonly SortColumn[] = ["status", "type", "queue", "priority", "attempts"];

/**
 * The list's ORDER BY clause: the allow-listed sort column (else
 * `created_at`), descending unless `asc`; ties broken on `created_at`, then
 * `id`, in the same direction, so pages never overlap (and within a status,
 * type, queue, priority or attempt count the newest come first, descending).
 */
export function listOrder(sql: Sql | TxSql, q: Pick<ListQuery, "sort" | "order">) {
  const sort = SORT_COLUMNS.includes(q.sort as SortColumn) ? q.sort! : "created_at";
  const dir = q.order === "asc" ? sql`ASC` : sql`DESC`;
  return sort === "created_at"
    ? sql`ORDER BY created_at ${dir}, id ${dir}`
    : sql`ORDER BY ${sortKey(sql, sort)} ${dir}, created_at ${dir}, id ${dir}`;
}

/** Filters, order and page of {@link list}. */
export interface ListQuery {
  status?: JobStatus[];
  type?: string[];
  priority?: number[];
  queue?: string[];
  /** Free text: an id or its start (4+ hex digits), or a substring of one of the payload's values (not its keys) or of the queue name (case-insensitive). */
  q?: string;
  sort?: SortColumn;
  order?: "asc" | "desc";
  limit?: number;
  offset?: number;
}

/** A page of jobs and the number of all matching rows. */
export interface ListPage {
  items: Job[];
  total: number;
  limit: number;
  offset: number;
}

/**
 * The ids starting with `text` when it is the start of an id as the list
 * shows them (at least 4 hex digits, dashes where an id has them, e.g.
 * `35800b23`): the lowest and highest such id, for a range read of the
 * primary key. Null for anything else.
 */
export function idRange(text: string): [string, string] | null {
  const hex = text.toLowerCase().replaceAll("-", "");
  if (hex.length < 4 || hex.length > 32 || !/^[0-9a-f]+$/.test(hex)) return null;
  const format = (h: string) =>
    `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  const lo = format(hex.padEnd(32, "0"));
  if (!lo.startsWith(text.toLowerCase())) return null;
  return [lo, format(hex.padEnd(32, "f"))];
}

/**
 * The ids of the jobs a trimmed, non-empty search `text` matches, as a
 * subquery with one column, `job_id`: a substring of a payload value or of
 * the queue name (case-insensitive), or the id itself or its start. With
 * `words` (the term's `jobq_search_query`, see {@link searchWords}) the
 * search rows are found through their words and then tested with the same
 * ILIKE: the same matches, without the trigrams' posting lists.
 */
function searchIds(sql: Sql | TxSql, text: string, words: string | null = null) {
  // migrations/0013_search.sql: job_search_idx serves both ILIKEs (a
  // BitmapOr), the search table's primary key the id. Jobs not indexed yet
  // (migrations/0016_search_tail.sql: a few seconds' worth while a worker
  // runs its search indexer) are read through the tail's ids (a bitmap
  // scan of job_pkey) and matched on the same text, so a search is exact
  // from the enqueue's commit on. A job may come back both ways: readers
  // use `IN` or de-duplicate.
  const like = "%" + text.replace(/[\\%_]/g, (c) => "\\" + c) + "%";
  const range = idRange(text);
  const idIs = (col: ReturnType<typeof sql>) =>
    UUID_RE.test(text)
      ? sql`OR ${col} = ${text}::uuid`
      : range
      ? sql`OR ${col} BETWEEN ${range[0]}::uuid AND ${range[1]}::uuid`
      : sql``;
  // The tail's text test: the function is exact but costly per row; when
  // the term holds nothing JSON escapes (`"`, `\`, control characters), a
  // value containing it shows it verbatim in the payload's JSON text, so
  // an ILIKE on that text first passes over most rows cheaply.
  const escaped = [...text].some((c) => c === '"' || c === "\\" || c < " ");
  const valueMatch = escaped
    ? sql`jobq_search_text(j.payload) ILIKE ${like}`
    : sql`(j.payload::text ILIKE ${like} AND jobq_search_text(j.payload) ILIKE ${like})`;
  // migrations/0018_search_words.sql: jobq_search_word_rows reads the rows
  // holding the term's words (job_search_words_idx), the ILIKE then tests
  // the few rows found.
  const indexed = words === null
    ? sql`SELECT s.job_id FROM job_search s
      WHERE s.body ILIKE ${like} OR s.queue ILIKE ${like} ${idIs(sql`s.job_id`)}`
    : sql`SELECT w.job_id FROM jobq_search_word_rows(${words}::tsquery) w WHERE w.body ILIKE ${like}
      UNION ALL
      SELECT s.job_id FROM job_search s WHERE s.queue ILIKE ${like} ${idIs(sql`s.job_id`)}`;
  return sql`
    ${indexed}
    UNION ALL
    SELECT j.id FROM job j
    WHERE j.id = ANY (ARRAY(SELECT unnest(t.job_ids) FROM job_search_tail t))
      AND (${valueMatch} OR j.queue ILIKE ${like} ${idIs(sql`j.id`)})`;
}

/**
 * The words a job matching `text` must hold, as the text of a tsquery on
 * `jobq_search_words` (migrations/0018_search_words.sql), or null when the
 * term has none to look up (no separator after a word: its one word may lie
 * inside a longer one; no letter or digit at all). Terms of letters and
 * digits only skip the round trip.
 */
export async function searchWords(sql: Sql | TxSql, text: string): Promise<string | null> {
  if (!/[^\p{L}\p{N}]/u.test(text)) return null;
  const [{ words }] = await sql<{ words: string | null }[]>`
    SELECT jobq_search_query(${text})::text AS words`;
  return words;
}

/** The WHERE clause of the list's filters (empty when there are none). */
export function listWhere(sql: Sql | TxSql, q: ListQuery) {
  return joinWhere(sql, whereParts(sql, q));
}

/** `WHERE a AND b …`, or nothing for no parts. */
function joinWhere(sql: Sql | TxSql, parts: ReturnType<typeof whereParts>) {
  if (parts.length === 0) return sql``;
  let where = sql`WHERE ${parts[0]}`;
  for (const p of parts.slice(1)) where = sql`${where} AND ${p}`;
  return where;
}

/** The list's filters as separate conditions on `job`. */
function whereParts(sql: Sql | TxSql, q: ListQuery) {
  const parts = [];
  if (q.status?.length) parts.push(sql`status = ANY(${q.status})`);
  if (q.type?.length) parts.push(sql`type = ANY(${q.type})`);
  if (q.priority?.length) parts.push(sql`priority = ANY(${q.priority}::smallint[])`);
  if (q.queue?.length) parts.push(sql`queue = ANY(${q.queue}::text[])`);
  const text = q.q?.trim();
  if (text) {
    parts.push(sql`id IN (${searchIds(sql, text)})`);
  }
  return parts;
}

/**
 * A search matching at most this many jobs is listed from its matches
 * (read, filtered and sorted whole); one matching more walks the list's
 * sort index and checks each row, which finds a page of them quickly.
 */
export const SEARCH_SORT_MAX = 5_000;

/**
 * A filtered, sorted page of jobs with the total count of matches. Sorting
 * ties break on `id` so pages never overlap. Limit is clamped to 1–100.
 */
export async function list(sql: Sql, q: ListQuery = {}): Promise<ListPage> {
  const limit = Math.min(100, Math.max(1, q.limit ?? 20));
  const offset = Math.max(0, q.offset ?? 0);
  const text = q.q?.trim();
  if (text) {
    // The planner cannot estimate a search's matches (trigrams, an id
    // prefix's range of a uuid): it would walk job_created_idx for 20 rows
    // that are, for a rare term, nowhere near its start. So the matches are
    // counted first (job_search_words_idx when the term has words to look
    // up, else job_search_idx; job_search_pkey), up to SEARCH_SORT_MAX + 1; as few as that are read by id (job_pkey) and
    // sorted, fenced off in a MATERIALIZED CTE so no plan walks the index.
    const words = await searchWords(sql, text);
    const found = await sql<{ job_id: string }[]>`
      SELECT m.job_id FROM (${searchIds(sql, text, words)}) m LIMIT ${SEARCH_SORT_MAX + 1}`;
    if (found.length <= SEARCH_SORT_MAX) {
      const ids = [...new Set(found.map((r) => r.job_id))];
      const where = joinWhere(sql, [
        ...whereParts(sql, { ...q, q: undefined }),
        sql`id = ANY(${ids}::uuid[])`,
      ]);
      const [items, [{ total }]] = await Promise.all([
        sql<Job[]>`WITH m AS MATERIALIZED (SELECT * FROM job ${where})
          SELECT * FROM m ${listOrder(sql, q)} LIMIT ${limit} OFFSET ${offset}`,
        sql<{ total: number }[]>`SELECT count(*)::int AS total FROM job ${where}`,
      ]);
      return { items, total, limit, offset };
    }
  }
  const sort = SORT_COLUMNS.includes(q.sort as SortColumn) ? q.sort! : "created_at";
  if (!text && GROUPED.includes(sort)) {
    return { ...await groupedPage(sql, q, sort as CountedColumn, limit, offset), limit, offset };
  }
  const where = listWhere(sql, q);
  // Indexes: job_created_idx / job_updated_idx and the partial per-status
  // ones serve the filters with a created_at or updated_at sort. The total
  // of a status, type, queue and/or priority filter (or none) comes from the
  // maintained counts (stats.countMatching, migrations 0002, 0006, 0017)
  // instead of counting history; a text filter with more matches than
  // SEARCH_SORT_MAX counts the matching rows. Sorting by `scheduled_for`
  // has no index: it is a top-N sort of the matching rows.
  const page = (order: ListQuery["order"], take: number, skip: number) =>
    sql<Job[]>`SELECT * FROM job ${where} ${listOrder(sql, { sort, order })}
      LIMIT ${take} OFFSET ${skip}`;
  const counted = () =>
    countMatching(sql, { status: q.status, type: q.type, queue: q.queue, priority: q.priority });
  if (!text && offset >= MIRROR_MIN) {
    // A deep page: counted first, so that one past the middle is read from
    // the other end (see {@link mirrored}).
    const total = await counted();
    const m = mirrored(offset, limit, total);
    const items = m
      ? (await page(q.order === "asc" ? "desc" : "asc", m.take, m.skip)).reverse()
      : await page(q.order, limit, offset);
    return { items, total, limit, offset };
  }
  const [items, total] = await Promise.all([
    page(q.order, limit, offset),
    text
      ? sql<{ total: number }[]>`SELECT count(*)::int AS total FROM job ${where}`.then((r) =>
        r[0].total
      )
      : counted(),
  ]);
  return { items, total, limit, offset };
}

/** Pages at least this deep are counted before they are read (see {@link mirrored}). */
const MIRROR_MIN = 1_000;

/**
 * A page past the middle of `n` ordered rows, as the same rows read in the
 * opposite order: `take` of them after skipping `skip` from the other end,
 * then reversed. OFFSET walks the rows it skips, so the last page of a
 * million jobs costs what the first does, and no page more than half the
 * list. `null` for a page in the first half (read as it is).
 */
export function mirrored(
  offset: number,
  limit: number,
  n: number,
): { skip: number; take: number } | null {
  if (2 * offset + limit <= n) return null;
  const take = Math.max(0, Math.min(limit, n - offset));
  return { skip: Math.max(0, n - offset - take), take };
}

/**
 * The conditions that let a group's read use its partial index: the status
 * as a literal (`job_pending_created_idx`, `job_failed_created_idx`,
 * `job_cancelled_created_idx`), and for an attempt count above 1 the
 * predicate of `job_retried_created_idx` (migration 0025). A parameter would
 * do for a custom plan, but a prepared statement run often gets a generic
 * plan, which can use a partial index only when the query states its
 * predicate in literals. `status` is one of {@link JOB_STATUSES} (from the
 * maintained counts); anything else is a parameter, as before.
 */
function groupIndexed(sql: Sql, column: CountedColumn, value: string | number, status: string) {
  const parts = [statusLiteral(sql, status)];
  if (column === "attempts" && Number(value) > 1) parts.push(sql`attempts > 1`);
  return parts;
}

/** `status = '<status>'` with the status as a literal, or as a parameter if it is none of {@link JOB_STATUSES}. */
function statusLiteral(sql: Sql, status: string) {
  switch (status as JobStatus) {
    case "pending":
      return sql`status = 'pending'`;
    case "processing":
      return sql`status = 'processing'`;
    case "completed":
      return sql`status = 'completed'`;
    case "failed":
      return sql`status = 'failed'`;
    case "cancelled":
      return sql`status = 'cancelled'`;
    default:
      return sql`status = ${status}`;
  }
}

/**
 * A page sorted by a column of few values (`GROUPED`), with no text filter:
 * the maintained counts (stats.countGroups) say how many matching jobs each
 * value has, so the page's rows are found in the one or few groups it
 * covers, each read in created_at order from its position in the group
 * (from the group's other end past its middle, see {@link mirrored}),
 * instead of reading and sorting every matching job (0.6-0.7 s at a
 * million). A group is read status by status, only the statuses it has
 * jobs of: each status's rows through its partial created_at index
 * (pending, failed, cancelled; job_retried_created_idx for an attempt count
 * above 1; job_created_idx for the others), merged in created_at order. The
 * total is the groups' sum. A group of a value rare among its status's jobs
 * walks that index past the others, as a filter on that value alone does.
 */
async function groupedPage(
  sql: Sql,
  q: ListQuery,
  column: CountedColumn,
  limit: number,
  offset: number,
): Promise<{ items: Job[]; total: number }> {
  const counted = await countGroups(sql, {
    column,
    desc: q.order !== "asc",
    status: q.status,
    type: q.type,
    queue: q.queue,
    priority: q.priority,
  });
  // The groups in sort order, each with the statuses it holds.
  const groups: { value: string | number; statuses: string[]; n: number }[] = [];
  for (const c of counted) {
    const last = groups.at(-1);
    if (last && last.value === c.value) {
      last.statuses.push(c.status);
      last.n += c.n;
    } else groups.push({ value: c.value, statuses: [c.status], n: c.n });
  }
  const filters = whereParts(sql, q);
  const reads: Promise<Job[]>[] = [];
  let total = 0;
  let skip = offset;
  let want = limit;
  for (const g of groups) {
    total += g.n;
    if (want === 0) continue;
    if (skip >= g.n) {
      skip -= g.n;
      continue;
    }
    const take = Math.min(want, g.n - skip);
    // Past the group's middle: read from its other end (see mirrored()).
    const m = mirrored(skip, take, g.n);
    const desc = (q.order !== "asc") !== (m !== null);
    const dir = desc ? sql`DESC` : sql`ASC`;
    const order = sql`ORDER BY created_at ${dir}, id ${dir}`;
    const from = m ? m.skip : skip;
    const part = (status: string) =>
      sql`SELECT * FROM job ${
        joinWhere(sql, [
          ...filters,
          sql`${sql(column)} = ${g.value}`,
          ...groupIndexed(sql, column, g.value, status),
        ])
      }`;
    let read: Promise<Job[]>;
    if (g.statuses.length === 1) {
      read = sql<Job[]>`${part(g.statuses[0])} ${order} LIMIT ${take} OFFSET ${from}`;
    } else {
      // Each status's read in created_at order alone, so that its index gives
      // the order and the merge pulls from it only the rows the page needs
      // (a read ordered by created_at and id too sorts what it reads: it
      // took a whole page from every status, and the completed jobs' read
      // walked job_created_idx past the pending backlog for it). WITH TIES
      // keeps every row sharing the last created_at, so the outer order by
      // created_at, id still picks exactly the page's rows.
      const branch = (status: string) =>
        sql`(${part(status)} ORDER BY created_at ${dir} FETCH FIRST ${from + take} ROWS WITH TIES)`;
      let union = branch(g.statuses[0]);
      for (const s of g.statuses.slice(1)) union = sql`${union} UNION ALL ${branch(s)}`;
      read = sql<Job[]>`SELECT * FROM (${union}) AS g ${order} LIMIT ${take} OFFSET ${from}`;
    }
    reads.push(m ? read.then((rows) => rows.reverse()) : read);
    skip = 0;
    want -= take;
  }
  return { items: (await Promise.all(reads)).flat(), total };
}
