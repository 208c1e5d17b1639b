import { compareVersions } from '../../flow-json';
import { DevtoolError } from '../errors';
import { resolveBindings, type ScreenView, type ViewField } from './screen-view';
import type { CurrentScreen, Driver, Expectation, Interaction } from './simulator';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * A scripted walk (e.g. `src/flows/<id>/walk.steps.json`):
 *
 * ```json
 * { "flow": "book-appointment",
 *   "init": { "expect": { "screen": "APPOINTMENT" } },
 *   "steps": [
 *     { "screen": "APPOINTMENT", "inputs": { "date": { "$date": { "from": "${data.min_date}", "weekday": true } } },
 *       "press": "date", "expect": { "screen": "APPOINTMENT", "data": { "is_time_enabled": true } } },
 *     { "screen": "SUMMARY", "inputs": { "consent": true }, "expect": { "screen": "SUCCESS" } } ] }
 * ```
 *
 * A step sets `inputs` on the current screen, then presses an action: `press` names a Footer by
 * its label, an EmbeddedLink by its text, an input by its name (its on-select-action), or
 * `"back"`; without `press`, the screen's only Footer. Input values may be literals or:
 * `"${data.x}"` (the current screen's data), `{"$option": n}` (the n-th option as shown, from 1),
 * `{"$options": [n, …]}`, `{"$date": {"from": "today" | "YYYY-MM-DD" | "${data.x}", "plusDays": 0,
 * "weekday": false}}`. `expect` may give `screen`, `data` (partial; `{"$match": "regex"}`),
 * `params` (on completion) and `error` (false by default: an unexpected `error_message` fails).
 */
export interface WalkScript {
  readonly flow?: string;
  readonly init?: { readonly expect?: Expectation };
  readonly steps: readonly ScriptStep[];
  /** The walk must end in completion unless this is true. */
  readonly allowIncomplete?: boolean;
}

export interface ScriptStep {
  readonly screen?: string;
  readonly inputs?: Json;
  readonly press?: string;
  readonly expect?: Expectation;
}

export class ScriptError extends DevtoolError {}

/** Parses and shape-checks a script, naming the step and key that is wrong. */
export function parseWalkScript(text: string, file: string): WalkScript {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ScriptError(`${file}: not valid JSON (${(err as Error).message})`);
  }
  if (!isObject(json) || !Array.isArray(json.steps)) throw new ScriptError(`${file}: expected {"steps": [...]}`);
  const known = new Set(['screen', 'inputs', 'press', 'expect']);
  json.steps.forEach((step: unknown, i: number) => {
    const where = `${file}: steps[${i}]`;
    if (!isObject(step)) throw new ScriptError(`${where} must be an object`);
    for (const key of Object.keys(step)) {
      if (!known.has(key)) throw new ScriptError(`${where} has unknown key "${key}" (known: ${[...known].join(', ')})`);
    }
    if (step.inputs !== undefined && !isObject(step.inputs)) throw new ScriptError(`${where}.inputs must be an object`);
    if (step.press !== undefined && typeof step.press !== 'string')
      throw new ScriptError(`${where}.press must be a string`);
    if (step.expect !== undefined && !isObject(step.expect)) throw new ScriptError(`${where}.expect must be an object`);
  });
  return json as unknown as WalkScript;
}

/** Feeds a script's steps to the simulator; strict: any unexpected reply fails the walk. */
export class ScriptDriver implements Driver {
  readonly strict = true;
  #next = 0;

  constructor(
    private readonly script: WalkScript,
    private readonly file: string,
  ) {}

  get initExpect(): Expectation | undefined {
    return this.script.init?.expect;
  }

  /** Steps the walk did not reach. */
  get remaining(): number {
    return this.script.steps.length - this.#next;
  }

  async interact(view: ScreenView, current: CurrentScreen, flowVersion: string): Promise<Interaction> {
    const index = this.#next;
    const step = this.script.steps[index];
    if (!step) return { kind: 'end' };
    this.#next += 1;
    const where = `${this.file}: steps[${index}]`;
    if (step.screen !== undefined && step.screen !== view.id) {
      throw new ScriptError(`${where} is written for screen ${step.screen}, but the flow is on ${view.id}`);
    }
    if (step.press === 'back') return { kind: 'back', ...(step.expect ? { expect: step.expect } : {}) };
    const inputs: Json = {};
    for (const [name, value] of Object.entries(step.inputs ?? {})) {
      const field = view.fields.find((f) => f.name === name);
      if (!field) {
        throw new ScriptError(
          `${where}: screen ${view.id} has no input "${name}" (inputs: ${view.fields.map((f) => f.name).join(', ') || 'none'})`,
        );
      }
      inputs[name] = evaluate(value, field, current, flowVersion, `${where}.inputs.${name}`);
    }
    return {
      kind: 'press',
      inputs,
      ...(step.press !== undefined ? { action: step.press } : {}),
      ...(step.expect ? { expect: step.expect } : {}),
    };
  }
}

function evaluate(
  value: unknown,
  field: ViewField,
  current: CurrentScreen,
  flowVersion: string,
  where: string,
): unknown {
  const scope = { data: current.data, form: current.form, screens: {} };
  if (isObject(value) && '$option' in value) return optionId(field, value.$option, where);
  if (isObject(value) && '$options' in value) {
    if (!Array.isArray(value.$options)) throw new ScriptError(`${where}: $options must be an array of positions`);
    return value.$options.map((n) => optionId(field, n, where));
  }
  if (isObject(value) && '$date' in value) {
    const spec = isObject(value.$date) ? value.$date : {};
    const from = String(resolveBindings(spec.from ?? 'today', scope));
    const start = from === 'today' ? new Date() : new Date(`${from}T00:00:00Z`);
    if (Number.isNaN(start.getTime())) throw new ScriptError(`${where}: $date.from "${from}" is not a date`);
    const date = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate()));
    date.setUTCDate(date.getUTCDate() + Number(spec.plusDays ?? 0));
    while (spec.weekday === true && (date.getUTCDay() === 0 || date.getUTCDay() === 6)) {
      date.setUTCDate(date.getUTCDate() + 1);
    }
    // DatePicker before Flow JSON 5.0 sends a UTC timestamp in ms as a string (src/protocol/NOTES.md, "Flow JSON facts").
    if (field.component === 'DatePicker' && compareVersions(flowVersion, '5.0') < 0) return String(date.getTime());
    return date.toISOString().slice(0, 10);
  }
  return resolveBindings(value, scope);
}

function optionId(field: ViewField, position: unknown, where: string): string {
  const options = field.options ?? [];
  const n = Number(position);
  const option = options[n - 1];
  if (!Number.isInteger(n) || !option) {
    throw new ScriptError(
      `${where}: input "${field.name}" has ${options.length} option(s); there is no option ${String(position)}`,
    );
  }
  return option.id;
}
