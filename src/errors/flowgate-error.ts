import { ERROR_CATALOGUE, UNKNOWN_ERROR_CODE, type ErrorCode, type ErrorEntry } from './catalogue';

/**
 * The base of every error flowgate raises on purpose. Its code names a row of the catalogue
 * (src/errors/catalogue.ts), which says how each surface treats it: the status a route answers,
 * the exit code of a command, whether the message may be shown. Code that decides how to answer
 * tests `instanceof FlowgateError` and reads those, instead of listing classes.
 */
export abstract class FlowgateError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }

  get entry(): ErrorEntry {
    return ERROR_CATALOGUE[this.code];
  }

  /** The HTTP status a route answers with; undefined when the error is not meant to reach one. */
  get httpStatus(): number | undefined {
    return this.entry.status;
  }

  get exitCode(): number {
    return this.entry.exitCode;
  }

  /** Whether `message` may be shown to whoever caused the error (HTTP body, a command's stderr). */
  get expose(): boolean {
    return this.entry.expose;
  }

  /** What may be shown: the message when it is exposed, else the code's meaning and the code. */
  get publicMessage(): string {
    return this.expose ? this.message : `${this.entry.meaning} (${this.code})`;
  }
}

/** The status an error is answered with: its catalogue status, else 500 (a bug, no detail). */
export function httpStatusOf(error: unknown): number {
  return (error instanceof FlowgateError ? error.httpStatus : undefined) ?? 500;
}

/** The catalogue code of anything thrown: unknown errors are `internal_error`. */
export function errorCodeOf(error: unknown): ErrorCode {
  return error instanceof FlowgateError ? error.code : UNKNOWN_ERROR_CODE;
}
