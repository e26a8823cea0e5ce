/**
 * postgres.js on lib/pg_socket.ts (Deno.connect) against the real PostgreSQL:
 * it is every pool's socket by default; queries, a result of several MB read
 * under backpressure, a parameter of several MB, hundreds of pipelined
 * queries, a cursor, a terminated backend (the query rejects, the pool
 * reconnects), a refused port and a server that never answers (errors
 * naming the address), a Unix socket, and end()/destroy() closing the
 * connection's file descriptor (found in /proc/self/fd by its local port). `socket: "node"`
 * and TLS URLs keep postgres.js's node:net socket.
 */
import postgres from "postgres";
import { isDatabaseUnavailable, openPool, type Sql } from "../lib/db.ts";
import { DenoPgSocket, pgSocketFactory, type PgSocketOptions } from "../lib/pg_socket.ts";
import { adminUrl } from "./_helpers/db.ts";
import { assert, assertEquals, assertRejects } from "./_helpers/assert.ts";

/**
 * This process's open TCP sockets whose local port is one of `ports` (Linux: /proc/self/fd, matched
 * by inode against /proc/net/tcp and tcp6). Deno's test sanitizers do not count TCP connections, so
 * the tests read this for their own sockets' ports to see each one closed; other test files may
 * open and close sockets meanwhile (`deno test --parallel`), so no process-wide count is used.
 */
function openSocketsOn(ports: Iterable<number | undefined>): number {
  const wanted = new Set([...ports].filter((p): p is number => p !== undefined));
  const inodes = new Set<string>();
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = Deno.readTextFileSync(file);
    } catch { /* no IPv6 */ }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 9 && wanted.has(parseInt(f[1].split(":")[1], 16))) inodes.add(f[9]);
    }
  }
  let n = 0;
  for (const e of Deno.readDirSync("/proc/self/fd")) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(Deno.readLinkSync(`/proc/self/fd/${e.name}`));
      if (m && inodes.has(m[1])) n++;
    } catch { /* closed meanwhile */ }
  }
  return n;
}

/** The local ports of `sockets` (see {@link openSocketsOn}). */
function portsOf(sockets: DenoPgSocket[]): (number | undefined)[] {
  return sockets.map((s) => s.localPort);
}

/** The `socket` option postgres.js was given (it reads it, its types do not declare it). */
function socketOf(sql: Sql): unknown {
  return (sql.options as unknown as { socket?: unknown }).socket;
}

/** A pool whose sockets are counted: proves the queries went over DenoPgSocket. */
async function countedPool(opts: { max?: number; url?: string; connectTimeout?: number } = {}) {
  const url = opts.url ?? await adminUrl();
  const base = openPool(url, {
    max: opts.max ?? 2,
    name: "pg-socket-test",
    connectTimeout: opts.connectTimeout ?? 5,
  });
  const factory = socketOf(base) as unknown as () => DenoPgSocket;
  await base.end();
  const sockets: DenoPgSocket[] = [];
  const sql = postgres({
    ...base.options,
    socket: () => {
      const s = factory();
      sockets.push(s);
      return s;
    },
    // deno-lint-ignore no-explicit-any
  } as any) as Sql;
  return { sql, sockets };
}

Deno.test("pg socket: openPool uses Deno.connect by default, node:net on request or for TLS", async () => {
  const url = await adminUrl();
  const deno = openPool(url);
  const node = openPool(url, { socket: "node" });
  const tls = openPool(url + "?sslmode=require");
  try {
    assertEquals(typeof socketOf(deno), "function");
    assertEquals(socketOf(node), undefined);
    assertEquals(socketOf(tls), undefined);
    const [{ v }] = await deno`SELECT 41 + 1 AS v`;
    assertEquals(v, 42);
  } finally {
    await Promise.all([deno.end(), node.end(), tls.end()]);
  }
  assertEquals(
    pgSocketFactory({ host: ["a", "b"], port: [5432, 5432] }),
    undefined,
    "several hosts: postgres.js rotates them on node:net",
  );
  assert(pgSocketFactory({ host: ["x"], port: [1], path: "/run/postgresql/.s.PGSQL.5432" }));
});

Deno.test("pg socket: large results and writes, pipelining, a cursor", async () => {
  const { sql, sockets } = await countedPool({ max: 2 });
  try {
    // ~6 MB of rows, more than any read buffer or socket buffer holds.
    const rows = await sql<{ i: number; s: string }[]>`
      SELECT i, repeat(md5(i::text), 40) AS s FROM generate_series(1, 5000) AS i`;
    assertEquals(rows.length, 5000);
    assertEquals(rows[4999].i, 5000);
    assert(rows.every((r) => r.s.length === 1280), "every row whole");

    // A 5 MB parameter: many writes with backpressure.
    const big = "x".repeat(5 * 1024 * 1024 - 3) + "end";
    const [{ n, tail }] =
      await sql`SELECT length(${big}::text) AS n, right(${big}::text, 3) AS tail`;
    assertEquals(n, big.length);
    assertEquals(tail, "end");

    // 600 queries at once over 2 connections: pipelined, answers in order.
    const answers = await Promise.all(
      Array.from({ length: 600 }, (_, i) => sql`SELECT ${i}::int AS v`.then(([r]) => r.v)),
    );
    assertEquals(answers, Array.from({ length: 600 }, (_, i) => i));

    // A cursor in a transaction, 1,000 rows at a time.
    let seen = 0;
    await sql.begin(async (tx) => {
      const cursor = tx`SELECT i FROM generate_series(1, 4500) AS i`.cursor(1000);
      for await (const batch of cursor) seen += batch.length;
    });
    assertEquals(seen, 4500);
    assert(sockets.length >= 1 && sockets.length <= 2, `${sockets.length} sockets`);
    assertEquals(openSocketsOn(portsOf(sockets)), sockets.length, "each open socket is found");
  } finally {
    await sql.end();
  }
  assert(sockets.every((s) => s.readyState === "closed"), "end() closed every socket");
  assertEquals(openSocketsOn(portsOf(sockets)), 0, "end() closed every file descriptor");
});

Deno.test("pg socket: a terminated backend rejects its query, then the pool reconnects", async () => {
  const { sql, sockets } = await countedPool({ max: 1 });
  const admin = openPool(await adminUrl(), { max: 1 });
  try {
    const [{ pid }] = await sql`SELECT pg_backend_pid() AS pid`;
    const running = sql`SELECT pg_sleep(30)`;
    const rejected = assertRejects(() => running);
    // Wait until the sleep is running, then terminate that backend.
    for (let i = 0; i < 200; i++) {
      const [{ n }] = await admin`
        SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = ${pid} AND query LIKE '%pg_sleep%'`;
      if (n === 1) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    await admin`SELECT pg_terminate_backend(${pid})`;
    const err = await rejected;
    assert(isDatabaseUnavailable(err), `a connection error: ${(err as Error).message}`);
    const [{ pid: again }] = await sql`SELECT pg_backend_pid() AS pid`;
    assert(again !== pid, "a new backend");
    assertEquals(sockets.length, 2);
    assertEquals(sockets[0].readyState, "closed");
    assertEquals(openSocketsOn([sockets[1].localPort]), 1, "the new socket is found");
  } finally {
    await Promise.all([sql.end(), admin.end()]);
  }
  assertEquals(
    openSocketsOn(portsOf(sockets)),
    0,
    "the terminated socket and the new ones are closed",
  );
});

Deno.test("pg socket: a refused port fails with ECONNREFUSED naming the address", async () => {
  // Port 1 on loopback: nothing listens there.
  const sql = openPool("postgres://postgres@127.0.0.1:1/postgres", { max: 1, connectTimeout: 5 });
  try {
    assertEquals(typeof socketOf(sql), "function");
    const err = await assertRejects(() => sql`SELECT 1`) as Error & { code?: string };
    assertEquals(err.code, "ECONNREFUSED");
    assert(err.message.includes("127.0.0.1:1"), err.message);
    assert(isDatabaseUnavailable(err));
  } finally {
    await sql.end();
  }
});

Deno.test("pg socket: a server that never answers ends in CONNECT_TIMEOUT, the socket closed", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const c of listener) accepted.push(c);
  })();
  const { port } = listener.addr as Deno.NetAddr;
  const { sql, sockets } = await countedPool({
    max: 1,
    connectTimeout: 1,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
  });
  try {
    const err = await assertRejects(() => sql`SELECT 1`) as Error & { code?: string };
    assertEquals(err.code, "CONNECT_TIMEOUT");
    assert(err.message.includes(`127.0.0.1:${port}`), err.message);
  } finally {
    await sql.end();
    listener.close();
    await accepting;
    for (const c of accepted) c.close();
  }
  assert(sockets.length >= 1);
  assert(sockets.every((s) => s.readyState === "closed"));
});

Deno.test("pg socket: destroy() during a connect and end() after one release everything", async () => {
  const url = new URL(await adminUrl());
  const target = { hostname: url.hostname, port: Number(url.port || 5432) };
  // Destroyed before Deno.connect settles: `close` once it has, nothing left open.
  const early = new DenoPgSocket(target);
  const closedEarly = new Promise<boolean>((r) => early.once("close", r));
  early.destroy();
  assertEquals(await closedEarly, false);
  assertEquals(early.readyState, "closed");

  // Connected, then ended: writes queued before the connect are sent first (the server answers
  // a startup message it cannot accept with an error and closes), then `close`.
  const s = new DenoPgSocket(target);
  const chunks: Uint8Array[] = [];
  s.on("data", (c: Uint8Array) => chunks.push(c));
  const closed = new Promise<boolean>((r) => s.once("close", r));
  const written = new Promise<Error | null | undefined>((r) =>
    s.write(new Uint8Array([0, 0, 0, 8, 0, 1, 0, 0]), r)
  );
  assertEquals(await written, null);
  assertEquals(openSocketsOn([s.localPort]), 1, "the connected socket is found");
  s.end();
  assertEquals(await closed, false);
  assert(
    chunks.length > 0 && chunks[0][0] === "E".charCodeAt(0),
    "the server's ErrorResponse came back",
  );
  assertEquals(s.write(new Uint8Array([1])), false, "no writes after the end");
  assertEquals(
    openSocketsOn([early.localPort, s.localPort]),
    0,
    "both sockets closed their file descriptors",
  );
});

Deno.test("pg socket: a Unix socket path (host starting with /) connects over Deno.connect", async () => {
  // A Unix socket in front of the test server's TCP port.
  const server = new URL(await adminUrl());
  const dir = await Deno.makeTempDir();
  const path = `${dir}/.s.PGSQL.5432`;
  const listener = Deno.listen({ transport: "unix", path });
  const conns: Deno.Conn[] = [];
  const pipes: Promise<unknown>[] = [];
  const accepting = (async () => {
    for await (const c of listener) {
      const t = await Deno.connect({
        hostname: server.hostname,
        port: Number(server.port || 5432),
      });
      conns.push(c, t);
      pipes.push(c.readable.pipeTo(t.writable).catch(() => {}));
      pipes.push(t.readable.pipeTo(c.writable).catch(() => {}));
    }
  })();
  const options = {
    host: dir,
    port: 5432,
    user: decodeURIComponent(server.username) || "postgres",
    pass: decodeURIComponent(server.password),
    database: "postgres",
    max: 1,
  };
  const probe = postgres(options);
  const factory = pgSocketFactory(probe.options as unknown as PgSocketOptions);
  await probe.end();
  assert(factory, "a Unix socket is served by Deno.connect");
  const sockets: DenoPgSocket[] = [];
  const sql = postgres({
    ...options,
    socket: () => {
      const s = factory();
      sockets.push(s);
      return s;
    },
    // deno-lint-ignore no-explicit-any
  } as any);
  try {
    const [{ v }] = await sql`SELECT 7 AS v`;
    assertEquals(v, 7);
    assertEquals(sockets.length, 1);
    assertEquals(sockets[0].host, path);
  } finally {
    await sql.end();
    listener.close();
    await accepting;
    for (const c of conns) {
      try {
        c.close();
      } catch { /* closed by its pipe */ }
    }
    await Promise.all(pipes);
    await Deno.remove(dir, { recursive: true });
  }
});
