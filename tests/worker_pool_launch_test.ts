/**
 * The runner pool spawns its Web Workers a few at a time (one per core), not
 * all at once: a runner still loading holds back the next one, each one
 * ready lets the next go, and start() resolves once every runner is ready.
 * The runners' handlers module (tests/_helpers/gated_handlers.ts) keeps each
 * in its start-up until the test lets it go.
 */
import { assertEquals } from "./_helpers/assert.ts";
/** The gate of tests/_helpers/gated_handlers.ts (not imported here: its import waits at the gate). */
const GATE_CHANNEL = "jobq-gated-handlers";
import { poolOf } from "./_helpers/runner_pool.ts";
import { setupService } from "./_helpers/worker_services.ts";

const GATED = new URL("./_helpers/gated_handlers.ts", import.meta.url).href;
const CORES = Math.max(1, navigator.hardwareConcurrency || 1);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Posts `name` on the gate every 20 ms until `done()` (a runner subscribes
 * once it has loaded). One channel for the whole test: Deno 2.9 fails to post
 * on a BroadcastChannel opened after another was closed.
 */
async function letGoUntil(
  gate: BroadcastChannel,
  name: string,
  done: () => boolean,
  what: string,
): Promise<void> {
  for (let i = 0; !done(); i++) {
    if (i > 1500) throw new Error(`timed out waiting for ${what}`);
    gate.postMessage(name);
    await sleep(20);
  }
}

Deno.test("runner pool: spawns one runner per core at a time, the next when one is ready", async () => {
  const b = await setupService();
  const concurrency = CORES + 2;
  const { pool, close } = poolOf(b, {
    concurrency,
    handlersModule: GATED,
    dataDir: "/tmp/jobq-pool-launch-test",
  });
  const gate = new BroadcastChannel(GATE_CHANNEL);
  let started = false;
  const starting = pool.start().then(() => {
    started = true;
  });
  try {
    // While none is ready, only one runner per core is spawned.
    assertEquals(pool.list().length, CORES);
    await sleep(300);
    assertEquals(pool.list().length, CORES);
    assertEquals(pool.up(), 0);

    // The first one ready lets the next one go.
    await letGoUntil(gate, `${b.id}/1`, () => pool.up() === 1, "runner 1 to be ready");
    await letGoUntil(gate, "", () => pool.list().length === CORES + 1, "one more runner");
    assertEquals(pool.names().at(-1), `${b.id}/${CORES + 1}`);

    await letGoUntil(gate, "*", () => started, "start() to resolve");
    await starting;
    assertEquals(pool.up(), concurrency);
    assertEquals(pool.names().length, concurrency);
  } finally {
    // A runner still held would never stop: let every one go first.
    gate.postMessage("*");
    await close();
    gate.close();
    await b.teardown();
  }
});
