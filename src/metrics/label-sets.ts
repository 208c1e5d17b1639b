import type { LabelValues } from 'prom-client';

type Value = string | number;

/**
 * One frozen label object per combination of values, found through nested maps. The request path
 * observes several series per request; without this it would build a label object for each, and
 * prom-client keeps the first one it is given as the series' labels anyway. Bounded like the series
 * themselves: flow and screen ids come from the registry, outcomes and statuses from our own code.
 * Up to four labels, passed positionally (a rest array would be an allocation per call again).
 */
export class LabelSets<N extends string> {
  readonly #names: readonly N[];
  readonly #root = new Map<Value, unknown>();

  constructor(...names: N[]) {
    if (names.length < 1 || names.length > 4) throw new Error('LabelSets takes one to four label names');
    this.#names = names;
  }

  /** The labels for these values, given in the order of the names. */
  of(a: Value, b: Value = '', c: Value = '', d: Value = ''): LabelValues<N> {
    const last = this.#names.length - 1;
    let node = this.#root;
    for (let i = 0; i < last; i++) {
      const key = i === 0 ? a : i === 1 ? b : c;
      let next = node.get(key) as Map<Value, unknown> | undefined;
      if (next === undefined) {
        next = new Map();
        node.set(key, next);
      }
      node = next;
    }
    const key = last === 0 ? a : last === 1 ? b : last === 2 ? c : d;
    let labels = node.get(key) as LabelValues<N> | undefined;
    if (labels === undefined) {
      const values = [a, b, c, d];
      labels = Object.freeze(Object.fromEntries(this.#names.map((name, i) => [name, values[i]]))) as LabelValues<N>;
      node.set(key, labels);
    }
    return labels;
  }
}
