import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENV_SPEC, VARIABLES, type VarName } from '../../src/config';
import { ERROR_CATALOGUE } from '../../src/errors';

const root = join(__dirname, '..', '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
/** The configuration table lives in its own section; other tables (e.g. "Several instances") may name variables too. */
const configSection = readme.slice(
  readme.indexOf('\n## Configuration'),
  readme.indexOf('\n## ', readme.indexOf('\n## Configuration') + 5),
);
const security = readFileSync(join(root, 'SECURITY.md'), 'utf8');
const envExample = readFileSync(join(root, '.env.example'), 'utf8');

describe('when the configuration table changes', () => {
  it.each(ENV_SPEC.map((v) => v.name))('then the README documents %s', (name) => {
    expect(configSection).toMatch(new RegExp(`\\|\\s*\`${name}\`\\s*\\|`));
  });

  it.each(ENV_SPEC.map((v) => v.name))('then .env.example lists %s', (name) => {
    expect(envExample).toMatch(new RegExp(`^#? ?${name}=`, 'm'));
  });

  it.each(ENV_SPEC.map((v) => [v.name, v.description]))(
    'then the README and .env.example describe %s as the code does',
    (_name, description) => {
      expect(readme).toContain(description.replace(/\|/g, '\\|'));
      expect(envExample).toContain(`# ${description.replace(/`/g, '')}`);
    },
  );

  // The Default and Secret columns, as the definition (src/config/env-spec.ts) says them.
  const rows = new Map(
    [...configSection.matchAll(/^\|\s*`([A-Z][A-Z0-9_]+)`\s*\|([^|]*)\|([^|]*)\|/gm)].map((m) => [
      m[1],
      { count: 0, defaultText: m[2].trim(), secretText: m[3].trim() },
    ]),
  );
  it.each(ENV_SPEC.map((v) => v.name))('then the README has one row for %s, with its default and secrecy', (name) => {
    const def = VARIABLES[name as VarName] as {
      default?: string;
      secret?: boolean;
      devGenerated?: boolean;
      production?: { required?: string; default?: string };
    };
    expect([...configSection.matchAll(new RegExp(`^\\|\\s*\`${name}\`\\s*\\|`, 'gm'))]).toHaveLength(1);
    const expectedDefault =
      def.production?.default !== undefined
        ? '(see meaning)'
        : def.default === undefined
          ? '—'
          : def.default === ''
            ? '(empty)'
            : `\`${def.default}\``;
    const expectedSecret = [
      def.secret ? (def.devGenerated ? 'yes (dev-generated)' : 'yes') : '',
      def.production?.required !== undefined ? '· required in production' : '',
    ]
      .filter(Boolean)
      .join(' ');
    expect(rows.get(name)).toMatchObject({ defaultText: expectedDefault, secretText: expectedSecret });
  });

  it.each(
    ENV_SPEC.filter(
      (v) =>
        v.default &&
        !v.requiredInProduction &&
        !(VARIABLES[v.name as VarName] as { production?: { default?: string } }).production?.default,
    ).map((v) => [v.name, v.default]),
  )('then .env.example shows the default of %s', (name, value) => {
    expect(envExample).toMatch(
      new RegExp(`^# ${name}=${(value as string).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`, 'm'),
    );
  });

  it('then the README documents no variable the service does not read', () => {
    const documented = [...configSection.matchAll(/^\|\s*`([A-Z][A-Z0-9_]+)`\s*\|/gm)].map((m) => m[1]);
    const known = new Set(ENV_SPEC.map((v) => v.name));
    expect(documented.filter((name) => !known.has(name))).toEqual([]);
  });
});

describe('when the error catalogue changes', () => {
  // The status tables of README ("HTTP status codes") and SECURITY.md ("Status codes") are the
  // catalogue's rows that carry a status (src/errors/catalogue.ts), plus 200: one row per code.
  const withStatus = Object.entries(ERROR_CATALOGUE).filter(([, entry]) => entry.status !== undefined);
  const docs = [
    ['README.md', statusTable(readme, 'HTTP status codes')],
    ['SECURITY.md', statusTable(security, 'Status codes')],
  ] as const;

  it.each(docs)('then %s has a status table', (_doc, rows) => {
    expect(rows.length).toBeGreaterThan(withStatus.length);
    expect(rows).toContainEqual(['200', '—', expect.stringContaining('The request was handled') as string]);
  });

  it.each(withStatus.flatMap(([code, entry]) => docs.map(([doc, rows]) => [code, doc, entry, rows] as const)))(
    'then %s is listed in %s with its status and meaning',
    (code, _doc, entry, rows) => {
      expect(rows).toContainEqual([String(entry.status), `\`${code}\``, entry.meaning.replace(/\|/g, '\\|')]);
    },
  );

  it.each(docs)('then %s lists no status or code the catalogue does not hold', (_doc, rows) => {
    const known = new Set(['200 —', ...withStatus.map(([code, entry]) => `${entry.status} \`${code}\``)]);
    expect(rows.map(([status, code]) => `${status} ${code}`).filter((row) => !known.has(row))).toEqual([]);
  });
});

/** The rows (status, code, meaning) of the table in the `## <title>` section. */
function statusTable(doc: string, title: string): string[][] {
  const section = doc.split(/^## /m).find((s) => s.startsWith(`${title}\n`)) ?? '';
  return section
    .split('\n')
    .filter((line) => /^\|\s*\d{3}\s*\|/.test(line))
    .map((line) =>
      line
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim()),
    );
}
