/** A pull MetricReader for the benchmarks: gauges delta (as the package's OTLP pipeline), a high cardinality limit. */
import { AggregationTemporality, InstrumentType, MetricReader } from '@opentelemetry/sdk-metrics';

export class BenchReader extends MetricReader {
  constructor(cardinalityLimit = 200_000) {
    super({
      aggregationTemporalitySelector: (type) =>
        type === InstrumentType.GAUGE || type === InstrumentType.OBSERVABLE_GAUGE ? AggregationTemporality.DELTA : AggregationTemporality.CUMULATIVE,
      cardinalitySelector: () => cardinalityLimit,
    });
  }
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}
