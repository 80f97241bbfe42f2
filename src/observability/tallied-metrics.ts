// prom-client metrics the request path counts into with plain numbers, which reach prom-client each time they are read.
import { Counter, Histogram, type CounterConfiguration, type HistogramConfiguration, type LabelValues } from 'prom-client';

/** The key of a series' label values: the same for the tallies of a metric and for prom-client's state of them. */
const seriesKey = (values: readonly unknown[]) => values.join('\u0000');

/** Values made once per distinct label values and kept, for the request path to find again by those values. */
class SeriesTable<S> {
  readonly byKey = new Map<string, S>();
  constructor(private readonly make: (values: string[]) => S) {}

  of(values: string[]): S {
    const key = seriesKey(values);
    let series = this.byKey.get(key);
    if (series === undefined) this.byKey.set(key, (series = this.make(values)));
    return series;
  }
}

/**
 * Values made once per distinct label values and kept (prom-client children, or a group of tallies): a label lookup
 * converts and hashes its labels on every call, which the request path pays for each metric it touches.
 */
export function boundOnce<T>(bind: (...values: string[]) => T): (...values: string[]) => T {
  const bound = new SeriesTable((values) => bind(...values));
  return (...values) => bound.of(values);
}

/** Label values in `labelNames` order, as prom-client's label object. */
const labelsOf = <T extends string>(names: readonly T[], values: string[]) => Object.fromEntries(names.map((name, i) => [name, values[i]])) as LabelValues<T>;

/** One series of a {@link TalliedCounter}: its label values and what it counted since the counter was last read. */
export class Tally<T extends string = string> {
  pending = 0;
  counted = false;
  constructor(readonly labels: LabelValues<T>) {}

  inc(value = 1): void {
    this.pending += value;
    this.counted = true;
  }
}

/**
 * A prom-client counter whose series are counted in plain numbers, then added to the counter each time it is read (a
 * scrape, the dashboard, `get()`). prom-client's `inc` checks and hashes its labels on every call, even on a child
 * from `labels()`, and a gateway request counts four series: ~1 µs each in a CPU profile. A scrape shows the same, and
 * prom-client still does the exposition.
 */
export class TalliedCounter<T extends string> extends Counter<T> {
  private readonly names: readonly T[];
  private readonly tallies = new SeriesTable((values) => new Tally(labelsOf(this.names, values)));

  constructor(config: Omit<CounterConfiguration<T>, 'collect'>) {
    super({
      ...config,
      collect() {
        (this as TalliedCounter<T>).addTallies();
      },
    });
    this.names = config.labelNames ?? [];
  }

  /** The series of these label values, in `labelNames` order: the same object for the same values. */
  tally(...values: string[]): Tally<T> {
    return this.tallies.of(values);
  }

  /** Moves what was tallied since the last read into the counter; a series counted even by 0 appears from then on. */
  private addTallies(): void {
    for (const series of this.tallies.byKey.values()) {
      if (!series.counted) continue;
      this.inc(series.labels, series.pending);
      series.pending = 0;
    }
  }
}

/**
 * The part of prom-client's own state for one histogram series that a tally is added into: prom-client has no way to
 * add many observations at once, and replaying them one by one would pay at a scrape what the tally saved. Its
 * `bucketValues` are per bucket (not cumulative), keyed by upper bound; values above the last bound are in `count` only.
 */
interface HistogramSeriesState {
  labels: object;
  bucketValues: Record<number, number>;
  sum: number;
  count: number;
}

/** One series of a {@link TalliedHistogram}: observations since the histogram was last read, in its buckets. */
export class HistogramTally<T extends string = string> {
  readonly buckets: number[];
  sum = 0;
  count = 0;
  constructor(
    readonly labels: LabelValues<T>,
    private readonly upperBounds: readonly number[],
  ) {
    this.buckets = upperBounds.map(() => 0);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
    const bounds = this.upperBounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    if (i < bounds.length) this.buckets[i]!++;
    this.sum += value;
    this.count++;
  }
}

/**
 * A prom-client histogram whose series observe into plain numbers, added to the histogram each time it is read, as
 * {@link TalliedCounter} does for counts. A child's `observe` converts, checks and hashes its labels each time: a whole
 * answer through the gateway observes three histograms, and a stream one more for every chunk (the gap between tokens).
 */
export class TalliedHistogram<T extends string> extends Histogram<T> {
  private readonly names: readonly T[];
  private readonly bounds: readonly number[];
  private readonly tallies = new SeriesTable((values) => new HistogramTally(labelsOf(this.names, values), this.bounds));

  constructor(config: Omit<HistogramConfiguration<T>, 'collect' | 'enableExemplars'> & { buckets: number[] }) {
    super({
      ...config,
      collect() {
        (this as TalliedHistogram<T>).addTallies();
      },
    });
    this.names = config.labelNames ?? [];
    this.bounds = config.buckets;
  }

  /** The series of these label values, in `labelNames` order: the same object for the same values. */
  tally(...values: string[]): HistogramTally<T> {
    return this.tallies.of(values);
  }

  private addTallies(): void {
    let states: Map<string, HistogramSeriesState> | undefined;
    for (const [key, series] of this.tallies.byKey) {
      if (series.count === 0) continue;
      states ??= this.statesByKey();
      let state = states.get(key);
      if (!state) {
        this.zero(series.labels);
        states = this.statesByKey();
        state = states.get(key)!;
      }
      for (let i = 0; i < this.bounds.length; i++) {
        state.bucketValues[this.bounds[i]!]! += series.buckets[i]!;
        series.buckets[i] = 0;
      }
      state.sum += series.sum;
      state.count += series.count;
      series.sum = 0;
      series.count = 0;
    }
  }

  /**
   * prom-client's state of each series, by the tallies' key of its labels. prom-client keys it by its own hash of the
   * labels, and `reset` or `remove` may have dropped it since the last read, so it is looked up afresh at each read
   * that has something to add (a scrape, not a request).
   */
  private statesByKey(): Map<string, HistogramSeriesState> {
    const all = Object.values((this as unknown as { hashMap: Record<string, HistogramSeriesState> }).hashMap);
    return new Map(all.map((s) => [seriesKey(this.names.map((name) => (s.labels as Record<string, unknown>)[name])), s]));
  }
}
