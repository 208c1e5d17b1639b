import { redactFields } from '../../src/audit';

describe('when an allowlisted field value holds control characters', () => {
  it('then they are replaced before the value reaches the audit log', () => {
    const fields = redactFields(
      { department: 'card\u0000io\u001b[2J', name: 'Ada' },
      {
        knownKeys: new Set(['department', 'name']),
        sensitiveKeys: new Set(),
        allowValues: new Set(['department']),
        fieldOfKey: {},
      },
    );
    expect(fields).toEqual({ department: 'card\ufffdio\ufffd[2J', name: '[redacted]' });
  });
});
