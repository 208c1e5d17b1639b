import type { Knex } from 'knex';
import { toNumber } from '../storage';
import { chainHash, GENESIS_HASH } from './chain';
import { eventOfRow } from './record';

export interface BrokenLink {
  readonly chain: number;
  readonly seq: number;
  readonly reason: string;
}

export interface ChainReport {
  readonly chain: number;
  readonly rows: number;
  /** The chain's last hash: record it outside the database to detect a rewrite of the whole chain. */
  readonly lastHash: string;
  readonly broken: BrokenLink | undefined;
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly chains: readonly ChainReport[];
  /** The first broken link over all chains, in chain order. */
  readonly firstBroken: BrokenLink | undefined;
}

const PAGE = 2000;

/**
 * Walks every chain in sequence order and recomputes each hash: a changed row, a removed row (a
 * gap), an inserted row (a wrong previous hash) or a cut tail (rows short of the chain head) is
 * reported with its chain and sequence number.
 */
export async function verifyAuditLog(knex: Knex): Promise<VerifyReport> {
  const heads = (await knex('audit_chain_heads').orderBy('chain').select('chain', 'seq', 'hash')) as Record<
    string,
    unknown
  >[];
  const chainIds = new Set(heads.map((h) => toNumber(h.chain)));
  const present = (await knex('audit_events').distinct('chain')) as { chain: unknown }[];
  present.forEach((r) => chainIds.add(toNumber(r.chain)));

  const chains: ChainReport[] = [];
  for (const chain of [...chainIds].sort((a, b) => a - b)) {
    const head = heads.find((h) => toNumber(h.chain) === chain);
    chains.push(
      await verifyChain(knex, chain, head ? { seq: toNumber(head.seq), hash: String(head.hash) } : undefined),
    );
  }
  const firstBroken = chains.find((c) => c.broken)?.broken;
  return { ok: !firstBroken, chains, firstBroken };
}

async function verifyChain(
  knex: Knex,
  chain: number,
  head: { seq: number; hash: string } | undefined,
): Promise<ChainReport> {
  let expectedSeq = 1;
  let prevHash = GENESIS_HASH;
  let rows = 0;
  const broken = (seq: number, reason: string): ChainReport => ({
    chain,
    rows,
    lastHash: prevHash,
    broken: { chain, seq, reason },
  });
  for (;;) {
    const page = (await knex('audit_events')
      .where({ chain })
      .andWhere('seq', '>=', expectedSeq)
      .orderBy('seq')
      .limit(PAGE)) as Record<string, unknown>[];
    for (const row of page) {
      const seq = toNumber(row.seq);
      if (seq !== expectedSeq) return broken(expectedSeq, `row ${expectedSeq} is missing (next row is ${seq})`);
      if (String(row.prev_hash) !== prevHash) return broken(seq, 'previous-hash link does not match the row before');
      const recomputed = chainHash(prevHash, chain, seq, eventOfRow(row));
      if (recomputed !== String(row.hash)) return broken(seq, 'content does not match its hash (row altered)');
      prevHash = recomputed;
      expectedSeq++;
      rows++;
    }
    if (page.length < PAGE) break;
  }
  if (head) {
    if (head.seq > rows)
      return broken(rows + 1, `chain ends at ${rows} but its head says ${head.seq} (rows removed from the end)`);
    if (head.seq < rows)
      return broken(head.seq + 1, `rows after the chain head (${head.seq}) were added outside the writer`);
    if (head.hash !== prevHash) return broken(rows, 'last row does not match the chain head hash');
  }
  return { chain, rows, lastHash: prevHash, broken: undefined };
}
