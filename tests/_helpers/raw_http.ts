/**
 * HTTP/1.1 requests written by hand over TCP, for what `fetch` will not send:
 * a `Host` header of the caller's choosing (DNS rebinding), an asterisk-form
 * request target (`OPTIONS *`), method names of any length.
 */

/** A parsed answer: status, lower-case header names, body text. */
export interface RawResponse {
  status: number;
  headers: Headers;
  body: string;
}

/** Options of {@link rawRequest}. */
export interface RawRequest {
  method?: string;
  /** The request target as sent: `/api/stats`, `*`. */
  target: string;
  /** The Host header; `null` sends none. */
  host: string | null;
  headers?: Record<string, string>;
  body?: string;
}

/** Sends one request to 127.0.0.1:`port` on a fresh connection and reads the whole answer. */
export async function rawRequest(port: number, req: RawRequest): Promise<RawResponse> {
  const body = new TextEncoder().encode(req.body ?? "");
  const lines = [`${req.method ?? "GET"} ${req.target} HTTP/1.1`];
  if (req.host !== null) lines.push(`Host: ${req.host}`);
  for (const [k, v] of Object.entries(req.headers ?? {})) lines.push(`${k}: ${v}`);
  if (body.length) lines.push(`Content-Length: ${body.length}`);
  lines.push("Connection: close", "", "");
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(lines.join("\r\n")));
    if (body.length) await conn.write(body);
    const text = await new Response(conn.readable).text();
    const [head, ...rest] = text.split("\r\n\r\n");
    const [statusLine, ...headerLines] = head.split("\r\n");
    const headers = new Headers();
    for (const l of headerLines) {
      const i = l.indexOf(":");
      if (i > 0) headers.append(l.slice(0, i).trim(), l.slice(i + 1).trim());
    }
    return { status: Number(statusLine.split(" ")[1]), headers, body: rest.join("\r\n\r\n") };
  } finally {
    try {
      conn.close();
    } catch {
      // already closed by reading its stream to the end
    }
  }
}
