import { closeSync, constants, openSync, rmSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { InvalidPhoneNumberError, normalizePhoneNumber } from '../tokens';
import { UsageError } from './cli';

/** One action word, from a fixed list. */
export function actionOf<T extends string>(positionals: readonly string[], actions: readonly T[], max = 1): T {
  const action = positionals[0];
  if (action === undefined) throw new UsageError(`give an action: ${actions.join(', ')}`);
  if (!(actions as readonly string[]).includes(action))
    throw new UsageError(`unknown action "${clipForMessage(action)}" (expected ${actions.join(', ')})`);
  if (positionals.length > max) throw new UsageError(`unexpected argument "${clipForMessage(positionals[max] ?? '')}"`);
  return action as T;
}

export function parsePhoneArg(value: string, flag = '--phone'): string {
  try {
    return normalizePhoneNumber(value);
  } catch (err) {
    if (err instanceof InvalidPhoneNumberError) throw new UsageError(`${flag}: ${err.message}`);
    throw err;
  }
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * An ISO 8601 date (`2026-11-29`, UTC midnight) or date-time (`2026-11-29T13:00:00Z`; without an
 * offset it is read as UTC). Impossible dates such as 2026-02-30 are refused, not rolled over.
 */
export function parseDateArg(value: string, flag: string): Date {
  const m = ISO_DATE.exec(value.trim());
  const bad = (): never => {
    throw new UsageError(
      `${flag} must be an ISO 8601 date or date-time, e.g. 2026-11-29 or 2026-11-29T13:00:00Z (got "${clipForMessage(value)}")`,
    );
  };
  if (!m) return bad();
  const [, y, mo, d, h = '00', mi = '00', s = '00', frac = '', zone = 'Z'] = m as unknown as string[];
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const probe = new Date(Date.UTC(year, month - 1, day));
  if (year < 1970 || probe.getUTCMonth() !== month - 1 || probe.getUTCDate() !== day) return bad();
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return bad();
  const offset = zone === 'Z' ? 'Z' : zone.includes(':') ? zone : `${zone.slice(0, 3)}:${zone.slice(3)}`;
  const ms = frac ? `.${frac.padEnd(3, '0').slice(0, 3)}` : '';
  const date = new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}${ms}${offset}`);
  if (Number.isNaN(date.getTime())) return bad();
  return date;
}

export function parseIntegerArg(value: string, flag: string, min: number, max: number): number {
  if (!/^\d{1,12}$/.test(value.trim()) || Number(value) < min || Number(value) > max)
    throw new UsageError(`${flag} must be a whole number from ${min} to ${max} (got "${clipForMessage(value)}")`);
  return Number(value);
}

export function parseChoiceArg<T extends string>(value: string, flag: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(value))
    throw new UsageError(`${flag} must be one of ${choices.join(', ')} (got "${clipForMessage(value)}")`);
  return value as T;
}

/** A short free-text field (a name, a flow id, an outcome): printable, bounded. */
export function parseTextArg(value: string, flag: string, maxLength: number): string {
  const text = value.trim();
  if (text === '') throw new UsageError(`${flag} must not be empty`);
  if (text.length > maxLength) throw new UsageError(`${flag} is longer than ${maxLength} characters`);
  // eslint-disable-next-line no-control-regex -- control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(text)) throw new UsageError(`${flag} must not contain control characters`);
  return text;
}

/**
 * A file the command will write (`--out`): opened before any data is read, so a wrong path fails
 * first with exit code 2 and nothing is computed for nothing. Never overwrites (exports hold
 * personal data: a typo must not replace another file), and is readable by its owner only.
 */
export class OutputFile {
  #fd: number | undefined;
  #done = false;

  private constructor(
    readonly path: string,
    fd: number,
  ) {
    this.#fd = fd;
  }

  static open(path: string, flag = '--out'): OutputFile {
    const full = resolve(path);
    try {
      const fd = openSync(full, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      return new OutputFile(full, fd);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why =
        code === 'EEXIST'
          ? 'the file already exists (choose a new name; exports are never overwritten)'
          : code === 'ENOENT'
            ? 'its folder does not exist'
            : code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
              ? 'permission denied'
              : code === 'EISDIR'
                ? 'it is a folder'
                : `cannot create it (${code ?? 'error'})`;
      throw new UsageError(`${flag} ${clipForMessage(path)}: ${why}`);
    }
  }

  write(text: string): void {
    if (this.#fd === undefined) throw new Error('output file already closed');
    writeSync(this.#fd, text);
  }

  /** Keeps the file. */
  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
    this.#done = true;
  }

  /** Removes the file unless it was completed: a failed command leaves no half-written export. */
  discard(): void {
    if (this.#done) return;
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
    rmSync(this.path, { force: true });
  }
}

export function clipForMessage(value: string): string {
  // eslint-disable-next-line no-control-regex -- control characters would drive the terminal
  const clean = value.replace(/[\u0000-\u001f\u007f]/g, '?');
  return clean.length > 60 ? `${clean.slice(0, 60)}…` : clean;
}
