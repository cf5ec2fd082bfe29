/** Metric, event and attribute names, units and descriptions: the one place they are spelled. */

export const METRIC_REPLICATION_LAG = 'replication.lag';
export const METRIC_REPLICATION_DELAY = 'replication.delay';
export const METRIC_REPLICATION_DELAY_PREDICTED = 'replication.delay.predicted';
export const METRIC_REPLICATION_APPLY_RATE = 'replication.apply.rate';
/** Seconds until the lag reaches 0 at the current rates; no point while the follower is not gaining. */
export const METRIC_REPLICATION_CATCHUP_TIME = 'replication.catchup.time';
/** Seconds until the delay reaches the critical threshold (0 when it is there); no point when it will not. */
export const METRIC_REPLICATION_CRITICAL_TIME = 'replication.critical.time';
/** A follower's heartbeat delay (sources with the opt-in heartbeat); no point for a follower without one. */
export const METRIC_REPLICATION_HEARTBEAT_DELAY = 'replication.heartbeat.delay';
export const METRIC_REPLICATION_SEVERITY = 'replication.severity';
export const METRIC_REPLICATION_ALERTS = 'replication.alerts';
/** 1 while a polled source's last poll succeeded, 0 after a failed one (its replicas' figures are then stale). */
export const METRIC_REPLICATION_SOURCE_UP = 'replication.source.up';
/** Per replica of a polled source that reads each replica itself (MySQL / MariaDB): 1 when read at the last poll, 0 when not. */
export const METRIC_REPLICATION_REPLICA_READABLE = 'replication.replica.readable';

/** PostgreSQL replication slots: WAL the slot retains on the primary (`pg_current_wal_lsn() − restart_lsn`). */
export const METRIC_REPLICATION_SLOT_RETAINED = 'replication.slot.retained';
/** WAL that may still be written before the slot may be invalidated (`safe_wal_size`); no point when unlimited. */
export const METRIC_REPLICATION_SLOT_SAFE_SIZE = 'replication.slot.safe_size';
/** Seconds until the slot's safe size reaches 0 at the rate it shrinks; 0 once unreserved or lost; no point when unlimited or not shrinking. */
export const METRIC_REPLICATION_SLOT_LOSS_TIME = 'replication.slot.loss.time';
/** The slot's `wal_status` as a state set (`postgresql.replication.slot.wal_status`). */
export const METRIC_REPLICATION_SLOT_WAL_STATUS = 'replication.slot.wal_status';
/** A subscription's errors (`pg_stat_subscription_stats`), by `postgresql.subscription.error.kind`. */
export const METRIC_REPLICATION_SUBSCRIPTION_ERRORS = 'replication.subscription.errors';
/** A subscription's tables per `postgresql.subscription.table.state` (`pg_subscription_rel`). */
export const METRIC_REPLICATION_SUBSCRIPTION_TABLES = 'replication.subscription.tables';

export const UNIT_ENTRY = '{entry}';
export const UNIT_BYTES = 'By';
export const UNIT_ERROR = '{error}';
export const UNIT_TABLE = '{table}';
export const UNIT_SECONDS = 's';
export const UNIT_ENTRY_PER_SECOND = '{entry}/s';
export const UNIT_ONE = '1';
export const UNIT_ALERT = '{alert}';
/** No unit: a 0/1 state, named `…_up` in Prometheus like every exporter's `up` (unit `1` would add `_ratio`). */
export const UNIT_NONE = '';

/** The follower's id, on every point and event. */
export const ATTR_REPLICATION_NODE_ID = 'replication.node.id';
/** A severity: normal, warning, critical or stalled. */
export const ATTR_REPLICATION_SEVERITY = 'replication.severity';
/** The severity of the node's previous alert. */
export const ATTR_REPLICATION_SEVERITY_PREVIOUS = 'replication.severity.previous';
/** On alert events: entries behind. */
export const ATTR_REPLICATION_LAG = 'replication.lag';
/** On alert events: delay in seconds. */
export const ATTR_REPLICATION_DELAY = 'replication.delay';

/** On `replication.source.up`: the polled source's name (`postgresql`, `redis`, `etcd`, `mysql`, `simulated`). */
export const ATTR_REPLICATION_SOURCE = 'replication.source';

/** Attributes a source registers its followers with (the keys only; values come from the system). */
/** The replicated system: `postgresql`, `mysql`, `mariadb`, `redis`, `etcd`, `raft` (simulated). */
export const ATTR_REPLICATION_SYSTEM = 'replication.system';
/** The follower's host (OpenTelemetry general convention). */
export const ATTR_SERVER_ADDRESS = 'server.address';
/** The follower's port (OpenTelemetry general convention). */
export const ATTR_SERVER_PORT = 'server.port';
/** The database a follower belongs to (PostgreSQL logical slots and subscriptions). */
export const ATTR_DB_NAMESPACE = 'db.namespace';
/** PostgreSQL: the replication slot the follower holds. */
export const ATTR_POSTGRESQL_REPLICATION_SLOT = 'postgresql.replication.slot';
/** PostgreSQL: `logical` for a logical slot. */
export const ATTR_POSTGRESQL_REPLICATION_SLOT_TYPE = 'postgresql.replication.slot.type';
/** PostgreSQL: whether a logical slot's consumer is connected now. */
export const ATTR_POSTGRESQL_REPLICATION_SLOT_ACTIVE = 'postgresql.replication.slot.active';
/** PostgreSQL: a logical slot's output plugin (e.g. `pgoutput`). */
export const ATTR_POSTGRESQL_REPLICATION_PLUGIN = 'postgresql.replication.plugin';
/** PostgreSQL: a slot's `wal_status` (`reserved`, `extended`, `unreserved`, `lost`), on `replication.slot.wal_status` and on a lost slot's alert. */
export const ATTR_POSTGRESQL_REPLICATION_SLOT_WAL_STATUS = 'postgresql.replication.slot.wal_status';
/** PostgreSQL: the kind of a subscription error, `apply` or `sync` (table synchronisation). */
export const ATTR_POSTGRESQL_SUBSCRIPTION_ERROR_KIND = 'postgresql.subscription.error.kind';
/** PostgreSQL: a subscribed table's state: `init`, `copy`, `finished`, `synced`, `ready`. */
export const ATTR_POSTGRESQL_SUBSCRIPTION_TABLE_STATE = 'postgresql.subscription.table.state';
/** PostgreSQL: the subscription a subscriber follower is. */
export const ATTR_POSTGRESQL_SUBSCRIPTION = 'postgresql.subscription';
/** Redis: the master name the Sentinels gave the master under. */
export const ATTR_REDIS_SENTINEL_MASTER = 'redis.sentinel.master';
/** etcd: the member's id (lowercase hex). */
export const ATTR_ETCD_MEMBER_ID = 'etcd.member.id';
/** Simulated cluster: the follower's behaviour profile. */
export const ATTR_REPLICATION_PROFILE = 'replication.profile';
/** Galera: the node's `wsrep_local_state_comment` (`Synced`, `Donor/Desynced`, `Joining`, …). */
export const ATTR_GALERA_STATE = 'galera.state';
/** Galera: `Primary` when the node is a member of the current Primary component, else `non-Primary`. */
export const ATTR_GALERA_CLUSTER_STATUS = 'galera.cluster.status';
/** Redis Cluster: the replica's shard, named by its master's first slot range (`0-5460`). */
export const ATTR_REDIS_CLUSTER_SHARD = 'redis.cluster.shard';
/** Redis Cluster: the follower's role (`replica`). */
export const ATTR_REDIS_ROLE = 'redis.role';
/** ZooKeeper: the server's id (`myid`, `server.N` in `conf`). */
export const ATTR_ZOOKEEPER_SERVER_ID = 'zookeeper.server.id';
/** ZooKeeper: `follower` (a voting participant) or `observer`. */
export const ATTR_ZOOKEEPER_ROLE = 'zookeeper.role';
/** NATS JetStream: the stream a replica or consumer belongs to. */
export const ATTR_NATS_STREAM = 'nats.stream';
/** NATS: the server name (`server_name`) holding a stream replica. */
export const ATTR_NATS_SERVER_NAME = 'nats.server.name';
/** NATS: the cluster name of the stream's raft group. */
export const ATTR_NATS_CLUSTER = 'nats.cluster';
/** NATS JetStream: the durable consumer's name. */
export const ATTR_NATS_CONSUMER = 'nats.consumer';

/** Name of the alert event (log record `eventName`, and span event name). */
export const EVENT_REPLICATION_ALERT = 'replication.alert';

export const DESCRIPTION = {
  [METRIC_REPLICATION_LAG]: 'Entries the follower is behind its leader.',
  [METRIC_REPLICATION_DELAY]: 'How long the oldest entry the follower has not applied has waited.',
  [METRIC_REPLICATION_DELAY_PREDICTED]: 'Forecast of the replication delay at the prediction horizon, from the follower\'s recent progress and the leader\'s rate.',
  [METRIC_REPLICATION_CATCHUP_TIME]: 'Seconds until the follower has caught up with its leader at the current rates (no point while it is not gaining).',
  [METRIC_REPLICATION_HEARTBEAT_DELAY]: 'Seconds between the newest heartbeat written on the leader and the newest one the follower shows (0 when caught up; off by at most one heartbeat interval).',
  [METRIC_REPLICATION_CRITICAL_TIME]: 'Seconds until the replication delay reaches the critical threshold (0 when it has; no point when it will not).',
  [METRIC_REPLICATION_APPLY_RATE]: 'Entries the follower applies per second.',
  [METRIC_REPLICATION_SEVERITY]: 'Replication severity as a state set: 1 for the current severity, 0 for the others.',
  [METRIC_REPLICATION_ALERTS]: 'Replication lag alerts emitted.',
  [METRIC_REPLICATION_SOURCE_UP]: 'Whether the last poll of the replication source succeeded (1) or failed (0, the replication figures are stale).',
  [METRIC_REPLICATION_REPLICA_READABLE]: 'Whether the source read this replica at its last poll (1) or not (0: reported at its last known position).',
  [METRIC_REPLICATION_SLOT_RETAINED]: 'WAL the replication slot retains on the primary (current WAL position minus the slot\'s restart_lsn).',
  [METRIC_REPLICATION_SLOT_SAFE_SIZE]: 'WAL that can still be written before the replication slot may be invalidated (safe_wal_size; no point when max_slot_wal_keep_size is unlimited).',
  [METRIC_REPLICATION_SLOT_LOSS_TIME]: 'Seconds until the replication slot may be lost at the current WAL rate (0 once unreserved or lost; no point when unlimited or not shrinking).',
  [METRIC_REPLICATION_SLOT_WAL_STATUS]: 'The replication slot\'s wal_status as a state set: 1 for the current one, 0 for the others.',
  [METRIC_REPLICATION_SUBSCRIPTION_ERRORS]: 'Errors of the subscription\'s apply and table synchronisation workers (pg_stat_subscription_stats).',
  [METRIC_REPLICATION_SUBSCRIPTION_TABLES]: 'Tables of the subscription in each synchronisation state (pg_subscription_rel).',
} as const;
