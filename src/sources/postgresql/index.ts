/**
 * PostgreSQL replication (`otel-replication-lag/sources/postgresql`): the source (`source.ts`) and its parts —
 * LSNs (`lsn.ts`), the poll query (`query.ts`), multi-host URLs (`hosts.ts`), the TLS policy (`tls-policy.ts`),
 * failure wording (`errors.ts`), logical slots (`logical.ts`) and subscribers (`subscriber.ts`).
 */
export { parseLsn } from './lsn.ts';
export { PostgresSource, type PostgresSourceOptions } from './source.ts';
