import fc from 'fast-check';
import { canonicalContent, canonicalContentGeneric } from '../../src/audit/chain';
import type { AuditEvent } from '../../src/audit';

/**
 * The audit writer's fixed-shape serializer (src/audit/chain.ts) must give exactly the canonical
 * JSON that verify recomputes: any difference would break every chain written with it.
 */
const optionalText = fc.option(fc.string({ unit: 'grapheme-composite' }), { nil: undefined });
const jsonValue = fc.jsonValue({ maxDepth: 3 });
const event: fc.Arbitrary<AuditEvent> = fc.record({
  occurredAt: fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }),
  kind: fc.constantFrom('request' as const, 'compliance' as const),
  requestId: optionalText,
  flowId: optionalText,
  screen: optionalText,
  action: optionalText,
  outcome: fc.string(),
  httpStatus: fc.option(fc.integer({ min: 100, max: 599 }), { nil: undefined }),
  durationMs: fc.option(fc.nat(), { nil: undefined }),
  tokenHash: optionalText,
  subjectRef: optionalText,
  fields: fc.option(fc.dictionary(fc.string(), fc.string()), { nil: undefined }),
  detail: fc.option(fc.dictionary(fc.string(), jsonValue), { nil: undefined }),
});

describe('the canonical content of an audit event', () => {
  it('is the same from the fixed-shape serializer as from the generic canonical JSON', () => {
    fc.assert(
      fc.property(event, (e) => {
        expect(canonicalContent(e)).toBe(canonicalContentGeneric(e));
      }),
      { numRuns: 500 },
    );
  });

  it('is the same with nested details in any key order, and with quotes and control characters', () => {
    const e: AuditEvent = {
      occurredAt: new Date('2026-12-02T10:00:00.123Z'),
      kind: 'request',
      outcome: 'ok "quoted"\n',
      detail: { z: 1, a: { y: [1, { b: 2, a: 1 }], x: null } },
      fields: { b: '[redacted]', a: 'x' },
    };
    expect(canonicalContent(e)).toBe(canonicalContentGeneric(e));
    expect(canonicalContent(e)).toContain('"detail":{"a":{"x":null,"y":[1,{"a":1,"b":2}]},"z":1}');
  });
});
