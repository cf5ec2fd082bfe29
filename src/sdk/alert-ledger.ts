/**
 * Accounting of alert events: every record handed to the log pipeline ends up delivered (the exporter said
 * success) or lost with a reason (the SDK's `error.type`: `queue_full`, an export error's name, `shutdown`).
 * The ledger reads the SDK's own self-observability counter `otel.sdk.processor.log.processed` (it is given to
 * the BatchLogRecordProcessor as its `selfObsMeterProvider`, teeing the counter), so what `alertDelivery()` says
 * and what is exported are the same numbers. @internal
 */
import { diag, type Attributes, type Counter, type Meter, type MeterOptions, type MeterProvider, type MetricOptions } from '@opentelemetry/api';
import type { Context } from '@opentelemetry/api';
import type { LogRecordProcessor, ReadWriteLogRecord } from '@opentelemetry/sdk-logs';

/** What became of the alert events emitted so far. `emitted == delivered + lost + pending` at any time. */
export interface AlertDelivery {
  /** Alert events handed to the log pipeline (the `replication.alerts` total of this process). */
  readonly emitted: number;
  /** Accepted by the OTLP endpoint. */
  readonly delivered: number;
  /** Dropped or failed, each counted in `otel.sdk.processor.log.processed` with an `error.type`. */
  readonly lost: number;
  /** `lost` by `error.type`, e.g. `{ queue_full: 120, OTLPExporterError: 2048 }`. */
  readonly lostBy: Readonly<Record<string, number>>;
  /** Queued or being exported: neither delivered nor lost yet. 0 once `shutdown()` has returned. */
  readonly pending: number;
}

export const PROCESSED_METRIC = 'otel.sdk.processor.log.processed';
const ERROR_TYPE = 'error.type';
/** Losses closer together than this belong to one episode, which is warned about once. */
export const LOSS_EPISODE_QUIET_MILLIS = 60_000;

export interface AlertLedgerOptions {
  /** Milliseconds without loss after which the next loss starts a new episode (and a new warning). */
  quietMillis?: number;
  /**
   * The warning of an episode is said this long after its first loss (or at shutdown, or `flushWarning()`), with
   * how many were lost by then: a burst that overflows the queue drops records one by one. Default 1000.
   */
  settleMillis?: number;
  /** Clock in milliseconds. */
  now?: () => number;
}

/** Counts alert events through the log pipeline and warns once per loss episode. @internal */
export class AlertLedger {
  private _emitted = 0;
  private _delivered = 0;
  private _lost = 0;
  private readonly _lostBy = new Map<string, number>();
  private _lastLossAt: number | undefined;
  private readonly _quietMillis: number;
  private readonly _settleMillis: number;
  private readonly _now: () => number;
  /** Losses of the current episode by reason, and the timer of its warning while not said yet. */
  private readonly _episode = new Map<string, number>();
  private _warning: NodeJS.Timeout | undefined;
  /** The teed processed counter and the attributes the SDK gives it, to count records refused after shutdown. */
  private _counter: Counter | undefined;
  private _componentAttributes: Attributes = {};

  constructor(options: AlertLedgerOptions = {}) {
    this._quietMillis = options.quietMillis ?? LOSS_EPISODE_QUIET_MILLIS;
    this._settleMillis = options.settleMillis ?? 1000;
    this._now = options.now ?? Date.now;
  }

  /** The current counts. */
  snapshot(): AlertDelivery {
    return {
      emitted: this._emitted,
      delivered: this._delivered,
      lost: this._lost,
      lostBy: Object.fromEntries(this._lostBy),
      pending: this._emitted - this._delivered - this._lost,
    };
  }

  /** Records `count` records processed: delivered when `attributes` carry no `error.type`, lost otherwise. Never throws. */
  record(count: number, attributes: Attributes | undefined): void {
    if (!(count > 0)) return;
    const errorType = attributes?.[ERROR_TYPE];
    if (errorType === undefined || errorType === '') {
      this._delivered += count;
      return;
    }
    const reason = String(errorType);
    this._lost += count;
    this._lostBy.set(reason, (this._lostBy.get(reason) ?? 0) + count);
    const now = this._now();
    const newEpisode = this._lastLossAt === undefined || now - this._lastLossAt >= this._quietMillis;
    this._lastLossAt = now;
    if (newEpisode) {
      this.flushWarning();
      this._episode.clear();
      this._warning = setTimeout(() => this.flushWarning(), this._settleMillis);
      this._warning.unref?.();
    }
    this._episode.set(reason, (this._episode.get(reason) ?? 0) + count);
  }

  /** Says the current episode's warning now, if it is still to be said. Never throws. */
  flushWarning(): void {
    if (this._warning === undefined) return;
    clearTimeout(this._warning);
    this._warning = undefined;
    warnLoss(this._episode, this._quietMillis);
  }

  /**
   * Counts every pending record as lost with `error.type=reason`, in the ledger and in the exported counter: for a
   * shutdown that gives up on the log pipeline before it drained (call it before the final metric export).
   * Records the pipeline still finishes afterwards would be counted twice: call it only once it is abandoned.
   * Returns how many were written off.
   */
  writeOffPending(reason: string): number {
    const pending = this._emitted - this._delivered - this._lost;
    if (pending <= 0) return 0;
    const attributes = { ...this._componentAttributes, [ERROR_TYPE]: reason };
    if (this._counter !== undefined) this._counter.add(pending, attributes);
    else this.record(pending, attributes);
    return pending;
  }

  /**
   * A MeterProvider for the processor's `selfObsMeterProvider`: meters of `provider`, whose
   * `otel.sdk.processor.log.processed` counter also counts into this ledger.
   */
  meterProvider(provider: MeterProvider): MeterProvider {
    return {
      getMeter: (name: string, version?: string, options?: MeterOptions): Meter => {
        const meter = provider.getMeter(name, version, options);
        return new Proxy(meter, {
          get: (target, property, receiver) => {
            if (property !== 'createCounter') return Reflect.get(target, property, receiver) as unknown;
            return (metricName: string, metricOptions?: MetricOptions): Counter => {
              const counter = target.createCounter(metricName, metricOptions);
              return metricName === PROCESSED_METRIC ? this._tee(counter) : counter;
            };
          },
        });
      },
    };
  }

  private _tee(counter: Counter): Counter {
    const tee: Counter = {
      add: (value: number, attributes?: Attributes, context?: Context) => {
        counter.add(value, attributes, context);
        if (attributes !== undefined && attributes[ERROR_TYPE] === undefined) this._componentAttributes = attributes;
        this.record(value, attributes);
      },
    };
    this._counter = tee;
    return tee;
  }

  /**
   * Wraps the pipeline's processor: counts each record emitted, and records emitted after shutdown (which the
   * SDK's processor ignores without counting) as lost with `error.type=shutdown`.
   */
  processor(inner: LogRecordProcessor): LogRecordProcessor {
    let shutDown = false;
    return {
      onEmit: (record: ReadWriteLogRecord, context?: Context) => {
        this._emitted++;
        if (!shutDown) return inner.onEmit(record, context);
        const attributes = { ...this._componentAttributes, [ERROR_TYPE]: 'shutdown' };
        if (this._counter !== undefined) this._counter.add(1, attributes);
        else this.record(1, attributes);
      },
      forceFlush: () => inner.forceFlush(),
      shutdown: async () => {
        shutDown = true;
        try {
          await inner.shutdown();
        } finally {
          this.flushWarning();
        }
      },
    };
  }
}

/** The one warning of a loss episode, with what it lost so far by reason. Runs inside SDK callbacks: never throws. */
function warnLoss(lost: ReadonlyMap<string, number>, quietMillis: number): void {
  try {
    const parts = [...lost].map(([reason, n]) => (reason === 'queue_full' ? `${n} dropped, queue full` : `${n} failed to export: ${reason}`));
    diag.warn(
      `otel-replication-lag: alert events are being lost (${parts.join('; ')}) in this episode so far; ` +
        `each is counted in ${PROCESSED_METRIC} with error.type. Said once until no loss for ${Math.round(quietMillis / 1000)} s.`,
    );
  } catch {
    // A throwing diag logger must not break the export pipeline.
  }
}
