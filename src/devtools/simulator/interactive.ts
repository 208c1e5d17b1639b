import { createInterface } from 'node:readline';
import { compareVersions } from '../../flow-json';
import { DevtoolError } from '../errors';
import type { ScreenView, ViewField } from './screen-view';
import type { CurrentScreen, Driver, Interaction } from './simulator';

/**
 * Reads lines from a stream one prompt at a time. Buffering through the async iterator (rather
 * than `rl.question`) keeps lines that arrive early — piped input — instead of dropping them.
 */
export class LineReader {
  readonly #lines: AsyncIterator<string>;
  readonly #close: () => void;

  constructor(
    input: NodeJS.ReadableStream,
    private readonly write: (text: string) => void,
  ) {
    const rl = createInterface({ input, terminal: false });
    this.#lines = rl[Symbol.asyncIterator]();
    this.#close = () => rl.close();
  }

  async ask(prompt: string): Promise<string> {
    this.write(prompt);
    const next = await this.#lines.next();
    if (next.done) throw new DevtoolError('input ended before the flow did');
    return next.value.trim();
  }

  close(): void {
    this.#close();
  }
}

/**
 * A person at the terminal: asks for each enabled input (Enter keeps the current value), fires
 * an input's on-select `data_exchange` as soon as its value changes — as the phone does — and
 * then asks which action to press.
 */
export class InteractiveDriver implements Driver {
  readonly strict = false;
  #answered = new Set<string>();
  #screen: string | undefined;

  constructor(
    private readonly reader: LineReader,
    private readonly say: (line: string) => void,
  ) {}

  async interact(view: ScreenView, current: CurrentScreen, flowVersion: string): Promise<Interaction> {
    // A new screen, or the same one back with an error: ask every input again (Enter keeps it).
    if (this.#screen !== view.id || view.errorMessage || view.fields.some((f) => f.error)) this.#answered = new Set();
    this.#screen = view.id;
    const inputs: Record<string, unknown> = {};
    for (const field of view.fields) {
      if (!field.enabled || this.#answered.has(field.name)) continue;
      const before = current.form[field.name];
      const value = await this.#askField(field, before, flowVersion);
      this.#answered.add(field.name);
      if (value === undefined) continue;
      inputs[field.name] = value;
      if (field.onSelect && JSON.stringify(value) !== JSON.stringify(before)) {
        return { kind: 'press', action: field.name, inputs };
      }
    }
    const choices = view.actions.filter((a) => a.source === 'Footer' || a.source === 'EmbeddedLink');
    this.say(
      `Actions: ${choices.map((a, i) => `${i + 1}) ${a.name} [${a.kind}]`).join('  ')}  e) edit inputs  b) back  q) quit`,
    );
    // Enter presses the screen's only Footer (the usual way on); links such as open_url need their number.
    const footers = choices.filter((a) => a.source === 'Footer');
    const preset = choices.length === 1 ? 1 : footers.length === 1 ? choices.indexOf(footers[0]) + 1 : 0;
    for (;;) {
      const answer = (await this.reader.ask(preset > 0 ? `Press (Enter = ${preset}): ` : 'Press: ')).toLowerCase();
      if (answer === 'q') return { kind: 'end' };
      if (answer === 'b') return { kind: 'back' };
      if (answer === 'e') {
        this.#answered = new Set();
        return this.interact(view, { ...current, form: { ...current.form, ...inputs } }, flowVersion);
      }
      const n = answer === '' ? preset : Number(answer);
      const action = choices[n - 1];
      const form = { ...current.form, ...inputs };
      const missing = view.fields.filter((f) => f.required && f.enabled && isEmpty(form[f.name]));
      if (action && action.source === 'Footer' && missing.length > 0) {
        this.say(`  fill in ${missing.map((f) => f.label).join(', ')} first (e to edit)`);
        continue;
      }
      if (action) {
        this.#answered = new Set();
        return { kind: 'press', action: action.name, inputs };
      }
      this.say('  choose one of the numbers, e, b or q');
    }
  }

  async #askField(field: ViewField, before: unknown, flowVersion: string): Promise<unknown> {
    const shown = before === undefined || before === '' ? '' : ` [${JSON.stringify(before)}]`;
    const label = `${field.label}${field.required ? ' *' : ''}`;
    for (;;) {
      const hint = hintFor(field, flowVersion);
      const answer = await this.reader.ask(`${label}${hint}${shown}: `);
      if (answer === '') return undefined;
      const value = parseAnswer(field, answer, flowVersion);
      if (value.ok) return value.value;
      this.say(`  ${value.problem}`);
    }
  }
}

function hintFor(field: ViewField, flowVersion: string): string {
  switch (field.component) {
    case 'Dropdown':
    case 'RadioButtonsGroup':
      return ` (1-${field.options?.length ?? 0})`;
    case 'CheckboxGroup':
    case 'ChipsSelector':
      return ' (numbers, comma-separated)';
    case 'OptIn':
      return ' (y/n)';
    case 'DatePicker':
      return compareVersions(flowVersion, '5.0') >= 0 ? ' (YYYY-MM-DD)' : ' (YYYY-MM-DD, sent as ms)';
    case 'CalendarPicker':
      return ' (YYYY-MM-DD, or start..end)';
    case 'PhotoPicker':
    case 'DocumentPicker':
      return ' (file paths, comma-separated)';
    default:
      return '';
  }
}

type Parsed = { ok: true; value: unknown } | { ok: false; problem: string };

function parseAnswer(field: ViewField, answer: string, flowVersion: string): Parsed {
  const options = field.options ?? [];
  const pick = (token: string): string | undefined => {
    const n = Number(token);
    return Number.isInteger(n) && options[n - 1] ? options[n - 1]?.id : options.find((o) => o.id === token)?.id;
  };
  switch (field.component) {
    case 'Dropdown':
    case 'RadioButtonsGroup': {
      const id = pick(answer);
      return id === undefined
        ? { ok: false, problem: `pick 1-${options.length} or an option id` }
        : { ok: true, value: id };
    }
    case 'CheckboxGroup':
    case 'ChipsSelector': {
      const ids = answer.split(',').map((t) => pick(t.trim()));
      return ids.some((i) => i === undefined)
        ? { ok: false, problem: 'give option numbers separated by commas' }
        : { ok: true, value: ids };
    }
    case 'OptIn':
      return /^(y|yes|n|no)$/i.test(answer)
        ? { ok: true, value: /^y/i.test(answer) }
        : { ok: false, problem: 'answer y or n' };
    case 'DatePicker':
    case 'CalendarPicker': {
      const range = /^(\d{4}-\d{2}-\d{2})\s*\.\.\s*(\d{4}-\d{2}-\d{2})$/.exec(answer);
      if (range && field.component === 'CalendarPicker') {
        return { ok: true, value: { 'start-date': range[1], 'end-date': range[2] } };
      }
      if (!/^\d{4}-\d{2}-\d{2}$/.test(answer)) return { ok: false, problem: 'write the date as YYYY-MM-DD' };
      return field.component === 'DatePicker' && compareVersions(flowVersion, '5.0') < 0
        ? { ok: true, value: String(Date.parse(`${answer}T00:00:00Z`)) }
        : { ok: true, value: answer };
    }
    case 'PhotoPicker':
    case 'DocumentPicker':
      // Encrypted and served by the simulator's CDN stand-in (src/devtools/simulator/picker-files.ts).
      return { ok: true, value: { $files: answer.split(',').map((f) => f.trim()) } };
    default:
      return { ok: true, value: answer };
  }
}

function isEmpty(v: unknown): boolean {
  return v === undefined || v === '' || v === false || (Array.isArray(v) && v.length === 0);
}
