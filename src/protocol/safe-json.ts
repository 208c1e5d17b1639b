import { FlowgateError } from '../errors';

/**
 * JSON.parse that refuses prototype-poisoning keys. JSON.parse itself makes `__proto__` an own
 * property, which is harmless until some code merges the object into another (`Object.assign`,
 * spread into a class instance, lodash.merge…); refusing such payloads outright is simpler than
 * proving every later merge safe. The same walk bounds nesting depth, so later recursive code
 * (schema validation, canonical hashing) never meets a pathological structure.
 */
export class UnsafeJsonError extends FlowgateError {
  constructor(message: string) {
    super('unsafe_json', message);
  }
}

export function parseJsonSafely(text: string): unknown {
  const value: unknown = JSON.parse(text);
  assertNoPoisonKeys(value, 0);
  return value;
}

const MAX_DEPTH = 64;

function assertNoPoisonKeys(value: unknown, depth: number): void {
  if (value === null || typeof value !== 'object') return;
  if (depth > MAX_DEPTH) throw new UnsafeJsonError('JSON nested too deeply');
  if (Array.isArray(value)) {
    for (const item of value) assertNoPoisonKeys(item, depth + 1);
    return;
  }
  for (const key of Object.keys(value)) {
    if (key === '__proto__') throw new UnsafeJsonError('JSON contains a "__proto__" key');
    const child = (value as Record<string, unknown>)[key];
    if (key === 'constructor' && child !== null && typeof child === 'object' && 'prototype' in child) {
      throw new UnsafeJsonError('JSON contains a "constructor.prototype" key');
    }
    assertNoPoisonKeys(child, depth + 1);
  }
}
