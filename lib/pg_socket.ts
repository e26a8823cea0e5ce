/**
 * A socket for postgres.js on `Deno.connect`: the part of Node's `net.Socket`
 * that postgres.js (vendor/postgres/src/connection.js) uses, without going
 * through Deno's Node-compatibility layer for every read and write.
 *
 * postgres.js takes it through its `socket` option (a factory called once per
 * connection attempt). It treats the socket it gets as connected and writes
 * its startup message at once, so {@link DenoPgSocket} connects in the
 * background and holds writes until it has; a failed connect is an `error`
 * then a `close`, as with `net.Socket`, so postgres.js reconnects as usual.
 * postgres.js starts its `connect_timeout` timer when the factory returns,
 * and `destroy()` aborts a connect still under way.
 *
 * Not for TLS: postgres.js would wrap this object in `tls.connect`, which
 * wants a Node stream. {@link pgSocketFactory} returns `undefined` for such
 * options and postgres.js keeps its `node:net` path.
 */
import { Buffer } from "node:buffer";
import { EventEmitter } from "node:events";

/** The postgres.js options the factory reads (its parsed options object). */
export interface PgSocketOptions {
  host: string[];
  port: number[];
  path?: string | false;
  ssl?: unknown;
}

/** Bytes buffered for writing above which `write()` returns false (as `net.Socket`'s 16 KiB). */
const HIGH_WATER_MARK = 16 * 1024;
/** Size of the read buffer; a read that fills less than {@link COPY_BELOW} of it is copied out. */
const READ_SIZE = 64 * 1024;
const COPY_BELOW = 16 * 1024;

type WriteCallback = (err?: Error | null) => void;

/**
 * A Node error like `net.Socket`'s for a failed connect or a broken
 * connection: `connect ECONNREFUSED 127.0.0.1:1` with `code`, `syscall`,
 * `address` and `port`, so callers that look at `err.code` see what they
 * saw with `node:net`.
 */
function nodeError(err: unknown, syscall: string, address: string, port?: number): Error {
  const e = err instanceof Error ? err : new Error(String(err));
  const code = (e as { code?: unknown }).code;
  const name = typeof code === "string" ? code : errorCode(e);
  const where = port === undefined ? address : `${address}:${port}`;
  const out = new Error(`${syscall} ${name} ${where}`, { cause: e });
  return Object.assign(out, {
    code: name,
    errno: name,
    syscall,
    address,
    ...(port === undefined ? {} : { port }),
  });
}

function errorCode(e: Error): string {
  if (e instanceof Deno.errors.ConnectionRefused) return "ECONNREFUSED";
  if (e instanceof Deno.errors.ConnectionReset) return "ECONNRESET";
  if (e instanceof Deno.errors.ConnectionAborted) return "ECONNABORTED";
  if (e instanceof Deno.errors.BrokenPipe) return "EPIPE";
  if (e instanceof Deno.errors.TimedOut) return "ETIMEDOUT";
  if (e instanceof Deno.errors.NotFound) return "ENOENT";
  if (e instanceof Deno.errors.PermissionDenied) return "EACCES";
  return "EIO";
}

/** The connection as a TCP one, or null for a Unix socket. */
function asTcp(conn: Deno.Conn): Deno.TcpConn | null {
  return "setNoDelay" in conn ? conn as Deno.TcpConn : null;
}

/** One connection to PostgreSQL, shaped like the `net.Socket` postgres.js expects. */
export class DenoPgSocket extends EventEmitter {
  /** Where it connects (postgres.js names them in its connection errors). */
  readonly host: string;
  readonly port: number | undefined;
  /** `"open"` from creation (postgres.js writes at once) until `"closed"`. */
  readyState: "open" | "closed" = "open";
  /** This end's TCP port once `Deno.connect` has settled with a connection (kept after close). */
  localPort: number | undefined;

  #conn: Deno.Conn | null = null;
  /** True once `Deno.connect` has settled (either way). */
  #settled = false;
  #keepAlive = false;
  #abort = new AbortController();
  #queue: Uint8Array[] = [];
  #callbacks: WriteCallback[] = [];
  #queued = 0;
  #writing = false;
  #needDrain = false;
  #ending = false;
  #destroyed = false;
  #closeEmitted = false;
  #paused = false;
  #resume: (() => void) | null = null;
  #reading: Promise<void> | null = null;
  #writer: Promise<void> | null = null;

  constructor(target: { hostname: string; port: number } | { path: string }) {
    super();
    if ("path" in target) {
      this.host = target.path;
      this.port = undefined;
    } else {
      this.host = target.hostname;
      this.port = target.port;
    }
    this.#connect(target).catch((err) =>
      this.#fail(nodeError(err, "connect", this.host, this.port))
    );
  }

  async #connect(target: { hostname: string; port: number } | { path: string }): Promise<void> {
    let conn: Deno.Conn;
    try {
      conn = "path" in target
        ? await Deno.connect({ transport: "unix", path: target.path })
        : await Deno.connect({
          hostname: target.hostname,
          port: target.port,
          signal: this.#abort.signal,
        });
    } catch (err) {
      this.#settled = true;
      if (!this.#destroyed) this.#fail(nodeError(err, "connect", this.host, this.port));
      else this.#finish(false);
      return;
    }
    this.#settled = true;
    if (conn.localAddr.transport === "tcp") this.localPort = conn.localAddr.port;
    if (this.#destroyed) {
      conn.close();
      this.#finish(false);
      return;
    }
    this.#conn = conn;
    const tcp = asTcp(conn);
    tcp?.setNoDelay(true);
    if (this.#keepAlive) tcp?.setKeepAlive(true);
    this.#reading = this.#readLoop(conn);
    if (this.#queue.length || this.#ending) this.#writer = this.#writeLoop(conn);
    this.emit("connect");
  }

  /** TCP keep-alive on or off (the delay is the system's; Deno does not set it per socket). */
  setKeepAlive(enable = false, _initialDelayMs = 0): this {
    this.#keepAlive = enable;
    if (this.#conn) asTcp(this.#conn)?.setKeepAlive(enable);
    return this;
  }

  /** Always on already: postgres.js batches its writes itself. */
  setNoDelay(_noDelay = true): this {
    return this;
  }

  /**
   * Queues `chunk` for the connection. False when more than 16 KiB are
   * waiting: `drain` follows once they are written. `cb` runs once this chunk
   * is written (or with the error that stopped it).
   */
  write(chunk: Uint8Array | string, cb?: WriteCallback): boolean {
    if (this.#destroyed || this.#ending) {
      const err = nodeError(new Deno.errors.BrokenPipe(), "write", this.host, this.port);
      if (cb) queueMicrotask(() => cb(err));
      return false;
    }
    const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    this.#queue.push(bytes);
    if (cb) this.#callbacks[this.#queue.length - 1] = cb;
    this.#queued += bytes.length;
    if (this.#conn && !this.#writing) this.#writer = this.#writeLoop(this.#conn);
    if (this.#queued >= HIGH_WATER_MARK) {
      this.#needDrain = true;
      return false;
    }
    return true;
  }

  async #writeLoop(conn: Deno.Conn): Promise<void> {
    this.#writing = true;
    try {
      while (this.#queue.length && !this.#destroyed) {
        const chunks = this.#queue;
        const callbacks = this.#callbacks;
        this.#queue = [];
        this.#callbacks = [];
        const bytes = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
        try {
          let off = 0;
          while (off < bytes.length) off += await conn.write(bytes.subarray(off));
        } catch (err) {
          const e = nodeError(
            this.#destroyed ? new Deno.errors.BrokenPipe() : err,
            "write",
            this.host,
            this.port,
          );
          for (const cb of callbacks) cb?.(e);
          this.#fail(e);
          return;
        }
        this.#queued -= bytes.length;
        for (const cb of callbacks) cb?.(null);
      }
    } finally {
      this.#writing = false;
    }
    if (this.#destroyed) return;
    if (this.#ending) {
      // Half-close like net.Socket.end(): the server answers with EOF, the reader then closes.
      await conn.closeWrite().catch(() => this.destroy());
      return;
    }
    if (this.#needDrain) {
      this.#needDrain = false;
      this.emit("drain");
    }
  }

  async #readLoop(conn: Deno.Conn): Promise<void> {
    let buf = new Uint8Array(READ_SIZE);
    while (!this.#destroyed) {
      if (this.#paused) {
        await new Promise<void>((r) => this.#resume = r);
        continue;
      }
      let n: number | null;
      try {
        n = await conn.read(buf);
      } catch (err) {
        if (!this.#destroyed) this.#fail(nodeError(err, "read", this.host, this.port));
        return;
      }
      if (n === null) {
        // The server closed the connection (or answered our end()): close ours too.
        this.#close(false);
        return;
      }
      let chunk: Buffer;
      if (n < COPY_BELOW) {
        chunk = Buffer.allocUnsafe(n);
        chunk.set(buf.subarray(0, n));
      } else {
        // A large read is handed over as it is; the next read gets a new buffer.
        chunk = Buffer.from(buf.buffer, 0, n);
        buf = new Uint8Array(READ_SIZE);
      }
      this.emit("data", chunk);
    }
  }

  /** Stops reading (postgres.js, when a COPY stream's reader is behind). */
  pause(): this {
    this.#paused = true;
    return this;
  }

  /** Reads again after {@link pause}. */
  resume(): this {
    this.#paused = false;
    const r = this.#resume;
    this.#resume = null;
    r?.();
    return this;
  }

  /** Writes `data` if given, then half-closes: `close` follows when the server has closed too. */
  end(data?: Uint8Array | string, cb?: () => void): this {
    if (this.#destroyed || this.#ending) return this;
    if (data !== undefined) this.write(data);
    this.#ending = true;
    if (cb) this.once("close", cb);
    if (this.#conn && !this.#writing) this.#writer = this.#writeLoop(this.#conn);
    return this;
  }

  /** Closes the connection now (aborting a connect under way); `close` follows. */
  destroy(err?: Error): this {
    if (this.#destroyed) return this;
    if (err) {
      this.#fail(err);
      return this;
    }
    this.#close(false);
    return this;
  }

  #fail(err: Error): void {
    if (this.#destroyed) return;
    this.#close(true, err);
  }

  #close(hadError: boolean, err?: Error): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.readyState = "closed";
    this.#abort.abort();
    const conn = this.#conn;
    this.#conn = null;
    if (conn) {
      try {
        conn.close();
      } catch { /* already closed */ }
    }
    // Writes never sent: their callbacks learn it.
    const dropped = this.#callbacks;
    this.#queue = [];
    this.#callbacks = [];
    this.#queued = 0;
    if (dropped.length) {
      const e = err ?? nodeError(new Deno.errors.BrokenPipe(), "write", this.host, this.port);
      for (const cb of dropped) cb?.(e);
    }
    const r = this.#resume;
    this.#resume = null;
    r?.();
    if (err && this.listenerCount("error") > 0) this.emit("error", err);
    if (this.#settled) this.#finish(hadError);
    // else: #connect sees #destroyed when Deno.connect settles and finishes then.
  }

  /** Emits `close` once every pending read, write and connect has settled (no leaked ops). */
  #finish(hadError: boolean): void {
    if (this.#closeEmitted) return;
    this.#closeEmitted = true;
    const pending = [this.#reading, this.#writer].filter((p) => p !== null);
    Promise.allSettled(pending).then(() => this.emit("close", hadError));
  }
}

/**
 * The `socket` option for postgres.js when these (parsed) options can use it:
 * one host over TCP or a Unix socket, no TLS. Otherwise `undefined`, and
 * postgres.js uses `node:net` (and `node:tls`) as before.
 */
export function pgSocketFactory(options: PgSocketOptions): (() => DenoPgSocket) | undefined {
  if (options.ssl) return undefined;
  if (options.path) {
    const path = options.path;
    return () => new DenoPgSocket({ path });
  }
  if (options.host.length !== 1) return undefined;
  const hostname = options.host[0];
  const port = options.port[0];
  return () => new DenoPgSocket({ hostname, port });
}
