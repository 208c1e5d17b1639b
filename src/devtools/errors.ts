import { FlowgateError } from '../errors';

/** A developer-tool failure whose message is meant for the person at the terminal (exit code 1). */
export class DevtoolError extends FlowgateError {
  constructor(message: string) {
    super('devtool_failed', message);
  }
}
