/**
 * etcd (`otel-replication-lag/sources/etcd`): the source (`source.ts`), its HTTP(S) requests (`http.ts`) and the
 * parsing of what etcd answers (`raft-status.ts`).
 */
export { parseEtcdDebugVars, type EtcdRaftStatus } from './raft-status.ts';
export { EtcdSource, type EtcdSourceOptions } from './source.ts';
