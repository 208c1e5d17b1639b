import fc from 'fast-check';
import {
  AUDIT_COLUMNS,
  canonicalJson,
  COMPLIANCE_OUTCOMES,
  columnsOf,
  eventOfRow,
  type AuditActor,
  type AuditEvent,
} from '../../src/audit';

/** The audit record's one definition (src/audit/record.ts), without a database. */
describe('when an event is turned into columns and read back', () => {
  const text = fc.option(fc.string({ maxLength: 20 }), { nil: undefined });
  const actor: fc.Arbitrary<AuditActor> = fc.record(
    {
      via: fc.constantFrom('api' as const, 'cli' as const, 'console' as const),
      operator: fc.string({ maxLength: 10 }),
      reason: fc.string({ maxLength: 10 }),
      osUser: fc.string({ maxLength: 10 }),
      databaseUser: fc.string({ maxLength: 10 }),
    },
    { requiredKeys: ['via'] },
  );
  const detail = fc.option(fc.dictionary(fc.constantFrom('count', 'reason', 'path', 'page'), fc.jsonValue()), {
    nil: undefined,
  });
  const common = {
    occurredAt: fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }),
    requestId: text,
    flowId: text,
    screen: text,
    action: text,
    httpStatus: fc.option(fc.integer({ min: 100, max: 599 }), { nil: undefined }),
    durationMs: fc.option(fc.nat(), { nil: undefined }),
    tokenHash: text,
    subjectRef: text,
    fields: fc.option(fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 })), { nil: undefined }),
    detail,
  };
  const event: fc.Arbitrary<AuditEvent> = fc.oneof(
    fc.record({ ...common, kind: fc.constant('request' as const), outcome: fc.string({ minLength: 1 }) }),
    fc.record({
      ...common,
      kind: fc.constant('compliance' as const),
      outcome: fc.constantFrom(...COMPLIANCE_OUTCOMES),
      actor,
    }),
  );

  it('then the row gives back the same columns (what the hash covers), and the actor as it was', () => {
    fc.assert(
      fc.property(event, (e) => {
        const stored = JSON.parse(JSON.stringify(columnsOf(e))) as Record<string, unknown>;
        const back = eventOfRow(stored);
        expect(canonicalJson(columnsOf(back))).toBe(canonicalJson(stored));
        if (e.kind === 'compliance') expect(back.actor).toEqual(JSON.parse(JSON.stringify(e.actor)));
      }),
    );
  });

  it("then a compliance event's actor wins over a detail key of the same name", () => {
    const columns = columnsOf({
      occurredAt: new Date(0),
      kind: 'compliance',
      outcome: 'token_issued',
      actor: { via: 'api', databaseUser: 'svc' },
      detail: { via: 'cli', database_user: 'someone else', expires_at: 'x' },
    });
    expect(columns.detail).toEqual({ via: 'api', database_user: 'svc', expires_at: 'x' });
  });
});

describe('when the query lists its columns', () => {
  it('then they are the columns it always printed, in the same order (CSV headers stay)', () => {
    expect(AUDIT_COLUMNS).toEqual([
      'occurred_at',
      'kind',
      'flow_id',
      'screen',
      'action',
      'outcome',
      'http_status',
      'duration_ms',
      'request_id',
      'subject_ref',
      'fields',
      'detail',
      'chain',
      'seq',
    ]);
  });
});
