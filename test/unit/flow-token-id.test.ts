import { randomBytes } from 'node:crypto';
import { FlowTokenCodec } from '../../src/tokens';
import { tokenIdOf } from '../../src/tokens/token-service';

describe('when flow tokens are issued', () => {
  const codec = new FlowTokenCodec([randomBytes(32).toString('base64url')]);

  it('then every id is plain hex, so it can be passed as a command-line value (never starts with "-")', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const issued = await codec.issue('book-appointment', 'subject', 60);
      expect(issued.id).toMatch(/^[0-9a-f]{24}$/);
      expect(tokenIdOf(issued.token)).toBe(issued.id);
      ids.add(issued.id);
    }
    expect(ids.size).toBe(300);
  });
});
