import fc from 'fast-check';
import phoneComplete, { hookControls } from '../fixtures/flows/phone-complete';
import { tokenHash } from '../../src/tokens';
import { startTestService, type TestService } from '../helpers/test-service';
import { completionNotification, postWebhook, wamid } from '../helpers/webhook';

/**
 * Sequences of completion-reply deliveries as WhatsApp (and an attacker) might send them:
 * redeliveries, overlapping retries, several different replies for one token, replies linked by
 * flow_token or by context.id or not at all, forged signatures. Whatever the order, each token
 * ends with at most one stored reply — exactly one when a genuine, linkable reply arrived — is
 * completed exactly then, has one audit event and one hook call per stored reply, and no delivery
 * is answered with anything but 200 (genuine) or 403 (forged).
 */

/** WEBHOOK_PROPERTY_RUNS=200 npm test -- webhook-properties: a longer hunt. */
const RUNS = Number(process.env.WEBHOOK_PROPERTY_RUNS ?? 12);
jest.setTimeout(240_000);

let t: TestService;
beforeAll(async () => {
  t = await startTestService({ flows: [phoneComplete] });
});
afterAll(async () => {
  await t.stop();
});

const TOKENS = 3;
const REPLIES_PER_TOKEN = 2;

/** One delivery: which token's which reply, how it is linked, whether it is signed right. */
const delivery = fc.record({
  token: fc.integer({ min: 0, max: TOKENS - 1 }),
  reply: fc.integer({ min: 0, max: REPLIES_PER_TOKEN - 1 }),
  link: fc.constantFrom<Delivery['link']>('flow_token', 'context_id', 'none'),
  forged: fc.boolean(),
});
type Delivery = { token: number; reply: number; link: 'flow_token' | 'context_id' | 'none'; forged: boolean };

/** Deliveries in groups; a group's deliveries overlap (sent at once). */
const schedule = fc.array(fc.array(delivery, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 5 });

const tokenIdOf = (token: string): string =>
  (JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as { jti: string }).jti;

describe('when completion replies arrive in any order, any number of times', () => {
  it('then each token stores at most one reply, exactly when a genuine linkable one arrived', async () => {
    await fc.assert(
      fc.asyncProperty(schedule, async (groups) => {
        hookControls.mode = 'ok';
        hookControls.calls.length = 0;
        const knex = t.service.database.knex;
        const tokens = await Promise.all(
          Array.from({ length: TOKENS }, (_, i) => t.issueToken(`+1415555${String(7100 + i)}`, 'phone-complete')),
        );
        const sent = tokens.map(() => wamid());
        // The flow messages of the context_id replies are recorded, as the messaging system would.
        for (const [i, token] of tokens.entries()) {
          const res = await fetch(`${t.baseUrl}/api/flow-messages`, {
            method: 'POST',
            headers: { authorization: `Bearer ${t.env.TOKEN_API_KEY}`, 'content-type': 'application/json' },
            body: JSON.stringify({ flow_token: token, message_id: sent[i] }),
          });
          expect(res.status).toBe(201);
        }
        // A reply's body is fixed per (token, reply, link): a redelivery is byte for byte the same.
        const messageIds = tokens.map(() => Array.from({ length: REPLIES_PER_TOKEN }, () => wamid()));
        const bodyOf = (d: Delivery) =>
          completionNotification({
            messageId: `${messageIds[d.token]?.[d.reply] ?? ''}.${d.link}`,
            flowToken: d.link === 'flow_token' ? tokens[d.token] : undefined,
            contextId: d.link === 'context_id' ? sent[d.token] : undefined,
            answers: { name: `reply ${d.reply}`, national_id: 'N' },
          });
        const expectStored = new Set<number>();
        for (const group of groups) {
          const statuses = await Promise.all(
            group.map(async (d) => {
              const res = await postWebhook(`${t.baseUrl}/webhook`, bodyOf(d), {
                secret: d.forged ? 'not-the-app-secret' : t.env.META_APP_SECRET,
              });
              return res.status;
            }),
          );
          group.forEach((d, i) => {
            expect(statuses[i]).toBe(d.forged ? 403 : 200);
            if (!d.forged && d.link !== 'none') expectStored.add(d.token);
          });
        }
        for (const [i, token] of tokens.entries()) {
          const id = tokenIdOf(token);
          const stored = Number(
            ((await knex('submissions').where({ token_id: id }).count({ n: '*' })) as { n: unknown }[])[0]?.n,
          );
          const status = ((await knex('flow_tokens').where({ id }).first('status')) as { status: string }).status;
          const audited = Number(
            (
              (await knex('audit_events')
                .where({ outcome: 'completion_reply_stored', token_hash: tokenHash(id) })
                .count({ n: '*' })) as { n: unknown }[]
            )[0]?.n,
          );
          const want = expectStored.has(i) ? 1 : 0;
          expect(stored).toBe(want);
          expect(status).toBe(want ? 'completed' : 'active');
          expect(audited).toBe(want);
          expect(hookControls.calls.filter((c) => c.tokenId === id)).toHaveLength(want);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
