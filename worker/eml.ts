/**
 * A plain-text message as an RFC 5322 `.eml` file, for the outbox: what
 * nodemailer would produce for it, without loading nodemailer (a few MB in
 * every Web Worker that only ever writes to the outbox). Non-ASCII header
 * text becomes RFC 2047 encoded words; a body that is not short-lined ASCII
 * is sent base64.
 */

/** One outbox message. Header values must be single lines (the payload schemas ensure it). */
export interface EmlMessage {
  from: string;
  to: string;
  subject: string;
  text: string;
  messageId: string;
  headers?: Record<string, string>;
  date?: Date;
}

const ASCII_LINE = /^[\x20-\x7e]*$/;

function base64(bytes: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}

/** `text` as is when printable ASCII, else UTF-8 encoded words of at most 75 characters. */
export function encodeWords(text: string): string {
  if (ASCII_LINE.test(text)) return text;
  const chars = [...text];
  const words: string[] = [];
  // 11 code points are at most 44 bytes: 60 base64 characters, 72 with the "=?UTF-8?B?…?=".
  for (let i = 0; i < chars.length; i += 11) {
    const bytes = new TextEncoder().encode(chars.slice(i, i + 11).join(""));
    words.push(`=?UTF-8?B?${base64(bytes)}?=`);
  }
  return words.join("\r\n ");
}

/** An address header value: a non-ASCII display name encoded, the address kept. */
function encodeAddress(value: string): string {
  const m = /^\s*(.*?)\s*<([^<>]+)>\s*$/.exec(value);
  if (!m || !ASCII_LINE.test(m[2])) return encodeWords(value);
  return ASCII_LINE.test(m[1]) ? value : `${encodeWords(m[1])} <${m[2]}>`;
}

/** The body and its transfer encoding: 7bit for short-lined ASCII, else base64 in 76-character lines. */
function encodeBody(text: string): { encoding: string; body: string } {
  const lines = text.replace(/\r\n|\r/g, "\n").split("\n");
  if (lines.every((l) => l.length <= 998 && ASCII_LINE.test(l.replaceAll("\t", " ")))) {
    return { encoding: "7bit", body: lines.join("\r\n") };
  }
  const b64 = base64(new TextEncoder().encode(text));
  return { encoding: "base64", body: b64.replace(/.{1,76}/g, "$&\r\n").trimEnd() };
}

/** The complete message, CRLF line ends, UTF-8. */
export function composeEml(msg: EmlMessage): Uint8Array {
  const { encoding, body } = encodeBody(msg.text);
  const headers = [
    `From: ${encodeAddress(msg.from)}`,
    `To: ${encodeAddress(msg.to)}`,
    `Subject: ${encodeWords(msg.subject)}`,
    `Message-ID: ${msg.messageId}`,
    ...Object.entries(msg.headers ?? {}).map(([k, v]) => `${k}: ${encodeWords(v)}`),
    `Date: ${(msg.date ?? new Date()).toUTCString().replace("GMT", "+0000")}`,
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    `Content-Transfer-Encoding: ${encoding}`,
  ];
  return new TextEncoder().encode(`${headers.join("\r\n")}\r\n\r\n${body}\r\n`);
}
