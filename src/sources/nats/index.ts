/** Public entry of the NATS JetStream source (`otel-replication-lag/sources/nats`). */
export { NatsSource, type NatsSourceOptions } from './source.ts';
export { NatsConnection, NoRespondersError, type NatsConnectOptions } from './connection.ts';
export { JetStreamApiError, type ConsumerInfo, type StreamInfo, type StreamReplica } from './jetstream.ts';
export { descriptor as natsDescriptor, natsOptions } from './descriptor.ts';
