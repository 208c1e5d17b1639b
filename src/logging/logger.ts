import { Writable } from 'node:stream';
import winston from 'winston';
import { redact } from './redact';
import { safeDeep, safeText } from './safe-text';

export type Logger = winston.Logger;

export interface LoggerOptions {
  readonly level: 'error' | 'warn' | 'info' | 'debug';
  readonly format: 'json' | 'pretty';
  /** Receives each formatted line instead of stdout (tests scan these for leaks). */
  readonly sink?: (line: string) => void;
  readonly silent?: boolean;
}

/**
 * Structural fields winston adds itself; everything else in a log entry passes through redaction.
 * Every string (the message too) loses control and bidi characters (src/logging/safe-text.ts):
 * whatever a client or a handler put into a value cannot forge a line or reorder what a reader sees.
 */
const redaction = winston.format((info) => {
  if (typeof info.message === 'string') info.message = safeText(info.message);
  for (const key of Object.keys(info)) {
    if (key === 'level' || key === 'message' || key === 'timestamp') continue;
    const cleaned = redact({ [key]: info[key] }) as Record<string, unknown>;
    info[key] = safeDeep(cleaned[key]);
  }
  return info;
});

export function createLogger(options: LoggerOptions): Logger {
  const format =
    options.format === 'json'
      ? winston.format.combine(winston.format.timestamp(), redaction(), winston.format.json())
      : winston.format.combine(
          winston.format.timestamp({ format: 'HH:mm:ss.SSS' }),
          redaction(),
          winston.format.printf(({ timestamp, level, message, ...rest }) => {
            const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
            return `${String(timestamp)} ${level.padEnd(5)} ${String(message)}${extra}`;
          }),
        );
  const transport = options.sink
    ? new winston.transports.Stream({
        stream: new Writable({
          write(chunk: Buffer, _enc, done) {
            options.sink?.(chunk.toString('utf8').trimEnd());
            done();
          },
        }),
      })
    : new winston.transports.Console();
  return winston.createLogger({
    level: options.level,
    format,
    transports: [transport],
    silent: options.silent ?? false,
  });
}
