/**
 * The HTTP connections of one OTLP/HTTP exporter, owned by startTelemetry so that (1) an HTTP status answered by the
 * collector can be named in failure reports (the SDK's retrying transport drops it for 429/502/503/504) and (2) at
 * the shutdown deadline the requests still hanging can be ended and no new connection opened.
 * Public Node APIs only: the exporter's `httpAgentOptions` agent factory and the `http.client.*` diagnostics channels.
 * @internal
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { resolve } from 'node:path';

/** The last HTTP answer the collector gave on this connection. */
export interface HttpAnswer {
  readonly status: number;
  readonly statusText: string;
  /** The Retry-After header as sent, if any. */
  readonly retryAfter: string | undefined;
}

/** The error a request still in flight at the shutdown deadline ends with. Not retryable for the SDK's transport. */
export class ExportAbortedError extends Error {
  readonly code = 'ERR_REPLICATION_LAG_EXPORT_ABORTED';
  constructor(reason: string) {
    super(reason);
    this.name = 'ExportAbortedError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

interface RequestStart {
  request: http.ClientRequest;
}
interface RequestError {
  request: http.ClientRequest;
  error: Error;
}
interface ResponseFinish {
  request: http.ClientRequest;
  response: http.IncomingMessage;
}

/** One signal's connection pool. `agentFactory` goes into the exporter's `httpAgentOptions`. */
export class ExportConnection {
  private agent: http.Agent | undefined;
  private closedReason: string | undefined;
  private readonly live = new Set<http.ClientRequest>();
  private readonly timedOut = new WeakSet<http.ClientRequest>();
  private answer: HttpAnswer | undefined;
  private error: Error | undefined;
  private readonly signal: 'METRICS' | 'LOGS';
  private readonly env: Env;

  constructor(options: { signal: 'METRICS' | 'LOGS'; env: Env }) {
    this.signal = options.signal;
    this.env = options.env;
  }

  /** The last HTTP answer since `clearAnswer()`, if any. */
  get lastAnswer(): HttpAnswer | undefined {
    return this.answer;
  }

  /** How the last attempt ended, answer or network error (e.g. ECONNREFUSED), if it has ended. */
  get lastAttempt(): { answer: HttpAnswer } | { error: Error } | undefined {
    return this.answer !== undefined ? { answer: this.answer } : this.error !== undefined ? { error: this.error } : undefined;
  }

  clearAnswer(): void {
    this.answer = undefined;
    this.error = undefined;
  }

  /** For the exporter's `httpAgentOptions`: one agent per connection, created on the first export. */
  readonly agentFactory = async (protocol: string): Promise<http.Agent> => {
    if (this.agent !== undefined) return this.agent;
    const self = this;
    const refuseWhenClosed = (agent: http.Agent, create: http.Agent['createConnection']): http.Agent['createConnection'] =>
      function createConnection(this: unknown, options, callback) {
        if (self.closedReason !== undefined) {
          callback?.(new ExportAbortedError(self.closedReason), undefined as never);
          return undefined;
        }
        return create.call(agent, options, callback);
      };
    let agent: http.Agent;
    if (protocol === 'https:') {
      // The SDK's own factory reads these when no agent is given; keep honouring them.
      agent = new https.Agent({ keepAlive: true, ca: this.file('CERTIFICATE'), cert: this.file('CLIENT_CERTIFICATE'), key: this.file('CLIENT_KEY') });
    } else {
      agent = new http.Agent({ keepAlive: true });
    }
    agent.createConnection = refuseWhenClosed(agent, agent.createConnection.bind(agent));
    this.agent = agent;
    if (this.closedReason !== undefined) return agent; // First used after close(): it refuses every connection.
    subscribe('http.client.request.start', this.onStart);
    subscribe('http.client.response.finish', this.onResponse);
    subscribe('http.client.request.error', this.onError);
    return agent;
  };

  /**
   * Ends every request in flight (with an error the SDK does not retry), drops idle sockets and refuses new
   * connections: nothing of this exporter keeps the process alive or waits on the network afterwards.
   */
  close(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    for (const request of this.live) request.destroy(new ExportAbortedError(reason));
    this.live.clear();
    this.agent?.destroy();
    unsubscribe('http.client.request.start', this.onStart);
    unsubscribe('http.client.response.finish', this.onResponse);
    unsubscribe('http.client.request.error', this.onError);
  }

  private readonly onStart = (message: unknown): void => {
    const { request } = message as RequestStart;
    if (this.agent === undefined || (request as { agent?: unknown }).agent !== this.agent) return;
    if (this.closedReason !== undefined) return;
    this.live.add(request);
    request.once('close', () => this.live.delete(request));
    // The SDK ends a request at its timeout with destroy(): the error that follows is "socket hang up", not the cause.
    request.once('timeout', () => this.timedOut.add(request));
  };

  private readonly onResponse = (message: unknown): void => {
    const { request, response } = message as ResponseFinish;
    if (this.agent === undefined || (request as { agent?: unknown }).agent !== this.agent) return;
    const retryAfter = response.headers['retry-after'];
    this.error = undefined;
    this.answer = { status: response.statusCode ?? 0, statusText: response.statusMessage ?? '', retryAfter: typeof retryAfter === 'string' ? retryAfter : undefined };
  };

  private readonly onError = (message: unknown): void => {
    const { request, error } = message as RequestError;
    if (this.agent === undefined || (request as { agent?: unknown }).agent !== this.agent || error instanceof ExportAbortedError) return;
    this.answer = undefined;
    this.error = this.timedOut.has(request) ? new Error('Request timed out') : error;
  };

  private file(name: 'CERTIFICATE' | 'CLIENT_CERTIFICATE' | 'CLIENT_KEY'): Buffer | undefined {
    const path = this.env[`OTEL_EXPORTER_OTLP_${this.signal}_${name}`]?.trim() || this.env[`OTEL_EXPORTER_OTLP_${name}`]?.trim();
    if (!path) return undefined;
    try {
      return readFileSync(resolve(process.cwd(), path));
    } catch {
      return undefined; // The SDK warns about an unreadable file in the same way: it goes on without it.
    }
  }
}
