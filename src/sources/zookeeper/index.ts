/** Public entry of the ZooKeeper source (`otel-replication-lag/sources/zookeeper`). */
export { ZooKeeperSource, type ZooKeeperSourceOptions } from './source.ts';
export { parseConf, parseSrvr, splitZxid, type ConfMember, type SrvrAnswer, type Zxid } from './parse.ts';
export { ZxidLine } from './zxid-line.ts';
export { descriptor as zookeeperDescriptor, zookeeperOptions } from './descriptor.ts';
