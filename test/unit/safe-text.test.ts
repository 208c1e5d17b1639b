import { createLogger, safeText } from '../../src/logging';

/** Control and bidi characters never reach a log line (issue 13: U+202E in error messages). */

const UNSAFE = ['\u0000', '\n', '\r', '\u001b', '\u007f', '\u0085', '\u009b', '\u061c', '\u200e', '\u200f'];
const BIDI = ['\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069', '\u2028'];

describe('when text holds control or bidi characters', () => {
  it.each([...UNSAFE, ...BIDI].map((c) => [c.codePointAt(0)?.toString(16), c]))(
    'then U+%s is replaced by U+FFFD',
    (_hex, c) => {
      expect(safeText(`a${c}b`)).toBe('a\ufffdb');
    },
  );

  it('then ordinary text, accents and emoji are kept as they are', () => {
    const text = 'Zoë Ångström — 東京 👋 (tab-free)';
    expect(safeText(text)).toBe(text);
  });

  it('then a log line keeps none of them, in the message, in values or in keys, at any depth', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'debug', format: 'json', sink: (l) => lines.push(l) });
    logger.warn('forged\nline \u202eevil', { nested: { deeper: ['x\u2066y', { 'k\u202ey': 'v\u0085' }] } });
    const pretty = createLogger({ level: 'debug', format: 'pretty', sink: (l) => lines.push(l) });
    pretty.info('pretty\u202e', { value: 'a\rb' });
    const text = lines.join('');
    expect(lines).toHaveLength(2);
    // eslint-disable-next-line no-control-regex -- control characters are what is looked for
    expect(text).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
    expect(JSON.parse(lines[0])).toMatchObject({
      message: 'forged\ufffdline \ufffdevil',
      nested: { deeper: ['x\ufffdy', { 'k\ufffdy': 'v\ufffd' }] },
    });
  });
});
