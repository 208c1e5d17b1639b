import { REDACTED, SENSITIVE } from '../audit';
import { RegistrationError, type RegisteredFlow, type Registry } from '../endpoint';

/** What the webhook knows of each registered flow: its hook, Meta's id, and how to redact its replies. */
export interface WebhookFlow {
  readonly flow: RegisteredFlow;
  /** Keys of its `complete` payloads (and inputs) → field name, for the audit view of a reply. */
  readonly fieldOfKey: ReadonlyMap<string, string>;
  readonly sensitive: ReadonlySet<string>;
}

export interface WebhookRegistry {
  readonly flows: ReadonlyMap<string, WebhookFlow>;
  /** Meta's flow id → registered flow id (FlowDefinition.metaFlowId). */
  readonly byMetaId: ReadonlyMap<string, string>;
}

const META_FLOW_ID = /^[0-9]{1,32}$/;

/**
 * Checked at boot like the rest of a registration: `onComplete` is a function, `metaFlowId` is
 * Meta's numeric id and names one flow only. Any problem stops the start.
 */
export function webhookRegistry(registry: Registry): WebhookRegistry {
  const problems: string[] = [];
  const flows = new Map<string, WebhookFlow>();
  const byMetaId = new Map<string, string>();
  for (const flow of registry.values()) {
    const { onComplete, metaFlowId } = flow.definition;
    if (onComplete !== undefined && typeof onComplete !== 'function') {
      problems.push(`flow "${flow.id}": onComplete must be a function`);
    }
    if (metaFlowId !== undefined) {
      if (typeof metaFlowId !== 'string' || !META_FLOW_ID.test(metaFlowId)) {
        problems.push(`flow "${flow.id}": metaFlowId must be Meta's numeric flow id, as a string`);
      } else if (byMetaId.has(metaFlowId)) {
        problems.push(`flow "${flow.id}": metaFlowId ${metaFlowId} is also flow "${byMetaId.get(metaFlowId)}"'s`);
      } else byMetaId.set(metaFlowId, flow.id);
    }
    flows.set(flow.id, { flow, ...completeFields(flow) });
  }
  if (problems.length > 0) throw new RegistrationError(problems);
  return { flows, byMetaId };
}

/**
 * The audit view of a completion reply: each key the flow's `complete` actions (or its inputs)
 * name becomes `[sensitive]` when its input is marked sensitive, else `[redacted]`; other keys are
 * only counted, since a key name is client input too. Values are never kept: the reply itself is
 * stored encrypted as a submission.
 */
export function redactReply(flow: WebhookFlow, data: Readonly<Record<string, unknown>>): Record<string, string> {
  const out: Record<string, string> = {};
  let unknown = 0;
  for (const key of Object.keys(data)) {
    const field = flow.fieldOfKey.get(key);
    if (field === undefined) unknown++;
    else out[key] = flow.sensitive.has(field) || flow.sensitive.has(key) ? SENSITIVE : REDACTED;
  }
  if (unknown > 0) out['(unknown fields)'] = String(unknown);
  return out;
}

function completeFields(flow: RegisteredFlow): Pick<WebhookFlow, 'fieldOfKey' | 'sensitive'> {
  const fieldOfKey = new Map<string, string>();
  const sensitive = new Set<string>();
  for (const screen of flow.screens.values()) {
    for (const name of screen.model.fields.keys()) fieldOfKey.set(name, name);
    screen.model.sensitive.forEach((name) => sensitive.add(name));
    screen.sensitiveKeys.forEach((key) => sensitive.add(key));
  }
  for (const payload of completePayloads(flow.definition.flowJson)) {
    for (const [key, value] of Object.entries(payload)) {
      const ref = typeof value === 'string' ? /^\$\{form\.([A-Za-z0-9_]+)\}$/.exec(value)?.[1] : undefined;
      fieldOfKey.set(key, ref ?? key);
    }
  }
  return { fieldOfKey, sensitive };
}

/** Every `{"name": "complete", "payload": {…}}` action in a Flow JSON. */
function completePayloads(node: unknown, found: Record<string, unknown>[] = [], depth = 0): Record<string, unknown>[] {
  if (node === null || typeof node !== 'object' || depth > 64) return found;
  if (Array.isArray(node)) {
    node.forEach((item) => completePayloads(item, found, depth + 1));
    return found;
  }
  const record = node as Record<string, unknown>;
  const payload = record.payload;
  if (record.name === 'complete' && payload !== null && typeof payload === 'object' && !Array.isArray(payload)) {
    found.push(payload as Record<string, unknown>);
  }
  Object.values(record).forEach((value) => completePayloads(value, found, depth + 1));
  return found;
}
