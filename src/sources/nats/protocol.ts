/**
 * The part of the NATS client protocol the source speaks, as a parser of what a server sends: `INFO {json}`,
 * `MSG subject sid [reply] bytes` + payload, `HMSG subject sid [reply] headerBytes totalBytes` + headers + payload,
 * `PING`, `PONG`, `+OK`, `-ERR 'text'`. Every line ends in CRLF; payloads are counted in bytes.
 */

/** One thing a server sent. */
export type ServerOp =
  | { readonly op: 'INFO'; readonly info: Record<string, unknown> }
  | { readonly op: 'MSG'; readonly subject: string; readonly sid: string; readonly payload: Buffer; readonly status: number | undefined; readonly description: string }
  | { readonly op: 'PING' }
  | { readonly op: 'PONG' }
  | { readonly op: 'OK' }
  | { readonly op: 'ERR'; readonly message: string };

/** Longest control line accepted (INFO of a large cluster lists many URLs). */
const MAX_LINE = 64 * 1024;
/** Largest payload accepted (a stream info or a consumer info is a few KiB). */
const MAX_PAYLOAD = 8 * 1024 * 1024;

/** Incremental parser: `push` bytes, get the complete operations. */
export class ServerOpParser {
  #buffer: Buffer = Buffer.alloc(0);

  /** Appends `chunk` and returns the operations now complete. @throws Error on a protocol violation. */
  push(chunk: Buffer): ServerOp[] {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const ops: ServerOp[] = [];
    for (;;) {
      const end = this.#buffer.indexOf('\r\n');
      if (end < 0) {
        if (this.#buffer.length > MAX_LINE) throw new Error('the server sent a control line longer than 64 KiB (not a NATS server?)');
        return ops;
      }
      const line = this.#buffer.subarray(0, end).toString('utf8');
      const verb = line.split(' ', 1)[0]!.toUpperCase();
      if (verb === 'MSG' || verb === 'HMSG') {
        const parts = line.split(' ').filter((p) => p !== '');
        const headered = verb === 'HMSG';
        const total = Number(parts[parts.length - 1]);
        const headerBytes = headered ? Number(parts[parts.length - 2]) : 0;
        const minParts = headered ? 5 : 4;
        if (parts.length < minParts || parts.length > minParts + 1 || !Number.isSafeInteger(total) || total < 0 || total > MAX_PAYLOAD || !(headerBytes >= 0 && headerBytes <= total)) {
          throw new Error(`unreadable ${verb} line from the server: "${line.slice(0, 100)}"`);
        }
        const start = end + 2;
        if (this.#buffer.length < start + total + 2) return ops; // the payload is not all here yet
        const headers = this.#buffer.subarray(start, start + headerBytes).toString('utf8');
        const payload = Buffer.from(this.#buffer.subarray(start + headerBytes, start + total));
        this.#buffer = this.#buffer.subarray(start + total + 2);
        const statusLine = headered ? /^NATS\/1\.0(?: (\d{3})(?: ([^\r\n]*))?)?\r\n/.exec(headers) : null;
        ops.push({
          op: 'MSG',
          subject: parts[1]!,
          sid: parts[2]!,
          payload,
          status: statusLine?.[1] === undefined ? undefined : Number(statusLine[1]),
          description: statusLine?.[2] ?? '',
        });
        continue;
      }
      this.#buffer = this.#buffer.subarray(end + 2);
      switch (verb) {
        case 'INFO': {
          let info: unknown;
          try {
            info = JSON.parse(line.slice(5));
          } catch {
            throw new Error('the server\'s INFO is not JSON (not a NATS server?)');
          }
          ops.push({ op: 'INFO', info: typeof info === 'object' && info !== null ? (info as Record<string, unknown>) : {} });
          break;
        }
        case 'PING':
          ops.push({ op: 'PING' });
          break;
        case 'PONG':
          ops.push({ op: 'PONG' });
          break;
        case '+OK':
          ops.push({ op: 'OK' });
          break;
        case '-ERR':
          ops.push({ op: 'ERR', message: line.slice(4).trim().replace(/^'(.*)'$/, '$1') });
          break;
        default:
          throw new Error(`unexpected line from the server: "${line.slice(0, 60)}" (not a NATS client port?)`);
      }
    }
  }
}

/** `PUB subject reply bytes` + payload, as bytes to write. */
export function encodePub(subject: string, reply: string, payload: string): Buffer {
  const body = Buffer.from(payload, 'utf8');
  return Buffer.concat([Buffer.from(`PUB ${subject} ${reply} ${body.length}\r\n`), body, Buffer.from('\r\n')]);
}
