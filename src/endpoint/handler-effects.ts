import { errorSummary, type Logger } from '../logging';

type Task = () => void | Promise<void>;

/**
 * The side effects a handler asked for, run once the request's fate is known: `afterCommit` tasks
 * when its answer was stored, `afterRollback` tasks when it was not (the transaction failed, or
 * the handler failed or timed out and its result was refused). A handler that timed out may go on
 * running and register more: after `rollback()` its rollback tasks run at once and its commit
 * tasks never; after `commit()` the reverse. Each task runs once; failures are logged with class
 * and stack frames only (developer code: a message may quote user data), never retried.
 */
export class HandlerEffects {
  #state: 'open' | 'committed' | 'rolled_back' = 'open';
  readonly #onCommit: Task[] = [];
  readonly #onRollback: Task[] = [];

  constructor(
    private readonly logger: Logger,
    private readonly where: { flowId: string; requestId: string },
  ) {}

  readonly afterCommit = (task: Task): void => {
    if (this.#state === 'open') this.#onCommit.push(task);
    else if (this.#state === 'committed') this.#run([task], 'afterCommit');
  };

  readonly afterRollback = (task: Task): void => {
    if (this.#state === 'open') this.#onRollback.push(task);
    else if (this.#state === 'rolled_back') this.#run([task], 'afterRollback');
  };

  commit(): void {
    if (this.#state !== 'open') return;
    this.#state = 'committed';
    this.#run(this.#onCommit.splice(0), 'afterCommit');
  }

  rollback(): void {
    if (this.#state !== 'open') return;
    this.#state = 'rolled_back';
    this.#run(this.#onRollback.splice(0), 'afterRollback');
  }

  #run(tasks: Task[], kind: 'afterCommit' | 'afterRollback'): void {
    for (const task of tasks) {
      Promise.resolve()
        .then(task)
        .catch((error: unknown) =>
          this.logger.error(`${kind} task failed`, { ...this.where, error: errorSummary(error) }),
        );
    }
  }
}
