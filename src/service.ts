import { existsSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import type { RequestListener } from 'node:http';
import { buildApp } from './app';
import { AuditLog } from './audit';
import type { Config } from './config';
import { AtRestCipher, loadPrivateKeyFile, writeKeyPair } from './crypto';
import { type FlowDefinition } from './flow-api';
import { buildRegistry, Dispatcher, type Registry, type RequestObservation } from './endpoint';
import { registeredFlows } from './flows/registered';
import { createLogger, type Logger } from './logging';
import { consentApiRouter } from './http/consent-api';
import { flowEdge, flowMessagesRouter, recordedSecurityHeaders, webhookRouter } from './http';
import { MediaService } from './media';
import { FlowgateMetrics, metricsRouter } from './metrics';
import { createCounterStore, RateLimiter, RefusalAudit } from './ratelimit';
import { paths } from './paths';
import { openDatabase, type Database } from './storage';
import { FlowTokenCodec, TokenService } from './tokens';
import { WebhookReceiver, webhookRegistry } from './webhooks';
import type express from 'express';

export interface Service {
  /** What the HTTP server runs: the fast flow path in front of the Express app (src/http/flow-edge.ts). */
  readonly handler: RequestListener;
  readonly config: Config;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly database: Database;
  readonly audit: AuditLog;
  readonly tokens: TokenService;
  readonly codec: FlowTokenCodec;
  readonly cipher: AtRestCipher;
  readonly dispatcher: Dispatcher;
  readonly metrics: FlowgateMetrics;
  readonly rateLimiter: RateLimiter;
  /** From now on /readyz answers 503, so load balancers stop sending before the server closes. */
  markDraining(): void;
  /** Flushes audit batches, closes the rate-limit store and the database; call after the HTTP server stopped. */
  close(): Promise<void>;
}

export interface ServiceOptions {
  readonly flows?: readonly FlowDefinition[];
  readonly logger?: Logger;
  readonly observe?: (observation: RequestObservation) => void;
  readonly extraRouters?: readonly express.Router[];
  /** Run migrations at start (default true); cluster workers skip it, the primary ran them. */
  readonly migrate?: boolean;
  /** What `/metrics` on the main port serves (default: this process's metrics; workers: the cluster's). */
  readonly renderMetrics?: () => Promise<string>;
  /** Set in a cluster worker: its slot (src/metrics/flowgate-metrics.ts). */
  readonly workerSlot?: string;
  /** The time per-address rate limits are reckoned in (default Date.now; tests move it across windows). */
  readonly rateLimitClock?: () => number;
}

/**
 * Builds everything a process serves from, in the order that fails fastest: logger, keys (a wrong
 * passphrase stops here), flow registrations (checked against their Flow JSON), database (migrated
 * to the latest version), then the app. Nothing here listens; src/main.ts does.
 */
export async function createService(config: Config, options: ServiceOptions = {}): Promise<Service> {
  const logger = options.logger ?? createLogger({ level: config.logLevel, format: config.logFormat });
  const privateKeys = loadKeys(config, logger);
  const registry = buildRegistry(options.flows ?? registeredFlows, {
    schemaOverridesDir: paths.schemaOverrides,
    production: config.nodeEnv === 'production',
  });
  const webhookFlows = webhookRegistry(registry);
  for (const flow of registry.values()) {
    for (const w of flow.warnings) logger.warn(`flow ${flow.id}: ${w.message}`, { path: w.path, screen: w.screen });
  }
  if (config.appSecrets.length === 0) {
    logger.warn('META_APP_SECRET is not set: request signatures are NOT checked (development only)');
  }

  const database = await openDatabase(config.database, { migrate: options.migrate ?? true, logger });
  try {
    const metrics = new FlowgateMetrics({ workerSlot: options.workerSlot });
    const audit = new AuditLog(database, config.audit, logger);
    audit.onBatch((size) => metrics.auditBatch(size));
    await audit.init();
    const store = createCounterStore(config, {
      knex: database.knex,
      logger,
      onError: () => metrics.rateLimitStoreErrors.inc({ store: store.kind }),
    });
    const rateLimiter = new RateLimiter({
      store,
      limits: config.rateLimits,
      logger,
      metrics,
      refusals: new RefusalAudit((event) => audit.append(event), logger),
      clock: options.rateLimitClock,
    });
    if (!config.audit.enabled) logger.warn('AUDIT_ENABLED=false: requests are not audited');
    const codec = new FlowTokenCodec(config.flowTokens.secrets.map((s) => s.reveal()));
    const cipher = new AtRestCipher(config.submissionKeys);
    const tokens = new TokenService({
      knex: database.knex,
      codec,
      audit,
      subjectHashKey: config.subjectHashKey.reveal(),
      defaultTtlSeconds: config.flowTokens.ttlSeconds,
      flowIds: new Set(registry.keys()),
    });
    const dispatcher = new Dispatcher({
      registry,
      privateKeys,
      appSecrets: config.appSecrets.map((s) => s.reveal()),
      tokenSignaturePolicy: config.flowTokenSignature,
      tokens: codec,
      sql: database.sql,
      audit,
      cipher,
      logger,
      handlerTimeoutMs: config.handlerTimeoutMs,
      observe: (o) => {
        metrics.observe(o);
        options.observe?.(o);
      },
      rsaTime: (seconds) => metrics.rsaDecrypt(seconds),
      perTokenPerMinute: config.rateLimits.perTokenPerMinute,
      subjectHashKey: config.subjectHashKey.reveal(),
      media: new MediaService({ knex: database.knex, cipher, audit, logger, settings: config.media }),
    });
    const webhook = new WebhookReceiver({
      knex: database.knex,
      audit,
      cipher,
      codec,
      flows: webhookFlows,
      logger,
      metrics: metrics.webhook,
      subjectHashKey: config.subjectHashKey.reveal(),
      appSecrets: config.webhook.appSecrets.map((s) => s.reveal()),
      verifyToken: config.webhook.verifyToken?.reveal(),
      hookTimeoutMs: config.webhook.hookTimeoutMs,
    });
    webhook.alerts.start();
    const metricsToken = config.metricsToken?.reveal();
    const renderMetrics = options.renderMetrics ?? (() => metrics.render());
    const readiness = { draining: false };
    const app = buildApp({
      dispatcher,
      knex: database.knex,
      logger,
      audit,
      tokens,
      bodyLimitBytes: config.bodyLimitBytes,
      tokenApiKey: config.tokenApiKey?.reveal(),
      tokenApiPerMinute: config.rateLimits.tokenApiPerMinute,
      trustProxy: config.trustProxy,
      rateLimiter,
      isDraining: () => readiness.draining,
      extraRouters: [
        // On the main port /metrics exists only with METRICS_TOKEN; without it the path is a 404.
        ...(metricsToken ? [metricsRouter({ render: renderMetrics, token: metricsToken })] : []),
        webhookRouter({
          receiver: webhook,
          path: config.webhook.path,
          bodyLimitBytes: config.webhook.bodyLimitBytes,
          rateLimiter,
        }),
        ...(config.tokenApiKey
          ? [flowMessagesRouter({ knex: database.knex, apiKey: config.tokenApiKey.reveal(), logger })]
          : []),
        // Consent withdrawal and status beside the token API, with its key (src/http/consent-api.ts).
        ...(config.tokenApiKey
          ? [
              consentApiRouter({
                knex: database.knex,
                audit,
                logger,
                apiKey: config.tokenApiKey.reveal(),
                subjectHashKey: config.subjectHashKey.reveal(),
                purposes: new Set([...registry.values()].flatMap((f) => f.consents.map((c) => c.purpose))),
                limit: { perMinute: config.rateLimits.tokenApiPerMinute, rateLimiter },
              }),
            ]
          : []),
        ...(options.extraRouters ?? []),
      ],
    });
    const handler = flowEdge({
      dispatcher,
      bodyLimitBytes: config.bodyLimitBytes,
      trustProxy: config.trustProxy,
      logger,
      rateLimiter,
      securityHeaders: recordedSecurityHeaders(),
      fallback: app,
    });
    return {
      handler,
      config,
      logger,
      registry,
      database,
      audit,
      tokens,
      codec,
      cipher,
      dispatcher,
      metrics,
      rateLimiter,
      markDraining() {
        readiness.draining = true;
      },
      async close() {
        webhook.alerts.stop();
        await audit.flush();
        await rateLimiter.close().catch((error: unknown) => logger.warn('closing the rate-limit store', { error }));
        await database.close();
      },
    };
  } catch (err) {
    await database.close();
    throw err;
  }
}

/**
 * The current and previous private keys; outside production a missing current key is generated
 * first. The cluster primary calls it before forking, so that workers never race to generate
 * two different development keys and a wrong passphrase stops the start once, clearly.
 */
export function loadKeys(config: Config, logger: Logger): KeyObject[] {
  if (!existsSync(config.privateKeyFile) && config.nodeEnv !== 'production') {
    const pair = writeKeyPair(config.privateKeyFile, config.privateKeyPassphrase?.reveal());
    logger.warn('generated a development key pair; upload the public key to use it with WhatsApp', {
      privateKeyFile: pair.privateKeyFile,
      publicKeyFile: pair.publicKeyFile,
    });
  }
  const current = loadPrivateKeyFile(config.privateKeyFile, config.privateKeyPassphrase?.reveal());
  const previous = config.previousPrivateKeyFiles.map((file) =>
    loadPrivateKeyFile(file, config.previousPrivateKeyPassphrase?.reveal()),
  );
  return [current, ...previous];
}
