/**
 * The multihost test's network: one Linux network namespace per host, each
 * joined to the root namespace by a veth pair whose root end sits on a
 * bridge. The bridge carries {@link GATEWAY}, where PgBouncer listens; the
 * hosts are {@link SUBNET}`.11`, `.12`, … Everything made here is named with
 * {@link PREFIX}, so a run that died half way is cleaned up by the next
 * ({@link cleanupLeftovers}).
 *
 * A partition is the host's root-side veth end set down: its packets go
 * nowhere (no reset, no error), as when a cable is pulled or a switch port
 * dies. This machine has neither nft nor iptables, and `ip link` needs
 * nothing else.
 */

/** Every namespace, link and process this test makes is named with this. */
export const PREFIX = "jqmh";
/** The hosts' /24. */
export const SUBNET = "10.231.0";
/** The root namespace's address on the bridge (PgBouncer listens here). */
export const GATEWAY = `${SUBNET}.1`;
const BRIDGE = `${PREFIX}-br`;

/** One host: its namespace, its address and its root-side veth end. */
export interface Host {
  name: string;
  ns: string;
  address: string;
  rootLink: string;
}

/** Runs `cmd`; throws with its stderr when it fails (unless `allowFail`). */
export async function sh(
  cmd: string[],
  opts: { allowFail?: boolean } = {},
): Promise<{ ok: boolean; out: string; err: string }> {
  const res = await new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const out = new TextDecoder().decode(res.stdout);
  const err = new TextDecoder().decode(res.stderr);
  if (!res.success && !opts.allowFail) {
    throw new Error(`multihost: \`${cmd.join(" ")}\` failed (${res.code}): ${err.trim()}`);
  }
  return { ok: res.success, out, err };
}

/** Names of the namespaces a run of this test made (maybe left by a dead run). */
async function ourNamespaces(): Promise<string[]> {
  const { out } = await sh(["ip", "netns", "list"], { allowFail: true });
  return out.split("\n").map((l) => l.split(" ")[0]).filter((n) => n.startsWith(`${PREFIX}-`));
}

/**
 * Removes what an earlier run left: kills the processes inside our
 * namespaces (SIGKILL), deletes the namespaces and every link named with
 * {@link PREFIX}. Returns what it removed (empty when nothing was left).
 */
export async function cleanupLeftovers(): Promise<string[]> {
  const removed: string[] = [];
  for (const ns of await ourNamespaces()) {
    const { out } = await sh(["ip", "netns", "pids", ns], { allowFail: true });
    for (const pid of out.split("\n").map(Number).filter((p) => p > 0)) {
      try {
        Deno.kill(pid, "SIGKILL");
        removed.push(`process ${pid} in ${ns}`);
      } catch { /* already gone */ }
    }
    await sh(["ip", "netns", "del", ns], { allowFail: true });
    removed.push(`namespace ${ns}`);
  }
  const { out } = await sh(["ip", "-o", "link", "show"], { allowFail: true });
  for (const line of out.split("\n")) {
    // "12: jqmh-w1-r@if11: <…" — the name ends at "@" or ":".
    const name = line.split(": ")[1]?.split("@")[0];
    if (name?.startsWith(`${PREFIX}-`)) {
      const res = await sh(["ip", "link", "del", name], { allowFail: true });
      if (res.ok) removed.push(`link ${name}`);
    }
  }
  return removed;
}

/**
 * Makes the bridge and one namespace per name, each with its veth pair and
 * address ({@link SUBNET}`.11` on), loopback up. Throws (having made part
 * of it) when a step fails; {@link cleanupLeftovers} removes what was made.
 */
export async function buildNetwork(names: string[]): Promise<Host[]> {
  await sh(["ip", "link", "add", BRIDGE, "type", "bridge"]);
  await sh(["ip", "addr", "add", `${GATEWAY}/24`, "dev", BRIDGE]);
  await sh(["ip", "link", "set", BRIDGE, "up"]);
  const hosts: Host[] = [];
  for (const [i, name] of names.entries()) {
    const ns = `${PREFIX}-${name}`;
    const rootLink = `${PREFIX}-${name}-r`;
    const nsLink = `${PREFIX}-${name}-n`;
    const address = `${SUBNET}.${11 + i}`;
    await sh(["ip", "netns", "add", ns]);
    await sh(["ip", "link", "add", rootLink, "type", "veth", "peer", "name", nsLink]);
    await sh(["ip", "link", "set", nsLink, "netns", ns]);
    await sh(["ip", "link", "set", rootLink, "master", BRIDGE]);
    await sh(["ip", "link", "set", rootLink, "up"]);
    await sh(["ip", "netns", "exec", ns, "ip", "addr", "add", `${address}/24`, "dev", nsLink]);
    await sh(["ip", "netns", "exec", ns, "ip", "link", "set", nsLink, "up"]);
    await sh(["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"]);
    hosts.push({ name, ns, address, rootLink });
  }
  return hosts;
}

/** Cuts `host` off: its root-side link goes down, its packets are dropped. */
export async function cut(host: Host): Promise<void> {
  await sh(["ip", "link", "set", host.rootLink, "down"]);
}

/** Joins `host` again after {@link cut}. */
export async function restore(host: Host): Promise<void> {
  await sh(["ip", "link", "set", host.rootLink, "up"]);
}

/**
 * Why this machine cannot run the test (not root, no `ip`, `ip netns add`
 * refused), or null when it can. Leaves nothing behind.
 */
export async function unsupportedReason(): Promise<string | null> {
  if (Deno.uid() !== 0) return "not root (ip netns needs root)";
  try {
    await sh(["ip", "-V"]);
  } catch {
    return "no `ip` command (iproute2)";
  }
  const probe = `${PREFIX}-probe`;
  const res = await sh(["ip", "netns", "add", probe], { allowFail: true });
  if (!res.ok) return `\`ip netns add\` fails: ${res.err.trim()}`;
  await sh(["ip", "netns", "del", probe], { allowFail: true });
  return null;
}
