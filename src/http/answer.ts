/** An HTTP answer computed by a handler: status, headers and body (JSON or HTML). */
export interface HttpAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** A JSON answer: never cached (every answer is the state of the moment). */
export function json(status: number, value: unknown, headers: Record<string, string> = {}): HttpAnswer {
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
    body: `${JSON.stringify(value)}\n`,
  };
}
