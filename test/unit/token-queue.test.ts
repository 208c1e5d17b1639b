import { TokenQueue, TokenQueueWaitError } from '../../src/endpoint/token-queue';

const tick = () => new Promise((r) => setImmediate(r));

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('when work for one token queues', () => {
  it('then it runs one at a time in arrival order, while other tokens run meanwhile', async () => {
    const queue = new TokenQueue();
    const log: string[] = [];
    const gate = deferred();
    const a = queue.run('t1', async () => {
      log.push('a start');
      await gate.promise;
      log.push('a end');
    });
    const b = queue.run('t1', async () => void log.push('b'));
    const other = queue.run('t2', async () => void log.push('other'));
    await other;
    await tick();
    expect(log).toEqual(['a start', 'other']);
    expect(queue.size).toBe(1);
    gate.resolve();
    await Promise.all([a, b]);
    expect(log).toEqual(['a start', 'other', 'a end', 'b']);
    expect(queue.size).toBe(0);
  });

  it('then a failure reaches its caller and the next in line still runs', async () => {
    const queue = new TokenQueue();
    const failing = queue.run('t', async () => {
      throw new Error('handler failed');
    });
    const next = queue.run('t', async () => 'ran');
    await expect(failing).rejects.toThrow('handler failed');
    await expect(next).resolves.toBe('ran');
    expect(queue.size).toBe(0);
  });
});

describe('when a request waits too long for the ones ahead of it', () => {
  it('then it gives up without running, and the ones behind it still wait for the first', async () => {
    const queue = new TokenQueue();
    const log: string[] = [];
    const gate = deferred();
    const first = queue.run('t', async () => {
      await gate.promise;
      log.push('first');
    });
    const impatient = queue.run('t', async () => void log.push('impatient'), 30);
    const patient = queue.run('t', async () => void log.push('patient'));
    await expect(impatient).rejects.toBeInstanceOf(TokenQueueWaitError);
    await tick();
    expect(log).toEqual([]);
    gate.resolve();
    await Promise.all([first, patient]);
    expect(log).toEqual(['first', 'patient']);
    await tick();
    expect(queue.size).toBe(0);
  });
});
