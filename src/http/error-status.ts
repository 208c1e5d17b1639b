import { FlowgateError, httpStatusOf } from '../errors';

/**
 * The status of an error as a route answers it: its row of the error catalogue
 * (src/errors/catalogue.ts), else 500 with a generic body and a log line carrying the request id.
 * README and SECURITY.md list the catalogue's statuses; test/unit/docs-in-step.test.ts keeps them
 * in step.
 */
export const statusOf = httpStatusOf;

/**
 * The JSON answer of a typed error whose status is below 500: the status and `{"error": …}` with
 * its message only when the catalogue exposes it, else the code's meaning and the code. Undefined
 * for anything else, which the app's last handler answers with its status (500 when it has none)
 * and no detail.
 */
export function knownErrorReply(err: unknown): { status: number; body: { error: string } } | undefined {
  const status = err instanceof FlowgateError ? err.httpStatus : undefined;
  if (status === undefined || status >= 500) return undefined;
  return { status, body: { error: (err as FlowgateError).publicMessage } };
}
