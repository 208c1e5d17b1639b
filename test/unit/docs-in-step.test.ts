import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENV_SPEC, VARIABLES, type VarName } from '../../src/config';
import { ERROR_STATUS } from '../../src/http';

const root = join(__dirname, '..', '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const security = readFileSync(join(root, 'SECURITY.md'), 'utf8');
const envExample = readFileSync(join(root, '.env.example'), 'utf8');

describe('when the configuration table changes', () => {
  it.each(ENV_SPEC.map((v) => v.name))('then the README documents %s', (name) => {
    expect(readme).toMatch(new RegExp(`\\|\\s*\`${name}\`\\s*\\|`));
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
    [...readme.matchAll(/^\|\s*`([A-Z][A-Z0-9_]+)`\s*\|([^|]*)\|([^|]*)\|/gm)].map((m) => [
      m[1] as string,
      { count: 0, defaultText: (m[2] as string).trim(), secretText: (m[3] as string).trim() },
    ]),
  );
  it.each(ENV_SPEC.map((v) => v.name))('then the README has one row for %s, with its default and secrecy', (name) => {
    const def = VARIABLES[name as VarName] as {
      default?: string;
      secret?: boolean;
      devGenerated?: boolean;
      production?: { required?: string; default?: string };
    };
    expect([...readme.matchAll(new RegExp(`^\\|\\s*\`${name}\`\\s*\\|`, 'gm'))]).toHaveLength(1);
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
    const documented = [...readme.matchAll(/^\|\s*`([A-Z][A-Z0-9_]+)`\s*\|/gm)].map((m) => m[1]);
    const known = new Set(ENV_SPEC.map((v) => v.name));
    expect(documented.filter((name) => !known.has(name as string))).toEqual([]);
  });
});

describe('when the error → status table changes', () => {
  const statuses = [...new Set(ERROR_STATUS.map((e) => e.status)), 200, 500];
  it.each(statuses)('then README and SECURITY.md both list status %i', (status) => {
    const row = new RegExp(`^\\|\\s*${status}\\s*\\|`, 'm');
    expect(readme).toMatch(row);
    expect(security).toMatch(row);
  });

  it('then the docs list no status the code cannot return', () => {
    const known = new Set<number>(statuses);
    for (const doc of [readme, security]) {
      const section = doc.split(/^## /m).find((s) => /^(HTTP status codes|Status codes)/.test(s)) ?? '';
      const listed = [...section.matchAll(/^\|\s*(\d{3})\s*\|/gm)].map((m) => Number(m[1]));
      expect(listed.length).toBeGreaterThan(0);
      expect(listed.filter((s) => !known.has(s))).toEqual([]);
    }
  });
});
