/** The worker process's HTTP endpoint: `/healthz` (JSON) and `/metrics` (Prometheus). */
import { log } from "../../lib/log.ts";
import type { Registry } from "prom-client";

/** Options of {@link MetricsServer}. */
export interface MetricsServerOptions {
  /** The process's worker id, for log lines. */
  worker: string;
  hostname: string;
  /** 0: any free port. */
  port: number;
  registry: Registry;
  /** The `/healthz` body; `stopping: true` answers 503. */
  health(): { status: string; stopping: boolean; [key: string]: unknown };
}

/** Serves `/healthz` and `/metrics` from `start()` until `stop()`. */
export class MetricsServer {
  #opts: MetricsServerOptions;
  #server: Deno.HttpServer | null = null;
  #closing = new AbortController();
  #url: string | null = null;

  constructor(opts: MetricsServerOptions) {
    this.#opts = opts;
  }

  /** `http://host:port` once listening, else null. */
  get url(): string | null {
    return this.#url;
  }

  /** Resolves once the server listens. */
  async start(): Promise<void> {
    const ready = Promise.withResolvers<void>();
    this.#server = Deno.serve({
      hostname: this.#opts.hostname,
      port: this.#opts.port,
      signal: this.#closing.signal,
      onListen: ({ hostname, port }) => {
        this.#url = `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
        log("info", "worker.metrics_listening", { worker: this.#opts.worker, url: this.#url });
        ready.resolve();
      },
    }, (req) => this.#handle(req));
    await ready.promise;
  }

  /** Stops accepting requests; resolves when the server has finished. */
  async stop(): Promise<void> {
    this.#closing.abort();
    await this.#server?.finished.catch(() => {});
  }

  async #handle(req: Request): Promise<Response> {
    const path = new URL(req.url).pathname;
    if (path === "/healthz") {
      const { stopping, ...body } = this.#opts.health();
      return Response.json(body, { status: stopping ? 503 : 200 });
    }
    if (path === "/metrics") {
      const registry = this.#opts.registry;
      return new Response(await registry.metrics(), {
        headers: { "content-type": registry.contentType },
      });
    }
    return new Response("not found\n", { status: 404 });
  }
}
