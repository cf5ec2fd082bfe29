/**
 * A real OTLP/HTTP receiver on 127.0.0.1 for tests: accepts POST /v1/metrics, /v1/logs and /v1/traces in
 * `application/x-protobuf` or `application/json`, gzip or not, decodes protobuf with protobufjs and the OTLP
 * schema, and normalises both encodings into flat points and log records the tests can assert on.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { decodeProtobuf, REQUEST_TYPES } from './otlp-schema.ts';

export type Signal = 'metrics' | 'logs' | 'traces';
export type Encoding = 'protobuf' | 'json';
export type AttributeValue = string | number | boolean | null | AttributeValue[] | { [key: string]: AttributeValue };
export type Attributes = Record<string, AttributeValue>;

/** One accepted export request, decoded. */
export interface ReceivedRequest {
  readonly signal: Signal;
  readonly encoding: Encoding;
  readonly gzip: boolean;
  readonly headers: IncomingHttpHeaders;
  /** The request message as OTLP JSON would spell it. */
  readonly body: Record<string, unknown>;
}

/** One metric data point with its metric's descriptor, scope and resource. */
export interface ReceivedPoint {
  readonly metric: string;
  readonly unit: string;
  readonly description: string;
  readonly kind: 'gauge' | 'sum' | 'histogram' | 'unknown';
  readonly temporality: 'delta' | 'cumulative' | undefined;
  readonly monotonic: boolean | undefined;
  readonly value: number;
  readonly attributes: Attributes;
  readonly timeUnixNano: string;
  readonly scope: { readonly name: string; readonly version: string };
  readonly resource: Attributes;
  readonly encoding: Encoding;
  /** Index of the request it came in. */
  readonly request: number;
}

/** One log record with its scope and resource. */
export interface ReceivedLogRecord {
  readonly eventName: string;
  readonly severityNumber: number;
  readonly severityText: string;
  readonly body: AttributeValue;
  readonly attributes: Attributes;
  /** Hex, '' when absent. */
  readonly traceId: string;
  readonly spanId: string;
  readonly timeUnixNano: string;
  readonly scope: { readonly name: string; readonly version: string };
  readonly resource: Attributes;
  readonly encoding: Encoding;
  readonly request: number;
}

/** One span with its events (name and attributes). */
export interface ReceivedSpan {
  readonly name: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly attributes: Attributes;
  readonly events: readonly { readonly name: string; readonly attributes: Attributes }[];
  readonly resource: Attributes;
  readonly request: number;
}

/**
 * A fault the receiver injects, switchable at runtime with `setFault`:
 * - `none`: decode and answer 200;
 * - `refuse`: the port is closed, so connections are refused (ECONNREFUSED), and reopened on the next mode;
 * - `status`: answer every request with `status` (500, 503, 429…), with `Retry-After` when given;
 * - `hang`: read the request and never answer (the exporter's timeout ends it);
 * - `slow`: answer normally after `delayMs`.
 */
export type ReceiverFault =
  | { readonly mode: 'none' }
  | { readonly mode: 'refuse' }
  | { readonly mode: 'status'; readonly status: number; readonly retryAfterSeconds?: number }
  | { readonly mode: 'hang' }
  | { readonly mode: 'slow'; readonly delayMs: number };

export interface OtlpReceiver {
  /** Base URL, e.g. http://127.0.0.1:23456 (what OTEL_EXPORTER_OTLP_ENDPOINT takes). */
  readonly url: string;
  readonly requests: readonly ReceivedRequest[];
  /** Requests that could not be decoded (the receiver answered 400): a non-empty list is a bug in an exporter or here. */
  readonly rejected: readonly { readonly path: string; readonly reason: string }[];
  points(metric?: string): ReceivedPoint[];
  logRecords(): ReceivedLogRecord[];
  spans(): ReceivedSpan[];
  /** Makes the next `count` requests fail with `status` (e.g. 503) before succeeding again. */
  failNext(count: number, status: number): void;
  /** Switches the injected fault; resolves once it is in force (for `refuse`, the port is closed). */
  setFault(fault: ReceiverFault): Promise<void>;
  /** Requests that reached the receiver per signal, answered or not (a refused connection never reaches it). */
  attempts(signal: Signal): number;
  /** Polls `check` until it returns something other than undefined/false; rejects naming `what` after `timeoutMs`. */
  waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs?: number): Promise<T>;
  close(): Promise<void>;
}

const PATHS: Record<string, Signal> = { '/v1/metrics': 'metrics', '/v1/logs': 'logs', '/v1/traces': 'traces' };
const MAX_BODY_BYTES = 64 * 1024 * 1024;

/** Starts a receiver on a free port of 127.0.0.1 below 32768. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const requests: ReceivedRequest[] = [];
  const rejected: { path: string; reason: string }[] = [];
  let failures: { count: number; status: number } = { count: 0, status: 503 };
  let fault: ReceiverFault = { mode: 'none' };
  const attempted: Record<Signal, number> = { metrics: 0, logs: 0, traces: 0 };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      rejected.push({ path: req.url ?? '', reason: String(error) });
      if (!res.headersSent) res.writeHead(500).end();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const signal = PATHS[(req.url ?? '').split('?')[0] ?? ''];
    const raw = await readBody(req);
    if (req.method !== 'POST' || signal === undefined) {
      res.writeHead(404).end();
      return;
    }
    attempted[signal]++;
    const now = fault;
    if (now.mode === 'hang') return; // Never answered: the client's timeout (or close()) ends the request.
    if (now.mode === 'status') {
      const headers: Record<string, string> = { 'content-type': 'text/plain' };
      if (now.retryAfterSeconds !== undefined) headers['retry-after'] = String(now.retryAfterSeconds);
      res.writeHead(now.status, headers).end('injected failure');
      return;
    }
    if (now.mode === 'slow') await new Promise((r) => setTimeout(r, now.delayMs));
    if (failures.count > 0) {
      failures.count--;
      res.writeHead(failures.status, { 'content-type': 'text/plain' }).end('injected failure');
      return;
    }
    const gzip = (req.headers['content-encoding'] ?? '').toLowerCase() === 'gzip';
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    let body: Record<string, unknown>;
    let encoding: Encoding;
    try {
      const bytes = gzip ? gunzipSync(raw) : raw;
      if (contentType === 'application/x-protobuf') {
        encoding = 'protobuf';
        body = decodeProtobuf(signal, bytes);
      } else if (contentType === 'application/json') {
        encoding = 'json';
        body = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
      } else {
        throw new Error(`unsupported content-type ${JSON.stringify(req.headers['content-type'])}`);
      }
    } catch (error) {
      rejected.push({ path: req.url ?? '', reason: (error as Error).message });
      res.writeHead(400, { 'content-type': 'text/plain' }).end((error as Error).message);
      return;
    }
    requests.push({ signal, encoding, gzip, headers: req.headers, body });
    // An empty ExportXServiceResponse: full success.
    if (encoding === 'json') res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    else res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
  }

  const port = await listen(server);
  const url = `http://127.0.0.1:${port}`;
  let listening = true;

  return {
    url,
    requests,
    rejected,
    points: (metric) => {
      const all = requests.flatMap((r, i) => (r.signal === 'metrics' ? pointsOf(r, i) : []));
      return metric === undefined ? all : all.filter((p) => p.metric === metric);
    },
    logRecords: () => requests.flatMap((r, i) => (r.signal === 'logs' ? logRecordsOf(r, i) : [])),
    spans: () => requests.flatMap((r, i) => (r.signal === 'traces' ? spansOf(r, i) : [])),
    failNext: (count, status) => {
      failures = { count, status };
    },
    attempts: (signal) => attempted[signal],
    setFault: async (next) => {
      if (next.mode === 'refuse' && listening) {
        listening = false;
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      } else if (next.mode !== 'refuse' && !listening) {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(port, '127.0.0.1', () => {
            server.off('error', reject);
            resolve();
          });
        });
        listening = true;
      }
      fault = next;
    },
    waitFor: async <T>(what: string, check: () => T | undefined | false, timeoutMs = 15_000): Promise<T> => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const value = check();
        if (value !== undefined && value !== false) return value;
        if (Date.now() > deadline) {
          throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; received ${requests.length} request(s): ${summary(requests)}; rejected: ${JSON.stringify(rejected)}`);
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (!listening) return resolve();
        listening = false;
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function listen(server: Server): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 30_700 + Math.floor(Math.random() * 2_000);
    const ok = await new Promise<boolean>((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException) => (error.code === 'EADDRINUSE' ? resolve(false) : reject(error));
      server.once('error', onError);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', onError);
        resolve(true);
      });
    });
    if (ok) return port;
  }
  throw new Error('OTLP receiver: no free port on 127.0.0.1 in [30700, 32700) after 50 tries');
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error(`request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function summary(requests: readonly ReceivedRequest[]): string {
  const counts = new Map<string, number>();
  for (const r of requests) counts.set(`${r.signal}/${r.encoding}`, (counts.get(`${r.signal}/${r.encoding}`) ?? 0) + 1);
  return [...counts].map(([k, v]) => `${k}×${v}`).join(', ') || 'none';
}

// ---- normalisation (both encodings share the OTLP JSON shape) ----

type Json = Record<string, unknown>;
const list = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);
const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v));

/** AnyValue → plain value. int64 arrives as a string in both encodings; it becomes a number. */
export function anyValue(v: unknown): AttributeValue {
  if (v === null || typeof v !== 'object') return null;
  const o = v as Json;
  if ('stringValue' in o) return str(o.stringValue);
  if ('boolValue' in o) return Boolean(o.boolValue);
  if ('intValue' in o) return Number(o.intValue);
  if ('doubleValue' in o) return Number(o.doubleValue);
  if ('arrayValue' in o) return list((o.arrayValue as Json | undefined)?.values).map(anyValue);
  if ('kvlistValue' in o) return attributes((o.kvlistValue as Json | undefined)?.values);
  if ('bytesValue' in o) return str(o.bytesValue);
  return null;
}

export function attributes(kvs: unknown): Attributes {
  const out: Attributes = {};
  for (const kv of list(kvs)) out[str(kv.key)] = anyValue(kv.value);
  return out;
}

function scopeOf(s: unknown): { name: string; version: string } {
  const o = (s ?? {}) as Json;
  return { name: str(o.name), version: str(o.version) };
}

function temporality(v: unknown): 'delta' | 'cumulative' | undefined {
  // JSON carries the enum as a number (the JS exporter does) or, per protobuf JSON mapping, its name.
  if (v === 1 || v === 'AGGREGATION_TEMPORALITY_DELTA') return 'delta';
  if (v === 2 || v === 'AGGREGATION_TEMPORALITY_CUMULATIVE') return 'cumulative';
  return undefined;
}

/** Flattens one decoded request (also used by the gRPC receiver). */
export function pointsOf(request: ReceivedRequest, index: number): ReceivedPoint[] {
  const out: ReceivedPoint[] = [];
  for (const rm of list(request.body.resourceMetrics)) {
    const resource = attributes((rm.resource as Json | undefined)?.attributes);
    for (const sm of list(rm.scopeMetrics)) {
      const scope = scopeOf(sm.scope);
      for (const m of list(sm.metrics)) {
        const kind = m.gauge !== undefined ? 'gauge' : m.sum !== undefined ? 'sum' : m.histogram !== undefined ? 'histogram' : 'unknown';
        const data = (m.gauge ?? m.sum ?? m.histogram ?? {}) as Json;
        for (const dp of list(data.dataPoints)) {
          const value = dp.asDouble !== undefined ? Number(dp.asDouble) : dp.asInt !== undefined ? Number(dp.asInt) : Number.NaN;
          out.push({
            metric: str(m.name),
            unit: str(m.unit),
            description: str(m.description),
            kind,
            temporality: kind === 'gauge' ? undefined : temporality(data.aggregationTemporality),
            monotonic: kind === 'sum' ? Boolean(data.isMonotonic) : undefined,
            value,
            attributes: attributes(dp.attributes),
            timeUnixNano: str(dp.timeUnixNano),
            scope,
            resource,
            encoding: request.encoding,
            request: index,
          });
        }
      }
    }
  }
  return out;
}

/** Flattens one decoded request (also used by the gRPC receiver). */
export function logRecordsOf(request: ReceivedRequest, index: number): ReceivedLogRecord[] {
  const out: ReceivedLogRecord[] = [];
  for (const rl of list(request.body.resourceLogs)) {
    const resource = attributes((rl.resource as Json | undefined)?.attributes);
    for (const sl of list(rl.scopeLogs)) {
      const scope = scopeOf(sl.scope);
      for (const lr of list(sl.logRecords)) {
        out.push({
          eventName: str(lr.eventName),
          severityNumber: Number(lr.severityNumber ?? 0),
          severityText: str(lr.severityText),
          body: anyValue(lr.body),
          attributes: attributes(lr.attributes),
          traceId: str(lr.traceId).toLowerCase(),
          spanId: str(lr.spanId).toLowerCase(),
          timeUnixNano: str(lr.timeUnixNano),
          scope,
          resource,
          encoding: request.encoding,
          request: index,
        });
      }
    }
  }
  return out;
}

function spansOf(request: ReceivedRequest, index: number): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of list(request.body.resourceSpans)) {
    const resource = attributes((rs.resource as Json | undefined)?.attributes);
    for (const ss of list(rs.scopeSpans)) {
      for (const span of list(ss.spans)) {
        out.push({
          name: str(span.name),
          traceId: str(span.traceId).toLowerCase(),
          spanId: str(span.spanId).toLowerCase(),
          attributes: attributes(span.attributes),
          events: list(span.events).map((e) => ({ name: str(e.name), attributes: attributes(e.attributes) })),
          resource,
          request: index,
        });
      }
    }
  }
  return out;
}

/** Exposed for the receiver's own test: the decoders by signal. */
export const PROTOBUF_TYPES = REQUEST_TYPES;
