import { HandlerEffects } from '../../src/endpoint/handler-effects';
import { createLogger } from '../../src/logging';

const settle = () => new Promise((r) => setImmediate(r));

function effects(lines: string[] = []): HandlerEffects {
  const logger = createLogger({ level: 'debug', format: 'json', sink: (line) => lines.push(line) });
  return new HandlerEffects(logger, { flowId: 'f', requestId: 'r' });
}

describe('when the answer is stored', () => {
  it('then afterCommit tasks run once, afterRollback tasks never, also when registered late', async () => {
    const ran: string[] = [];
    const e = effects();
    e.afterCommit(() => void ran.push('commit'));
    e.afterRollback(() => void ran.push('rollback'));
    e.commit();
    e.rollback(); // a second verdict changes nothing
    e.commit();
    e.afterCommit(() => void ran.push('late commit'));
    e.afterRollback(() => void ran.push('late rollback'));
    await settle();
    expect(ran).toEqual(['commit', 'late commit']);
  });
});

describe('when the answer is not stored (or a timed-out handler registers afterwards)', () => {
  it('then afterRollback tasks run once, afterCommit tasks never', async () => {
    const ran: string[] = [];
    const e = effects();
    e.afterCommit(() => void ran.push('commit'));
    e.afterRollback(() => void ran.push('rollback'));
    e.rollback();
    e.commit();
    e.afterRollback(() => void ran.push('late rollback'));
    e.afterCommit(() => void ran.push('late commit'));
    await settle();
    expect(ran).toEqual(['rollback', 'late rollback']);
  });

  it('then a failing task is logged by class and frames, never by its message, and the others still run', async () => {
    const lines: string[] = [];
    const ran: string[] = [];
    const e = effects(lines);
    e.afterRollback(() => {
      throw new TypeError('secret user text 4111-1111');
    });
    e.afterRollback(async () => void ran.push('second'));
    e.rollback();
    await settle();
    await settle();
    expect(ran).toEqual(['second']);
    const failure = lines.find((l) => l.includes('afterRollback task failed'));
    expect(failure).toContain('TypeError');
    expect(failure).toContain('"flowId":"f"');
    expect(lines.join('\n')).not.toContain('4111');
  });
});
