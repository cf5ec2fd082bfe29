/**
 * replag's diagnostics: every OpenTelemetry diag message as one `replag: …` line on stderr (no stack traces, no
 * multi-line JSON), and the SDK's global error handler quiet on export failures already reported once per change.
 */
import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import { setGlobalErrorHandler } from '@opentelemetry/core';
import { isReportedExportFailure } from '../sdk/index.ts';

const MAX_LINE = 400;

/** One argument of a diag call as short text: an error by its message, an object as compact JSON. */
function argText(arg: unknown): string {
  if (arg instanceof Error) return arg.message;
  if (typeof arg === 'string') return arg;
  try {
    return JSON.stringify(arg) ?? String(arg);
  } catch {
    return String(arg);
  }
}

/** `message` and its arguments as one line of at most 400 characters, without the package prefix. */
export function diagLine(message: string, args: readonly unknown[]): string {
  let text = [message, ...args.map(argText)].join(' ').replace(/^otel-replication-lag: /, '');
  // The SDK's global error handler logs an exception as flattened JSON: keep its message.
  if (text.startsWith('{"stack":')) {
    try {
      const parsed = JSON.parse(text) as { message?: string };
      if (typeof parsed.message === 'string') text = parsed.message;
    } catch {
      // Not JSON after all: printed as is, on one line.
    }
  }
  text = text.replace(/\s+/g, ' ').trim();
  return text.length > MAX_LINE ? `${text.slice(0, MAX_LINE)}…` : text;
}

/** A DiagLogger writing each message as one `replag: …` line. */
export class OneLineDiagLogger implements DiagLogger {
  private readonly out: NodeJS.WritableStream;
  constructor(out: NodeJS.WritableStream) {
    this.out = out;
  }
  private write(message: string, args: unknown[]): void {
    this.out.write(`replag: ${diagLine(message, args)}\n`);
  }
  error = (message: string, ...args: unknown[]) => this.write(message, args);
  warn = (message: string, ...args: unknown[]) => this.write(message, args);
  info = (message: string, ...args: unknown[]) => this.write(message, args);
  debug = (message: string, ...args: unknown[]) => this.write(message, args);
  verbose = (message: string, ...args: unknown[]) => this.write(message, args);
}

/**
 * Installs the one-line logger at WARN and a global error handler that stays silent on export failures the export
 * health reporting has already announced (it reports each cause once, not once per batch).
 */
export function installDiagOutput(out: NodeJS.WritableStream): void {
  diag.setLogger(new OneLineDiagLogger(out), { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
  setGlobalErrorHandler((error) => {
    if (isReportedExportFailure(error)) return;
    diag.error('SDK error:', error);
  });
}
