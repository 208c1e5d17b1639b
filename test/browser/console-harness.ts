import { createHash, randomUUID } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { osAccount, subjectOfPhone } from '../../src/compliance';
import { insertMediaFile, sealMedia } from '../../src/media';
import { addUser, SessionStore, startConsole, type ConsoleServer } from '../../src/console';
import { startTestService, type TestService } from '../helpers/test-service';
import { walkBookAppointment } from '../helpers/walk';
import { launchChromium } from './chromium';

export const USER = 'alice.compliance';
export const PASSWORD = 'correct horse battery staple';
export const PHONE = '+14155550142';
/** What the person typed into the flow: must never appear on a console page, only in the export file. */
export const CANARY_NAME = 'Zelda Canaryfield';
export const CANARY_EMAIL = 'zelda.canary@example.org';
/** A picker file PHONE sent (name and bytes): only in the export file, decrypted. */
export const CANARY_FILE_NAME = 'zelda-passport.jpg';
export const CANARY_FILE_BYTES = Buffer.from('\xff\xd8\xff\xe0 not really a passport', 'latin1');

export interface ConsoleHarness {
  readonly t: TestService;
  readonly console: ConsoleServer;
  readonly url: string;
  readonly browser: Browser;
  stop(): Promise<void>;
}

/** One picker file of PHONE's booking, sealed and stored as src/media stores a received one. */
async function storePickerFile(t: TestService, flowToken: string): Promise<void> {
  const knex = t.service.database.knex;
  const subjectId = subjectOfPhone(PHONE, t.service.config.subjectHashKey.reveal());
  const tokenRow = (await knex('flow_tokens').where({ subject_id: subjectId }).first('id')) as { id: string };
  const identity = { id: randomUUID(), flowId: 'book-appointment', tokenId: tokenRow.id, subjectId };
  const meta = {
    file_name: CANARY_FILE_NAME,
    media_id: 'media-4711',
    sha256: createHash('sha256').update(CANARY_FILE_BYTES).digest('hex'),
  };
  const sealed = sealMedia(t.service.cipher, identity, CANARY_FILE_BYTES, meta);
  await insertMediaFile(knex, {
    ...identity,
    screen: 'DETAILS',
    field: 'id_photo',
    mediaKey: createHash('sha256').update(`${flowToken}:media-4711`).digest('hex'),
    contentType: 'image/jpeg',
    byteSize: CANARY_FILE_BYTES.length,
    ...sealed,
  });
}

/**
 * The real service (PGlite in memory, or a private PostgreSQL schema) with traffic in its audit
 * log — one completed booking for PHONE with a submission, some refused requests — the console on
 * a free loopback port, one console user, and headless Chromium.
 */
export async function startConsoleHarness(
  options: { signInAttempts?: number; browser?: boolean } = {},
): Promise<ConsoleHarness> {
  const t = await startTestService();
  let consoleServer: ConsoleServer | undefined;
  let browser: Browser | undefined;
  try {
    const client = t.client();
    const token = await t.issueToken(PHONE);
    await walkBookAppointment(client, token, { name: CANARY_NAME, email: CANARY_EMAIL, phone: '', notes: '' });
    await storePickerFile(t, token);
    await client.init('not-a-token'); // refused: 427
    await client.send({ version: '3.0', action: 'ping' }, { signature: 'sha256=00' }); // refused: 432
    await t.issueToken('+14155550199'); // another person, never seen by the console
    // Enough request events for more than one page of the audit list (50 a page).
    for (let i = 0; i < 55; i++) await client.ping();
    await t.service.audit.flush();
    await addUser(
      t.service.database.knex,
      t.service.audit,
      { operator: 'test-admin', reason: 'browser test set-up', osUser: osAccount() },
      USER,
      PASSWORD,
    );
    consoleServer = await startConsole({
      config: t.service.config,
      logger: t.service.logger,
      shared: t.service.database.knex,
      port: 0,
      sessions: new SessionStore(),
      signInAttempts: options.signInAttempts,
    });
    // Without a browser (tests of the console's HTTP interface alone), `browser` is never used.
    browser = options.browser === false ? undefined : await launchChromium();
  } catch (err) {
    await consoleServer?.close();
    await t.stop();
    throw err;
  }
  const server = consoleServer;
  const chromium = browser as Browser;
  return {
    t,
    console: server,
    url: `http://127.0.0.1:${server.port}`,
    browser: chromium,
    async stop() {
      await browser?.close();
      await server.close();
      await t.stop();
    },
  };
}
