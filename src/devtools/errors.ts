/** A developer-tool failure whose message is meant for the person at the terminal (exit code 1). */
export class DevtoolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DevtoolError';
  }
}
