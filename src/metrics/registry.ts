/**
 * A small Prometheus registry (text exposition format 0.0.4): counters, gauges and histograms with
 * fixed label names. No dependency: the format is a few lines of text, and what we need beyond
 * rendering is a plain-JSON snapshot that worker processes send to the cluster primary, which
 * merges them (counters and histograms add up; gauges add up too, e.g. connections per worker).
 */

export type Labels = Readonly<Record<string, string | number | undefined>>;

interface HistogramValue {
  readonly buckets: number[];
  sum: number;
  count: number;
}

export interface MetricSnapshot {
  readonly name: string;
  /** Series key (rendered label set) → value (counter, gauge) or histogram value. */
  readonly series: Record<string, number | HistogramValue>;
}

export type RegistrySnapshot = readonly MetricSnapshot[];

abstract class Metric<V extends number | HistogramValue> {
  protected readonly series = new Map<string, V>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) throw new Error(`invalid metric name ${name}`);
  }

  abstract readonly type: 'counter' | 'gauge' | 'histogram';
  abstract render(): string[];
  abstract merge(series: MetricSnapshot['series']): void;

  snapshot(): MetricSnapshot {
    return { name: this.name, series: Object.fromEntries(structuredClone([...this.series])) };
  }

  reset(): void {
    this.series.clear();
  }

  /** `{a="x",b="y"}` in label-name order; unknown names are a programming error. */
  protected key(labels: Labels): string {
    for (const name of Object.keys(labels)) {
      if (!this.labelNames.includes(name)) throw new Error(`metric ${this.name} has no label ${name}`);
    }
    if (this.labelNames.length === 0) return '';
    const parts = this.labelNames.map((n) => `${n}="${escapeLabel(String(labels[n] ?? ''))}"`);
    return `{${parts.join(',')}}`;
  }

  protected header(): string[] {
    return [
      `# HELP ${this.name} ${this.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`,
      `# TYPE ${this.name} ${this.type}`,
    ];
  }
}

export class Counter extends Metric<number> {
  readonly type = 'counter';

  inc(labels: Labels = {}, value = 1): void {
    if (value < 0) throw new Error(`counter ${this.name} cannot decrease`);
    const key = this.key(labels);
    this.series.set(key, (this.series.get(key) ?? 0) + value);
  }

  get(labels: Labels = {}): number {
    return this.series.get(this.key(labels)) ?? 0;
  }

  render(): string[] {
    return [...this.header(), ...[...this.series].map(([key, v]) => `${this.name}${key} ${formatNumber(v)}`)];
  }

  merge(series: MetricSnapshot['series']): void {
    for (const [key, v] of Object.entries(series)) {
      if (typeof v === 'number') this.series.set(key, (this.series.get(key) ?? 0) + v);
    }
  }
}

export class Gauge extends Metric<number> {
  readonly type = 'gauge';

  /**
   * How processes' values combine: `sum` (connections per worker add up) or `max` (a state every
   * worker reads from the database, e.g. a flow's alert state: the same value N times is one).
   */
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    readonly mergeMode: 'sum' | 'max' = 'sum',
  ) {
    super(name, help, labelNames);
  }

  set(labels: Labels, value: number): void {
    this.series.set(this.key(labels), value);
  }

  inc(labels: Labels = {}, value = 1): void {
    const key = this.key(labels);
    this.series.set(key, (this.series.get(key) ?? 0) + value);
  }

  render(): string[] {
    return [...this.header(), ...[...this.series].map(([key, v]) => `${this.name}${key} ${formatNumber(v)}`)];
  }

  merge(series: MetricSnapshot['series']): void {
    for (const [key, v] of Object.entries(series)) {
      if (typeof v !== 'number') continue;
      const before = this.series.get(key);
      this.series.set(key, before === undefined ? v : this.mergeMode === 'max' ? Math.max(before, v) : before + v);
    }
  }
}

export class Histogram extends Metric<HistogramValue> {
  readonly type = 'histogram';

  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    readonly bounds: readonly number[],
  ) {
    super(name, help, labelNames);
    if (labelNames.includes('le')) throw new Error('"le" is reserved for histogram buckets');
    for (let i = 1; i < bounds.length; i++) {
      if (!((bounds[i] as number) > (bounds[i - 1] as number))) throw new Error(`${name}: buckets must increase`);
    }
  }

  observe(labels: Labels, value: number): void {
    const key = this.key(labels);
    let h = this.series.get(key);
    if (!h) {
      h = { buckets: this.bounds.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, h);
    }
    // Non-cumulative per bucket; rendering accumulates.
    const i = this.bounds.findIndex((b) => value <= b);
    if (i >= 0) h.buckets[i] = (h.buckets[i] ?? 0) + 1;
    h.sum += value;
    h.count += 1;
  }

  get(labels: Labels = {}): { sum: number; count: number } | undefined {
    const h = this.series.get(this.key(labels));
    return h && { sum: h.sum, count: h.count };
  }

  render(): string[] {
    const lines = this.header();
    for (const [key, h] of this.series) {
      const inner = key === '' ? '' : `${key.slice(1, -1)},`;
      let cumulative = 0;
      this.bounds.forEach((bound, i) => {
        cumulative += h.buckets[i] ?? 0;
        lines.push(`${this.name}_bucket{${inner}le="${formatNumber(bound)}"} ${cumulative}`);
      });
      lines.push(`${this.name}_bucket{${inner}le="+Inf"} ${h.count}`);
      lines.push(`${this.name}_sum${key} ${formatNumber(h.sum)}`);
      lines.push(`${this.name}_count${key} ${h.count}`);
    }
    return lines;
  }

  merge(series: MetricSnapshot['series']): void {
    for (const [key, v] of Object.entries(series)) {
      if (typeof v === 'number' || v.buckets.length !== this.bounds.length) continue;
      const h = this.series.get(key) ?? { buckets: this.bounds.map(() => 0), sum: 0, count: 0 };
      v.buckets.forEach((n, i) => (h.buckets[i] = (h.buckets[i] ?? 0) + n));
      h.sum += v.sum;
      h.count += v.count;
      this.series.set(key, h);
    }
  }
}

export class Registry {
  readonly #metrics = new Map<string, Metric<number | HistogramValue>>();

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.#add(new Counter(name, help, labelNames));
  }

  gauge(name: string, help: string, labelNames: readonly string[] = [], mergeMode: 'sum' | 'max' = 'sum'): Gauge {
    return this.#add(new Gauge(name, help, labelNames, mergeMode));
  }

  histogram(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]): Histogram {
    return this.#add(new Histogram(name, help, labelNames, buckets));
  }

  snapshot(): RegistrySnapshot {
    return [...this.#metrics.values()].map((m) => m.snapshot());
  }

  /** Adds another process's snapshot into this registry (unknown metric names are ignored). */
  merge(snapshot: RegistrySnapshot): void {
    for (const m of snapshot) this.#metrics.get(m.name)?.merge(m.series);
  }

  reset(): void {
    for (const m of this.#metrics.values()) m.reset();
  }

  /** The Prometheus text exposition format. */
  render(): string {
    return `${[...this.#metrics.values()].flatMap((m) => m.render()).join('\n')}\n`;
  }

  #add<M extends Metric<number | HistogramValue>>(metric: M): M {
    if (this.#metrics.has(metric.name)) throw new Error(`metric ${metric.name} registered twice`);
    this.#metrics.set(metric.name, metric);
    return metric;
  }
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}
