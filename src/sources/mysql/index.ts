/**
 * MySQL / MariaDB replication (`otel-replication-lag/sources/mysql`): the source (`source.ts`), GTID arithmetic
 * (`gtid.ts`) and the server reader (`server.ts`, with mysql2).
 */
export { mariadbGtidSeq, mysqlGtidCount } from './gtid.ts';
export { secondsBehindOf } from './server.ts';
export { MySqlSource, type MySqlSourceOptions } from './source.ts';
