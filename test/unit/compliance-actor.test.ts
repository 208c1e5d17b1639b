import { assertValidActor, recordableAccount } from '../../src/compliance';

describe('account names recorded beside a compliance action', () => {
  it.each([
    ['alice', 'alice'],
    ['  svc-compliance  ', 'svc-compliance'],
    ['fgt_officer_1a2b3c4d', 'fgt_officer_1a2b3c4d'],
  ])('keeps an ordinary account name (%j)', (name, kept) => {
    expect(recordableAccount(name)).toBe(kept);
  });

  it.each([
    ['a directory login that is an e-mail address', 'alice.smith@corp.example'],
    ['a name made of a phone number', 'u14155550123'],
    ['a control character', 'ali\u0007ce'],
    ['an empty name', ''],
    ['an oversized name', 'a'.repeat(101)],
  ])('withholds %s: the audit log keeps it forever', (_, name) => {
    expect(recordableAccount(name)).toBe('(withheld)');
  });
});

describe('the typed operator and reason', () => {
  it('are trimmed, and refused with a message naming the flag when they hold personal data', () => {
    expect(assertValidActor({ operator: ' kim ', reason: ' T-1 ' })).toEqual({ operator: 'kim', reason: 'T-1' });
    expect(() => assertValidActor({ operator: 'kim@corp.example', reason: 'T-1' })).toThrow(/--operator .*e-mail/);
    expect(() => assertValidActor({ operator: 'kim', reason: 'call +1 415 555 0123' })).toThrow(/--reason .*phone/);
  });
});
