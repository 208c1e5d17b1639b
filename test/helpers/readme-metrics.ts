import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DocumentedMetric {
  readonly name: string;
  readonly type: string;
}

/**
 * The metrics the README's table promises (the table after the "**Metrics.**" paragraph of
 * "Running in production"): the first name of each row's first cell, and its type.
 */
export function readmeMetrics(): DocumentedMetric[] {
  const lines = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8').split('\n');
  const start = lines.findIndex((l) => l.startsWith('**Metrics.**'));
  if (start < 0) throw new Error('README.md has no **Metrics.** paragraph');
  const first = lines.findIndex((l, i) => i > start && l.startsWith('| Metric'));
  const metrics: DocumentedMetric[] = [];
  for (let i = first + 2; i < lines.length && lines[i]?.startsWith('|'); i++) {
    const [, metricCell = '', typeCell = ''] = (lines[i] as string).split('|');
    const name = /`([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(metricCell)?.[1];
    if (!name) throw new Error(`README metrics table: no metric name in ${lines[i]}`);
    metrics.push({ name, type: typeCell.trim() });
  }
  return metrics;
}

/**
 * What is wrong with an exposition against the README: a documented metric missing or of another
 * type, or a `flowgate_` metric the README does not list. Empty when they agree.
 */
export function readmeMismatches(exposition: string, documented = readmeMetrics()): string[] {
  const exposed = new Map<string, string>();
  for (const m of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) exposed.set(m[1] as string, m[2] as string);
  const problems: string[] = [];
  for (const { name, type } of documented) {
    const actual = exposed.get(name);
    if (actual === undefined) problems.push(`${name}: in the README, not on /metrics`);
    else if (actual !== type) problems.push(`${name}: a ${actual} on /metrics, a ${type} in the README`);
  }
  const listed = new Set(documented.map((m) => m.name));
  for (const name of exposed.keys()) {
    if (name.startsWith('flowgate_') && !listed.has(name)) problems.push(`${name}: on /metrics, not in the README`);
  }
  return problems;
}
