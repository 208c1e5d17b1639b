import { AUDIT_COLUMNS, type AuditRow } from '../audit';

export type AuditFormat = 'table' | 'csv' | 'json';

/**
 * A CSV cell that a spreadsheet shows as text: cells starting with `= + - @`, a tab or a carriage
 * return would be read as formulas (CSV injection, OWASP), so they get a leading apostrophe; then
 * RFC 4180 quoting. Audit values can carry client-sent text (error notifications), hence the care.
 */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(rows: readonly AuditRow[]): string {
  const lines = [AUDIT_COLUMNS.join(',')];
  for (const row of rows) lines.push(AUDIT_COLUMNS.map((c) => csvCell(row[c])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

/** One row per line inside a JSON array: valid JSON, and still greppable. */
export function toJsonLines(rows: readonly unknown[]): string {
  if (rows.length === 0) return '[]\n';
  return `[\n${rows.map((r) => JSON.stringify(r)).join(',\n')}\n]\n`;
}

const TABLE_COLUMNS: readonly { key: keyof AuditRow | 'link'; title: string; width: number }[] = [
  { key: 'occurred_at', title: 'occurred_at', width: 24 },
  { key: 'kind', title: 'kind', width: 10 },
  { key: 'flow_id', title: 'flow', width: 18 },
  { key: 'screen', title: 'screen', width: 14 },
  { key: 'action', title: 'action', width: 13 },
  { key: 'outcome', title: 'outcome', width: 22 },
  { key: 'http_status', title: 'status', width: 6 },
  { key: 'duration_ms', title: 'ms', width: 6 },
  { key: 'link', title: 'chain:seq', width: 10 },
  { key: 'detail', title: 'detail', width: 60 },
];

/** Printable for a terminal: control characters (escape sequences included) become `?`, long cells are cut. */
function tableCell(value: unknown, width: number): string {
  // eslint-disable-next-line no-control-regex -- control characters would drive the terminal
  const text = value === null || value === undefined ? '' : String(value).replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return text.length > width ? `${text.slice(0, width - 1)}…` : text.padEnd(width);
}

export function toTable(rows: readonly AuditRow[]): string {
  const line = (cells: string[]): string => cells.join('  ').trimEnd();
  const out = [line(TABLE_COLUMNS.map((c) => tableCell(c.title, c.width)))];
  for (const row of rows) {
    out.push(
      line(TABLE_COLUMNS.map((c) => tableCell(c.key === 'link' ? `${row.chain}:${row.seq}` : row[c.key], c.width))),
    );
  }
  out.push(`(${rows.length} row${rows.length === 1 ? '' : 's'})`);
  return `${out.join('\n')}\n`;
}

export function formatAuditRows(rows: readonly AuditRow[], format: AuditFormat): string {
  if (format === 'csv') return toCsv(rows);
  if (format === 'json') return toJsonLines(rows);
  return toTable(rows);
}
