import type { AuditRow } from '../../src/audit';
import { csvCell, toCsv, toTable } from '../../src/compliance';

const row = (over: Partial<AuditRow>): AuditRow => ({
  occurred_at: '2026-11-29T13:00:00.000Z',
  kind: 'request',
  flow_id: 'book-appointment',
  screen: null,
  action: 'ping',
  outcome: 'ping',
  http_status: 200,
  duration_ms: 3,
  request_id: 'r1',
  subject_ref: null,
  fields: null,
  detail: null,
  chain: 0,
  seq: 1,
  ...over,
});

describe('when audit rows are written as CSV', () => {
  it.each([
    ['=HYPERLINK("http://x","y")', `"'=HYPERLINK(""http://x"",""y"")"`],
    ['+1+1', "'+1+1"],
    ['-2+3', "'-2+3"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tcmd', "'\tcmd"],
    ['\r=1', `"'\r=1"`],
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['line\nbreak', '"line\nbreak"'],
  ])('then the cell %j becomes %j (never a formula)', (input, expected) => {
    expect(csvCell(input)).toBe(expected);
  });

  it('then numbers stay numbers and nulls become empty cells', () => {
    expect(csvCell(-5)).toBe('-5');
    expect(csvCell(null)).toBe('');
    const csv = toCsv([row({ detail: '{"error_message":"=cmd|\' /C calc\'!A0"}' })]);
    const [header, line] = csv.split('\r\n');
    expect(header).toBe(
      'occurred_at,kind,flow_id,screen,action,outcome,http_status,duration_ms,request_id,subject_ref,fields,detail,chain,seq',
    );
    expect(line).toContain('"{""error_message"":""=cmd|');
    expect(line?.split(',')[6]).toBe('200');
  });
});

describe('when audit rows are printed as a table', () => {
  it('then terminal control sequences in a value are neutralised and long cells are cut', () => {
    const table = toTable([row({ outcome: 'x\u001b[2J\u001b]0;pwned\u0007y', detail: 'd'.repeat(500) })]);
    // eslint-disable-next-line no-control-regex -- control characters are what is checked
    expect(table).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    expect(table).toContain('x?[2J?]0;pwned?y');
    expect(table).toContain('(1 row)');
    expect(Math.max(...table.split('\n').map((l) => l.length))).toBeLessThan(220);
  });
});
