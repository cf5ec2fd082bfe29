/**
 * The HTTP server of the status endpoints (`/status`, `/check`, `/healthz`, `/readyz`, `/history`, the page at
 * `/`), alone on its port or sharing it with the Prometheus endpoint (`metrics`). Node's `http` only.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HttpAnswer } from './answer.ts';
import { route } from './routes.ts';
import type { StatusView } from './view.ts';

/** Options of `startStatusServer`. */
export interface StatusServerOptions {
  port: number;
  host: string;
  view: StatusView;
  /** A Prometheus endpoint served on the same port: its path and its request handler. */
  metrics?: { path: string; handle: (request: IncomingMessage, response: ServerResponse) => void };
}

/** A running status server. */
export interface StatusServer {
  /** `http://host:port` (the port actually bound: 0 picks a free one). */
  readonly url: string;
  readonly port: number;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

function send(response: ServerResponse, answer: HttpAnswer, head: boolean): void {
  response.writeHead(answer.status, { ...answer.headers, 'content-length': Buffer.byteLength(answer.body), 'x-content-type-options': 'nosniff' });
  response.end(head ? undefined : answer.body);
}

/** Starts the server. @throws Error naming the address when it cannot listen. */
export async function startStatusServer(options: StatusServerOptions): Promise<StatusServer> {
  const { view, metrics } = options;
  const server: Server = createServer((request, response) => {
    try {
      const path = (request.url ?? '/').split('?')[0];
      if (metrics !== undefined && path === metrics.path) {
        metrics.handle(request, response);
        return;
      }
      const answer = route(view, request.method ?? 'GET', request.url ?? '/', Date.now());
      if (answer === undefined) {
        send(response, { status: 404, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: `not found; try /, /status, /check, /healthz or /readyz${metrics ? ` or ${metrics.path}` : ''}\n` }, request.method === 'HEAD');
        return;
      }
      send(response, answer, request.method === 'HEAD');
    } catch (error) {
      if (!response.headersSent) send(response, { status: 500, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: `internal error: ${(error as Error).name}\n` }, false);
      else response.destroy();
    }
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((error: Error) => {
    throw new Error(`cannot serve the status endpoints on ${options.host}:${options.port}: ${error.message}`);
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = options.host.includes(':') ? `[${options.host}]` : options.host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${shownHost}:${port}`,
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
