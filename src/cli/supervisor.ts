/**
 * One supervisor for many sources on shared telemetry providers. Each source gets its own poller (its own interval;
 * its deadline is the source's `timeoutMs`), its own monitor (node ids stay what the source gives: two sources may
 * both have a `replica-1`) and its own instrumentation, whose points all carry `replication.source` = the source's
 * name plus its configured attributes. `apply` starts added sources, stops removed ones and restarts changed ones;
 * it builds every new source before touching the running ones, so a source that cannot be built changes nothing.
 */
import type { Attributes, Counter, Meter, MeterProvider } from '@opentelemetry/api';
import { ReplicationLagInstrumentation } from '../instrumentation.ts';
import type { ReplicationLagMonitor } from '../monitor.ts';
import { ATTR_REPLICATION_SOURCE } from '../semconv.ts';
import { startPoller, type Poller } from '../sources/poller.ts';
import type { ReplicaPosition, ReplicationSource } from '../sources/source.ts';
import type { LagAlert } from '../types.ts';
import { DEFAULT_CONFIG } from '../config.ts';
import type { FleetSourceConfig } from './fleet-config.ts';
import type { Problem } from './problems.ts';
import { within } from './stop.ts';

type LoggerProvider = Parameters<ReplicationLagInstrumentation['setLoggerProvider']>[0];

/** Options of `SourceSupervisor`. */
export interface SupervisorOptions {
  meterProvider: MeterProvider;
  loggerProvider: LoggerProvider;
  /** Builds a configured source (not started). @throws to refuse the configuration. */
  createSource: (config: FleetSourceConfig) => Promise<ReplicationSource>;
  /** A poll of `name` failed. */
  onPollError?: (name: string, error: Error) => void;
  /** A poll of `name` succeeded. */
  onPoll?: (name: string) => void;
  /** An alert of one of `name`'s nodes. */
  onAlert?: (name: string, alert: LagAlert) => void;
  /** Bound on closing a stopped source (its connections), ms. Default 2000. */
  closeTimeoutMs?: number;
  /**
   * A source's monitor starts being exported (`Telemetry.addMonitor`, so its nodes' alert counters are kept while
   * they live); `counterAttributes` go on its `replication.alerts` series. Returns the function called when it stops.
   */
  trackMonitor?: (name: string, monitor: ReplicationLagMonitor, counterAttributes: Attributes) => () => void;
  /**
   * Whether `trackMonitor` also exports the monitor's node gauges and alert counts (`startTelemetry`'s
   * MetricProducer, the default there); the source's instrumentation then records only the alert events and the
   * source's own gauges. Default false.
   */
  nodePointsProduced?: boolean;
}

/** A running source. */
export interface SupervisedSource {
  readonly config: FleetSourceConfig;
  readonly monitor: ReplicationLagMonitor;
  readonly poller: Poller;
}

/** What `apply` changed, by source name. */
export interface ApplySummary {
  started: string[];
  stopped: string[];
  restarted: string[];
}

/** Sources `apply` could not build; nothing was changed. Messages name the source, never its secrets. */
export class SourceSetupError extends Error {
  /** Each at its source's path (`sources[1]`), positioned when the configuration came from a file. */
  readonly problems: readonly Problem[];
  constructor(problems: readonly Problem[]) {
    super(problems.map((p) => `sources[${String(p.path[1])}]: ${p.message}`).join('\n'));
    this.name = 'SourceSetupError';
    this.problems = problems;
  }
}

interface Running extends SupervisedSource {
  readonly source: ReplicationSource;
  readonly instrumentation: ReplicationLagInstrumentation;
  readonly stopObserving: () => void;
  readonly unsubscribe: () => void;
}

interface Built {
  config: FleetSourceConfig;
  source: ReplicationSource;
  instrumentation: ReplicationLagInstrumentation;
}

/** Owns the pollers of a configuration's sources. */
export class SourceSupervisor {
  private readonly options: SupervisorOptions;
  private running = new Map<string, Running>();
  /** Serialises apply/stop: a reload never overlaps another. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(options: SupervisorOptions) {
    this.options = options;
  }

  /** The running sources, in configuration order. */
  sources(): SupervisedSource[] {
    return [...this.running.values()];
  }

  /**
   * Makes `configs` the running configuration. @throws SourceSetupError (nothing changed) when a new or changed
   * source cannot be built.
   */
  apply(configs: readonly FleetSourceConfig[]): Promise<ApplySummary> {
    const next = this.queue.then(() => this.applyNow(configs));
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Stops every source. */
  /**
   * Stops every source's polling, keeping its nodes exported (their last figures go into a final export); `stop()`
   * then ends the rest.
   */
  stopPolling(): Promise<void> {
    const next = this.queue.then(async () => {
      await Promise.all([...this.running.values()].map((r) => r.poller.stop()));
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  stop(): Promise<void> {
    const next = this.queue.then(async () => {
      const all = [...this.running.values()];
      this.running = new Map();
      await Promise.all(all.map((r) => this.stopOne(r)));
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async applyNow(configs: readonly FleetSourceConfig[]): Promise<ApplySummary> {
    const wanted = new Map(configs.map((c) => [c.name, c]));
    const toBuild = configs.filter((c) => this.running.get(c.name)?.config.fingerprint !== c.fingerprint);
    const results = await Promise.allSettled(toBuild.map((c) => this.build(c)));
    const built = new Map<string, Built>();
    const problems: Problem[] = [];
    results.forEach((r, i) => {
      const config = toBuild[i]!;
      if (r.status === 'fulfilled') built.set(config.name, r.value);
      else problems.push({ path: ['sources', configs.indexOf(config)], message: (r.reason as Error)?.message ?? String(r.reason), line: config.position?.line, col: config.position?.col });
    });
    if (problems.length > 0) {
      await Promise.all([...built.values()].map((b) => this.closeSource(b.source)));
      throw new SourceSetupError(problems);
    }

    const summary: ApplySummary = { started: [], stopped: [], restarted: [] };
    const retiring: Running[] = [];
    for (const [name, r] of this.running) {
      if (!wanted.has(name)) {
        retiring.push(r);
        summary.stopped.push(name);
      } else if (built.has(name)) {
        retiring.push(r);
        summary.restarted.push(name);
      }
    }
    for (const name of built.keys()) if (!this.running.has(name)) summary.started.push(name);
    await Promise.all(retiring.map((r) => this.stopOne(r)));
    const next = new Map<string, Running>();
    for (const c of configs) {
      const b = built.get(c.name);
      next.set(c.name, b !== undefined ? this.start(b) : this.running.get(c.name)!);
    }
    this.running = next;
    return summary;
  }

  private async build(config: FleetSourceConfig): Promise<Built> {
    const source = await this.options.createSource(config);
    let instrumentation: ReplicationLagInstrumentation;
    try {
      instrumentation = new ReplicationLagInstrumentation({
        enabled: false,
        // A source that says how many nodes it reports (a large simulated cluster) gets room for every one.
        ...(config.nodeCount !== undefined && config.nodeCount > DEFAULT_CONFIG.maxNodes ? { maxNodes: config.nodeCount } : {}),
        nodePointsProducedElsewhere: this.options.nodePointsProduced === true,
        ...(config.thresholds.warningSeconds !== undefined ? { warningThresholdSeconds: config.thresholds.warningSeconds } : {}),
        ...(config.thresholds.criticalSeconds !== undefined ? { criticalThresholdSeconds: config.thresholds.criticalSeconds } : {}),
        ...(config.thresholds.stallSeconds !== undefined ? { stallTimeoutSeconds: config.thresholds.stallSeconds } : {}),
      });
    } catch (error) {
      await this.closeSource(source);
      throw error;
    }
    return { config, source: labelled(source, config.name, config.attributes), instrumentation };
  }

  private start({ config, source, instrumentation }: Built): Running {
    const { name } = config;
    const attributes: Attributes = { ...config.attributes, [ATTR_REPLICATION_SOURCE]: name };
    instrumentation.setMeterProvider(withCounterAttributes(this.options.meterProvider, attributes));
    instrumentation.setLoggerProvider(this.options.loggerProvider);
    instrumentation.enable();
    const monitor = instrumentation.monitor;
    const untrack = this.options.trackMonitor?.(name, monitor, attributes);
    const onAlert = monitor.onAlert((alert) => this.options.onAlert?.(name, alert));
    const unsubscribe = () => {
      onAlert();
      untrack?.();
    };
    const poller = startPoller({
      source,
      monitor,
      intervalMs: config.intervalMs,
      onError: (error) => this.options.onPollError?.(name, error),
      onPoll: () => this.options.onPoll?.(name),
    });
    const stopObserving = instrumentation.observeSource(poller, config.attributes);
    return { config, monitor, poller, source, instrumentation, stopObserving, unsubscribe };
  }

  private async stopOne(r: Running): Promise<void> {
    // Out of the exports first (delta gauges: its series are absent from the next collection), then the I/O.
    r.stopObserving();
    r.instrumentation.disable();
    r.unsubscribe();
    await r.poller.stop();
    await this.closeSource(r.source);
  }

  private async closeSource(source: ReplicationSource): Promise<void> {
    await within(Promise.resolve().then(() => source.close?.()), this.options.closeTimeoutMs ?? 2000);
  }
}

/**
 * The source under its configured name (health, hence `replication.source.up`, reports it), its replicas'
 * attributes extended with `replication.source` and the configured attributes (so every gauge point and alert
 * event of its nodes carries them).
 */
function labelled(source: ReplicationSource, name: string, extra: Readonly<Record<string, string | number | boolean>>): ReplicationSource {
  const cache = new Map<string, { from: ReplicaPosition['attributes']; merged: Record<string, string | number | boolean> }>();
  const merged = (r: ReplicaPosition) => {
    const hit = cache.get(r.nodeId);
    if (hit !== undefined && hit.from === r.attributes) return hit.merged;
    const value = { ...r.attributes, ...extra, [ATTR_REPLICATION_SOURCE]: name };
    cache.set(r.nodeId, { from: r.attributes, merged: value });
    return value;
  };
  return {
    name,
    async poll() {
      const replicas = await source.poll();
      if (!Array.isArray(replicas)) return replicas;
      if (cache.size > 4 * replicas.length + 64) cache.clear();
      return replicas.map((r: ReplicaPosition) => ({ ...r, attributes: merged(r) }));
    },
    close: () => source.close?.() ?? Promise.resolve(),
  };
}

/**
 * A meter provider whose counters add `attributes` to every measurement: the instrumentation's
 * `replication.alerts` counter is keyed by node id, which two sources may share.
 */
function withCounterAttributes(provider: MeterProvider, attributes: Attributes): MeterProvider {
  return {
    getMeter(name, version, options): Meter {
      const meter = provider.getMeter(name, version, options);
      return new Proxy(meter, {
        get(target, property) {
          if (property === 'createCounter') {
            return (counterName: string, counterOptions?: Parameters<Meter['createCounter']>[1]): Counter => {
              const counter = target.createCounter(counterName, counterOptions);
              return { add: (value, attrs, ctx) => counter.add(value, { ...attrs, ...attributes }, ctx) };
            };
          }
          const value: unknown = Reflect.get(target, property, target);
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        },
      });
    },
  };
}
