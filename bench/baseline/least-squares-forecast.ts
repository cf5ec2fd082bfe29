/**
 * REFERENCE ONLY — DO NOT USE. Not part of the package; imported by the benchmarks alone.
 *
 * The forecast the package shipped before the replication model (issue 11): a least-squares line of the delay
 * against time (seconds, like Prometheus `predict_linear`) over the node's last 32 samples, evaluated
 * `horizonSeconds` after the newest sample and clamped at 0; undefined before 5 samples; all samples at one
 * instant: their mean. This is the reference computation `predictLagSeconds` of `src/estimate.ts` at commit
 * 482603e (the package kept the same sums incrementally in `TrendFit`, equal up to rounding), over its own ring
 * so that it does not depend on the package's history classes.
 */

/** Samples in the fit (the package's `RECENT_SAMPLES`). */
export const LEAST_SQUARES_SAMPLES = 32;
/** Samples before a forecast (the package's `MIN_PREDICTION_SAMPLES`). */
export const LEAST_SQUARES_MIN_SAMPLES = 5;

export class LeastSquaresForecast {
  private readonly times = new Float64Array(LEAST_SQUARES_SAMPLES);
  private readonly lags = new Float64Array(LEAST_SQUARES_SAMPLES);
  private head = 0;
  private count = 0;

  /** Records the delay `lagSeconds` observed at `timeMs`. */
  push(timeMs: number, lagSeconds: number): void {
    const slot = (this.head + this.count) % LEAST_SQUARES_SAMPLES;
    this.times[slot] = timeMs;
    this.lags[slot] = lagSeconds;
    if (this.count < LEAST_SQUARES_SAMPLES) this.count++;
    else this.head = (this.head + 1) % LEAST_SQUARES_SAMPLES;
  }

  /** Forgets every sample (the package cleared its ring when a position went backwards). */
  clear(): void {
    this.head = 0;
    this.count = 0;
  }

  /** The forecast at `horizonSeconds` after the newest sample. */
  predict(horizonSeconds: number): number | undefined {
    const n = this.count;
    if (n < LEAST_SQUARES_MIN_SAMPLES) return undefined;
    const origin = this.times[(this.head + n - 1) % LEAST_SQUARES_SAMPLES]!;
    let sx = 0;
    let sy = 0;
    let sxx = 0;
    let sxy = 0;
    for (let i = 0; i < n; i++) {
      const slot = (this.head + i) % LEAST_SQUARES_SAMPLES;
      const x = (this.times[slot]! - origin) / 1000;
      const y = this.lags[slot]!;
      sx += x;
      sy += y;
      sxx += x * x;
      sxy += x * y;
    }
    const meanY = sy / n;
    const varX = sxx - (sx * sx) / n;
    let predicted: number;
    if (varX > 1e-12) {
      const slope = (sxy - (sx * sy) / n) / varX;
      const intercept = meanY - (slope * sx) / n;
      predicted = intercept + slope * horizonSeconds;
    } else {
      predicted = meanY;
    }
    return predicted > 0 && Number.isFinite(predicted) ? predicted : 0;
  }
}
