import { inspect } from 'node:util';

/**
 * A configuration value that must never be printed. `String(secret)`, `JSON.stringify` and
 * `util.inspect` (which winston and console use) all render `[secret]`; only `reveal()` gives
 * the value, so every use of a secret is greppable.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return '[secret]';
  }

  toJSON(): string {
    return '[secret]';
  }

  [inspect.custom](): string {
    return '[secret]';
  }
}
