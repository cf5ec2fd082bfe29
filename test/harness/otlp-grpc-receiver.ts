/**
 * A real OTLP/gRPC receiver on 127.0.0.1 for tests: a `@grpc/grpc-js` server implementing
 * `opentelemetry.proto.collector.metrics.v1.MetricsService/Export` and `...logs.v1.LogsService/Export`, plaintext
 * or TLS. Requests are decoded with protobufjs and the OTLP schema the HTTP receiver uses, and normalised into the
 * same flat points and log records, so tests assert on both transports alike.
 */
import { Server, ServerCredentials, status, type sendUnaryData, type ServerUnaryCall, type ServiceDefinition } from '@grpc/grpc-js';
import { logRecordsOf, pointsOf, type ReceivedLogRecord, type ReceivedPoint, type ReceivedRequest } from './otlp-receiver.ts';
import { decodeProtobuf } from './otlp-schema.ts';

/** The gRPC method path of each signal's Export call (opentelemetry-proto, collector/*\/v1). */
export const EXPORT_METHODS = {
  metrics: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
  logs: '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
} as const;

export interface OtlpGrpcReceiverOptions {
  /** Serve TLS with this PEM certificate and key (the URL is then https://). Default: plaintext (http://). */
  tls?: { cert: string; key: string };
  /** Ports to pick from, [min, max). Default [20000, 32000). */
  ports?: readonly [number, number];
}

/** One accepted Export call: the decoded request plus when it came and the deadline the client set. */
export interface ReceivedGrpcRequest extends ReceivedRequest {
  /** Date.now() when the call was handled. */
  readonly receivedAt: number;
  /** The client's deadline as epoch milliseconds; Infinity when it set none. */
  readonly deadline: number;
}

export interface OtlpGrpcReceiver {
  /** `http://127.0.0.1:<port>` (plaintext) or `https://127.0.0.1:<port>` (TLS): what OTEL_EXPORTER_OTLP_ENDPOINT takes. */
  readonly url: string;
  readonly port: number;
  /** Accepted Export calls, decoded; `headers` holds the call's metadata (text values). */
  readonly requests: readonly ReceivedGrpcRequest[];
  /** Calls that could not be decoded (answered INVALID_ARGUMENT): a non-empty list is a bug in an exporter or here. */
  readonly rejected: readonly { readonly method: string; readonly reason: string }[];
  points(metric?: string): ReceivedPoint[];
  logRecords(): ReceivedLogRecord[];
  /** Polls `check` until it returns something other than undefined/false; rejects naming `what` after `timeoutMs`. */
  waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs?: number): Promise<T>;
  /**
   * Switches the injected fault; resolves once it is in force: `refuse` closes the port (connections refused,
   * UNAVAILABLE) and the next mode reopens it on the same port; `hang` never answers (the client's deadline ends
   * the call); `slow` answers after `delayMs`.
   */
  setFault(fault: GrpcReceiverFault): Promise<void>;
  close(): Promise<void>;
}

export type GrpcReceiverFault = { readonly mode: 'none' } | { readonly mode: 'refuse' } | { readonly mode: 'hang' } | { readonly mode: 'slow'; readonly delayMs: number };

/** A method whose messages stay raw bytes: the receiver decodes them itself, with the OTLP schema. */
function rawMethod(path: string) {
  const identity = (b: Buffer): Buffer => b;
  return { path, requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity };
}

/** Starts a receiver on a free port of 127.0.0.1 (below 32768 by default). */
export async function startOtlpGrpcReceiver(options: OtlpGrpcReceiverOptions = {}): Promise<OtlpGrpcReceiver> {
  const requests: ReceivedGrpcRequest[] = [];
  const rejected: { method: string; reason: string }[] = [];
  let fault: GrpcReceiverFault = { mode: 'none' };
  const hung = new Set<() => void>();
  const createServer = (): Server => {
  const server = new Server();

  for (const signal of ['metrics', 'logs'] as const) {
    const definition = { Export: rawMethod(EXPORT_METHODS[signal]) } as unknown as ServiceDefinition;
    server.addService(definition, {
      Export: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
        let body: Record<string, unknown>;
        try {
          body = decodeProtobuf(signal, call.request);
        } catch (error) {
          rejected.push({ method: EXPORT_METHODS[signal], reason: (error as Error).message });
          callback({ code: status.INVALID_ARGUMENT, details: (error as Error).message });
          return;
        }
        if (fault.mode === 'hang') {
          hung.add(() => callback({ code: status.UNAVAILABLE, details: 'receiver closed' }));
          return;
        }
        const headers: Record<string, string> = {};
        for (const [key, value] of Object.entries(call.metadata.getMap())) if (typeof value === 'string') headers[key] = value;
        const deadline = call.getDeadline();
        requests.push({
          signal,
          encoding: 'protobuf',
          gzip: headers['grpc-encoding'] === 'gzip',
          headers,
          body,
          receivedAt: Date.now(),
          deadline: deadline instanceof Date ? deadline.getTime() : deadline,
        });
        // An empty Export<Signal>ServiceResponse: full success.
        if (fault.mode === 'slow') setTimeout(() => callback(null, Buffer.alloc(0)), fault.delayMs);
        else callback(null, Buffer.alloc(0));
      },
    });
  }

  return server;
  };
  let server = createServer();

  const credentials = options.tls
    ? ServerCredentials.createSsl(null, [{ private_key: Buffer.from(options.tls.key), cert_chain: Buffer.from(options.tls.cert) }], false)
    : ServerCredentials.createInsecure();
  const port = await bind(server, credentials, options.ports ?? [20_000, 32_000]);
  const url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`;

  return {
    url,
    port,
    requests,
    rejected,
    points: (metric) => {
      const all = requests.flatMap((r, i) => (r.signal === 'metrics' ? pointsOf(r, i) : []));
      return metric === undefined ? all : all.filter((p) => p.metric === metric);
    },
    logRecords: () => requests.flatMap((r, i) => (r.signal === 'logs' ? logRecordsOf(r, i) : [])),
    waitFor: async <T>(what: string, check: () => T | undefined | false, timeoutMs = 15_000): Promise<T> => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const value = check();
        if (value !== undefined && value !== false) return value;
        if (Date.now() > deadline) {
          const counts = `${requests.filter((r) => r.signal === 'metrics').length} metrics, ${requests.filter((r) => r.signal === 'logs').length} logs`;
          throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; received ${counts} call(s); rejected: ${JSON.stringify(rejected)}`);
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    setFault: async (next) => {
      const wasRefusing = fault.mode === 'refuse';
      fault = next;
      if (next.mode === 'refuse' && !wasRefusing) {
        for (const end of hung) end();
        hung.clear();
        server.forceShutdown();
        return;
      }
      if (next.mode !== 'refuse' && wasRefusing) {
        server = createServer();
        for (let attempt = 0; ; attempt++) {
          try {
            await new Promise<number>((resolve, reject) => server.bindAsync(`127.0.0.1:${port}`, credentials, (error, bound) => (error ? reject(error) : resolve(bound))));
            return;
          } catch (error) {
            if (attempt >= 40) throw error;
            await new Promise((r) => setTimeout(r, 50));
          }
        }
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const end of hung) end();
        hung.clear();
        // Graceful first (in-flight calls finish), then force after a bound.
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}

async function bind(server: Server, credentials: ServerCredentials, [min, max]: readonly [number, number]): Promise<number> {
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = min + Math.floor(Math.random() * (max - min));
    try {
      return await new Promise<number>((resolve, reject) => server.bindAsync(`127.0.0.1:${port}`, credentials, (error, bound) => (error ? reject(error) : resolve(bound))));
    } catch (error) {
      lastError = error as Error;
    }
  }
  throw new Error(`OTLP gRPC receiver: no free port on 127.0.0.1 in [${min}, ${max}) after 50 tries: ${lastError?.message}`);
}
