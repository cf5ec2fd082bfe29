/** The status endpoints of `replag` and `startTelemetry({ http })`: status, throttle check, health, page. */
export { startStatusServer, type StatusServer, type StatusServerOptions } from './server.ts';
export { route, STATUS_PATHS } from './routes.ts';
export { DEFAULT_POLL_TIMEOUT_MS, pollState, type PollState, type StatusSource, type StatusView } from './view.ts';
export type { HttpAnswer } from './answer.ts';
export type { StatusNode, StatusSourceDocument } from './status.ts';
