import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'flowgate-keys-'));
  writeFileSync(join(dir, 'pass'), 'correct horse battery\n');
  writeFileSync(join(dir, 'wrong'), 'not the passphrase\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const keys = (...args: string[]) => runCli('keys', args, { cwd: dir });

describe('when a developer runs npm run keys -- generate', () => {
  it('then an encrypted 0600 private key and its public key are written, and the upload call is printed', async () => {
    const run = await keys('generate', '--out-dir', 'a', '--passphrase-file', 'pass');
    expect(run.code).toBe(0);
    const privatePem = readFileSync(join(dir, 'a', 'private.pem'), 'utf8');
    expect(privatePem).toContain('-----BEGIN ENCRYPTED PRIVATE KEY-----');
    expect(statSync(join(dir, 'a', 'private.pem')).mode & 0o777).toBe(0o600);
    const publicPem = readFileSync(join(dir, 'a', 'public.pem'), 'utf8');
    expect(run.stdout).toContain(publicPem.trim());
    expect(run.stdout).toMatch(
      /POST "https:\/\/graph\.facebook\.com\/v\d+\.\d+\/<PHONE_NUMBER_ID>\/whatsapp_business_encryption"/,
    );
    expect(run.stdout).toContain('business_public_key');
  });

  it('then it refuses to overwrite existing keys without --force, and replaces them with it', async () => {
    const before = readFileSync(join(dir, 'a', 'private.pem'), 'utf8');
    const refused = await keys('generate', '--out-dir', 'a');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/already exists; pass --force/);
    expect(readFileSync(join(dir, 'a', 'private.pem'), 'utf8')).toBe(before);
    const forced = await keys('generate', '--out-dir', 'a', '--force', '--passphrase-file', 'pass');
    expect(forced.code).toBe(0);
    expect(readFileSync(join(dir, 'a', 'private.pem'), 'utf8')).not.toBe(before);
  });
});

describe('when a developer runs npm run keys -- check', () => {
  beforeAll(async () => {
    expect((await keys('generate', '--out-dir', 'b')).code).toBe(0);
    writeFileSync(
      join(dir, 'garbage.pem'),
      '-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n',
    );
  });

  it('then a matching pair with the right passphrase passes', async () => {
    const run = await keys(
      'check',
      '--private',
      'a/private.pem',
      '--public',
      'a/public.pem',
      '--passphrase-file',
      'pass',
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/belong together \(SHA256:/);
  });

  it('then a wrong passphrase is named as such', async () => {
    const run = await keys(
      'check',
      '--private',
      'a/private.pem',
      '--public',
      'a/public.pem',
      '--passphrase-file',
      'wrong',
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/wrong passphrase/);
  });

  it('then a missing passphrase for an encrypted key is named as such', async () => {
    const run = await keys('check', '--private', 'a/private.pem', '--public', 'a/public.pem');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/is encrypted; give its passphrase/);
  });

  it('then a public key of another pair is reported as a mismatch', async () => {
    const run = await keys(
      'check',
      '--private',
      'a/private.pem',
      '--public',
      'b/public.pem',
      '--passphrase-file',
      'pass',
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/does not belong to .*private\.pem/);
  });

  it('then malformed PEM files are reported with their file name', async () => {
    const badPrivate = await keys('check', '--private', 'garbage.pem', '--public', 'b/public.pem');
    expect(badPrivate.code).toBe(1);
    expect(badPrivate.stderr).toMatch(/garbage\.pem: cannot be parsed/);
    const badPublic = await keys('check', '--private', 'b/private.pem', '--public', 'pass');
    expect(badPublic.code).toBe(1);
    expect(badPublic.stderr).toMatch(/pass: is not a PEM public key/);
  });

  it('then a usage mistake exits 2 with the usage text', async () => {
    const run = await keys('rotate');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/Usage:/);
  });
});
