import {
  allowedHosts,
  ConfigError,
  ENV_NAMES,
  isLoopback,
  parseConfig,
  retentionOf,
} from "../lib/config.ts";

const DAY = 86_400_000;
import { assertEquals, assertMatch } from "./_helpers/assert.ts";

function configError(env: Record<string, string>): string {
  try {
    parseConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

Deno.test("config: defaults when nothing is set", () => {
  const c = parseConfig({});
  assertEquals([c.PORT, c.HOST, c.WORKER_CONCURRENCY, c.JOB_LEASE_SECONDS], [
    8000,
    "127.0.0.1",
    4,
    30,
  ]);
  assertEquals([c.RETRY_BASE_MS, c.SHUTDOWN_GRACE_SECONDS, c.LOG_LEVEL], [1000, 25, "info"]);
  assertEquals(c.DATABASE_URL, undefined);
});

Deno.test("config: a bad value names the variable and what it expected", () => {
  assertMatch(configError({ PORT: "abc" }), /^PORT: expected a whole number/);
  assertMatch(configError({ WORKER_CONCURRENCY: "0" }), /^WORKER_CONCURRENCY: /);
  assertMatch(configError({ DATABASE_URL: "mysql://x" }), /^DATABASE_URL: expected a URL/);
  assertMatch(configError({ LOG_LEVEL: "loud" }), /^LOG_LEVEL: /);
  assertMatch(configError({ SMTP_URL: "http://x" }), /^SMTP_URL: /);
  assertMatch(configError({ API_TOKEN: "tok one" }), /^API_TOKEN: expected bearer tokens/);
  assertMatch(configError({ API_TOKEN: "tok!" }), /^API_TOKEN: expected bearer tokens/);
  assertEquals(
    parseConfig({ API_TOKEN: "tok-one, a.b~c+d/e==" }).API_TOKEN,
    "tok-one, a.b~c+d/e==",
  );
});

Deno.test("config: refuses to listen beyond loopback without credentials", () => {
  assertMatch(configError({ HOST: "0.0.0.0" }), /^HOST: .*API_TOKEN and DASHBOARD_PASSWORD/);
  assertEquals(parseConfig({ HOST: "0.0.0.0", ALLOW_UNAUTHENTICATED: "true" }).HOST, "0.0.0.0");
  assertEquals(
    parseConfig({ HOST: "0.0.0.0", API_TOKEN: "t", DASHBOARD_PASSWORD: "p" }).HOST,
    "0.0.0.0",
  );
});

Deno.test("config: empty strings count as unset", () => {
  assertEquals(parseConfig({ PORT: "", API_TOKEN: "" }).PORT, 8000);
  assertEquals(ENV_NAMES.includes("DATABASE_URL"), true);
});

Deno.test("config: RETAIN_* are ages in d, h or m, or 0 (forever); defaults 7d, 30d, 7d", () => {
  const d = parseConfig({});
  assertEquals([d.RETAIN_COMPLETED, d.RETAIN_FAILED, d.RETAIN_CANCELLED], ["7d", "30d", "7d"]);
  assertEquals(retentionOf(d), { completed: 7 * DAY, failed: 30 * DAY, cancelled: 7 * DAY });
  const c = parseConfig({ RETAIN_COMPLETED: "12h", RETAIN_FAILED: "90m", RETAIN_CANCELLED: "0" });
  assertEquals(retentionOf(c), { completed: 12 * 3_600_000, failed: 90 * 60_000, cancelled: 0 });
  for (const name of ["RETAIN_COMPLETED", "RETAIN_FAILED", "RETAIN_CANCELLED"]) {
    for (const bad of ["0d", "1 week", "7", "-1d", "1.5d", "7D"]) {
      assertMatch(configError({ [name]: bad }), new RegExp(`^${name}: expected an age like 7d`));
    }
  }
  assertEquals("PRUNE_OLDER_THAN" in parseConfig({ PRUNE_OLDER_THAN: "30d" }), false);
});

Deno.test("config: loopback means localhost, ::1 and 127.0.0.0/8 literals, not names that start with 127.", () => {
  for (const h of ["localhost", "LOCALHOST", "::1", "[::1]", "127.0.0.1", "127.255.0.9"]) {
    assertEquals(isLoopback(h), true, h);
  }
  for (
    const h of ["127.0.0.1.nip.io", "127.0.0.1.attacker.test", "127.1", "127.0.0.256", "0.0.0.0"]
  ) {
    assertEquals(isLoopback(h), false, h);
  }
  assertMatch(configError({ HOST: "127.0.0.1.nip.io" }), /^HOST: .*beyond loopback/);
});

Deno.test("config: PUBLIC_URL and ALLOWED_HOSTS add the names requests may be addressed to", () => {
  assertEquals([...allowedHosts(parseConfig({}))], ["localhost", "127.0.0.1", "[::1]"]);
  const c = parseConfig({
    HOST: "10.0.0.5",
    API_TOKEN: "t",
    DASHBOARD_PASSWORD: "p",
    PUBLIC_URL: "https://Jobq.Example.com:8443/base",
    ALLOWED_HOSTS: " a.example ,B.example,,[fd00::1]",
  });
  assertEquals([...allowedHosts(c)].sort(), [
    "10.0.0.5",
    "127.0.0.1",
    "[::1]",
    "[fd00::1]",
    "a.example",
    "b.example",
    "jobq.example.com",
    "localhost",
  ]);
  const wide = parseConfig({ HOST: "0.0.0.0", ALLOW_UNAUTHENTICATED: "true" });
  assertEquals(allowedHosts(wide).has("0.0.0.0"), false, "an any-address is no name to answer to");
  assertMatch(configError({ PUBLIC_URL: "jobq.example.com" }), /^PUBLIC_URL: expected a URL/);
  assertMatch(configError({ ALLOWED_HOSTS: "a.example:8000" }), /^ALLOWED_HOSTS: expected host/);
  assertMatch(configError({ ALLOWED_HOSTS: "a.example/x" }), /^ALLOWED_HOSTS: /);
});
