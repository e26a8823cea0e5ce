/**
 * A handlers module whose import waits for a go-ahead: the runner importing
 * it stays "starting" until the test posts the runner's name (its
 * `locked_by`, the Web Worker's name) or `"*"` on the `jobq-gated-handlers`
 * BroadcastChannel. Lets a test hold runners in their start-up.
 */
import type { HandlerMap } from "../../worker/types.ts";

const GATE_CHANNEL = "jobq-gated-handlers";

await new Promise<void>((resolve) => {
  const channel = new BroadcastChannel(GATE_CHANNEL);
  channel.onmessage = (e: MessageEvent<string>) => {
    if (e.data !== "*" && e.data !== self.name) return;
    channel.close();
    resolve();
  };
});

export const handlers: HandlerMap = {
  noop: { timeoutSeconds: 5, run: () => Promise.resolve(null) },
};
