import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { writeFlowTypes } from '../flow-types';
import { FLOW_ID_PATTERN } from '../flow-api';
import { DevtoolError } from './errors';

export class ScaffoldError extends DevtoolError {}

const REGISTERED = join('src', 'flows', 'registered.ts');
const LIST = /(export const registeredFlows\s*:\s*readonly FlowDefinition\[\]\s*=\s*\[)([\s\S]*?)(\]\s*;)/;

/** The project folder above `start` (the one with package.json and src/flows/registered.ts). */
export function findProjectRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, REGISTERED))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new ScaffoldError(`no flowgate project (package.json with ${REGISTERED}) above ${start}`);
    dir = parent;
  }
}

/** `my-flow_2` → `myFlow2`: the name the flow's default export is imported under. */
export function identifierFor(id: string): string {
  const camel = id.replace(/[-_]+([a-z0-9])/g, (_m, c: string) => c.toUpperCase()).replace(/[-_]/g, '');
  return /^[0-9]/.test(camel) ? `flow${camel}` : camel;
}

/**
 * Creates `src/flows/<id>/` — a minimal valid Flow JSON (START → DONE), one handler module per
 * screen written with the types generated from it (flow.generated.ts), index.ts and a walk
 * script — registers it in src/flows/registered.ts, and writes
 * `test/flows/<id>.test.ts`, which walks it through the real service. Refuses an invalid id, an
 * existing folder or test, and an id already registered; nothing is written unless all is well.
 */
export function scaffoldFlow(root: string, id: string): string[] {
  if (!FLOW_ID_PATTERN.test(id)) {
    throw new ScaffoldError(
      `"${id}" is not a valid flow id: lower-case letters, digits, "-" and "_", starting with a letter or digit, at most 40 characters (it becomes the URL /flows/${id})`,
    );
  }
  const flowDir = join(root, 'src', 'flows', id);
  const testFile = join(root, 'test', 'flows', `${id}.test.ts`);
  if (existsSync(flowDir)) throw new ScaffoldError(`${relative(root, flowDir)} already exists; pick another id`);
  if (existsSync(testFile)) throw new ScaffoldError(`${relative(root, testFile)} already exists; pick another id`);
  const registeredFile = join(root, REGISTERED);
  const registered = readFileSync(registeredFile, 'utf8');
  const ident = identifierFor(id);
  if (registered.includes(`from './${id}'`)) throw new ScaffoldError(`${REGISTERED} already imports './${id}'`);
  if (new RegExp(`\\b${ident}\\b`).test(registered)) {
    throw new ScaffoldError(`${REGISTERED} already uses the name ${ident}; pick another id`);
  }
  const list = LIST.exec(registered);
  if (!list) {
    throw new ScaffoldError(
      `cannot find "export const registeredFlows: readonly FlowDefinition[] = [...]" in ${REGISTERED}`,
    );
  }

  const files: Record<string, string> = {
    [join(flowDir, 'flow.json')]: `${JSON.stringify(flowJson(), null, 2)}\n`,
    [join(flowDir, 'index.ts')]: indexTs(id),
    [join(flowDir, 'screens', 'start.ts')]: startTs(),
    [join(flowDir, 'screens', 'done.ts')]: doneTs(),
    [join(flowDir, 'walk.steps.json')]: `${JSON.stringify(walkScript(id), null, 2)}\n`,
    [testFile]: testTs(id),
  };
  const imports = [...registered.matchAll(/^import .*;$/gm)];
  const lastImport = imports[imports.length - 1];
  const importLine = `import ${ident} from './${id}';\n`;
  const withImport =
    lastImport && lastImport.index !== undefined
      ? registered.slice(0, lastImport.index + lastImport[0].length + 1) +
        importLine +
        registered.slice(lastImport.index + lastImport[0].length + 1)
      : importLine + registered;
  const updated = withImport.replace(LIST, (_m, open: string, items: string, close: string) => {
    const trimmed = items.trim().replace(/,$/, '');
    return `${open}${trimmed ? `${trimmed}, ` : ''}${ident}${close}`;
  });

  const written: string[] = [];
  try {
    for (const [file, content] of Object.entries(files)) {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, content, { flag: 'wx' });
      written.push(file);
    }
    writeFileSync(registeredFile, updated);
  } catch (err) {
    rmSync(flowDir, { recursive: true, force: true });
    if (written.includes(testFile)) rmSync(testFile, { force: true });
    throw new ScaffoldError(`could not write the flow (${(err as Error).message}); nothing was kept`);
  }
  formatWithPrettier(root, [...written, registeredFile]);
  // The handlers import their builders from it; git-ignored, remade by every build.
  const types = writeFlowTypes(root, [join(flowDir, 'flow.json')]);
  return [...written, registeredFile, ...types.written.map((f) => join(root, f))].map((f) => relative(root, f));
}

/** Leaves the new files as `npm run lint` wants them, when the project's Prettier is installed. */
function formatWithPrettier(root: string, files: string[]): void {
  const prettier = join(root, 'node_modules', 'prettier', 'bin', 'prettier.cjs');
  if (!existsSync(prettier)) return;
  try {
    execFileSync(process.execPath, [prettier, '--write', '--log-level', 'warn', ...files], {
      cwd: root,
      stdio: 'ignore',
    });
  } catch {
    // Formatting is a courtesy; the files are valid either way.
  }
}

function flowJson(): Record<string, unknown> {
  return {
    // The pairing Meta recommends (src/protocol/NOTES.md, "Data API 4.0"): with 7.3 and "4.0"
    // WhatsApp signs every request with flow_token_signature, which the service verifies.
    version: '7.3',
    data_api_version: '4.0',
    routing_model: { START: ['DONE'], DONE: [] },
    screens: [
      {
        id: 'START',
        title: 'Welcome',
        data: {
          intro: { type: 'string', __example__: 'Tell us your name and we will say hello.' },
          topics: {
            type: 'array',
            items: { type: 'object', properties: { id: { type: 'string' }, title: { type: 'string' } } },
            __example__: [{ id: 'news', title: 'News' }],
          },
          field_errors: {
            type: 'object',
            properties: { name: { type: 'string' }, topic: { type: 'string' } },
            __example__: {},
          },
        },
        layout: {
          type: 'SingleColumnLayout',
          children: [
            { type: 'TextBody', text: '${data.intro}' },
            {
              type: 'Form',
              name: 'start_form',
              'error-messages': '${data.field_errors}',
              children: [
                {
                  type: 'TextInput',
                  name: 'name',
                  label: 'Your name',
                  'input-type': 'text',
                  required: true,
                  'max-chars': 80,
                },
                {
                  type: 'Dropdown',
                  name: 'topic',
                  label: 'Topic',
                  required: true,
                  'data-source': '${data.topics}',
                },
                {
                  type: 'Footer',
                  label: 'Continue',
                  'on-click-action': {
                    name: 'data_exchange',
                    payload: { name: '${form.name}', topic: '${form.topic}' },
                  },
                },
              ],
            },
          ],
        },
      },
      {
        id: 'DONE',
        title: 'Thank you',
        terminal: true,
        success: true,
        data: { greeting: { type: 'string', __example__: 'Hello, Ada!' } },
        layout: {
          type: 'SingleColumnLayout',
          children: [
            { type: 'TextHeading', text: '${data.greeting}' },
            { type: 'Footer', label: 'Finish', 'on-click-action': { name: 'data_exchange', payload: {} } },
          ],
        },
      },
    ],
  };
}

function indexTs(id: string): string {
  return `import flowJson from './flow.json';
import { defineFlow, next } from './flow.generated';
import { done } from './screens/done';
import { start, TOPICS } from './screens/start';

/**
 * ${id}: START asks for a name and a topic, DONE greets and completes. Served at POST /flows/${id}.
 * The builders come from flow.generated.ts, which \`npm run types\` makes from flow.json (every
 * build does too): the compiler checks screen ids, routes and data against flow.json. Change
 * flow.json, then the handlers the compiler points at; \`npm run check\` checks the rest.
 */
export default defineFlow({
  id: '${id}',
  flowJson,
  // INIT: the first screen and its data (every property START declares in flow.json).
  onInit: () => next('START', { intro: 'Tell us your name and we will say hello.', topics: TOPICS }),
  screens: [start, done],
});
`;
}

function startTs(): string {
  return `import { defineScreen, next, showError } from '../flow.generated';

/** The topics START offers (its Dropdown's data-source); only their ids are valid answers. */
export const TOPICS = [
  { id: 'news', title: 'News' },
  { id: 'offers', title: 'Offers' },
];

/** The START screen's Footer sends { name, topic } (its on-click-action payload in flow.json): both strings. */
export const start = defineScreen('START', {
  onDataExchange({ data }) {
    const name = data.name.trim();
    // Checks beyond what flow.json can express go here; the field error appears under the input.
    if (name.length < 2) return showError('Please check your name.', { fieldErrors: { name: 'At least 2 letters' } });
    // Options that come from screen data cannot be checked by flow.json: a client can send any
    // string, so every choice is checked against what was offered, and never echoed back unchecked.
    const topic = TOPICS.find((t) => t.id === data.topic);
    if (!topic) return showError('Please choose a topic.', { fieldErrors: { topic: 'Choose one of the options' } });
    return next('DONE', { greeting: \`Hello, \${name}! Let us talk about \${topic.title}.\` });
  },
});
`;
}

function doneTs(): string {
  return `import { complete, defineScreen } from '../flow.generated';

/** DONE is terminal: its Footer calls the endpoint, and complete() closes the flow. */
export const done = defineScreen('DONE', {
  onDataExchange(_request, ctx) {
    const name = ctx.answers.START?.name ?? '';
    // params reach the chat's completion message (the flow token is added for you).
    return complete({ params: { greeted: name.length > 0 } });
  },
});
`;
}

function walkScript(id: string): Record<string, unknown> {
  return {
    flow: id,
    init: { expect: { screen: 'START' } },
    steps: [
      {
        screen: 'START',
        inputs: { name: 'A', topic: { $option: 1 } },
        expect: { screen: 'START', error: 'check your name' },
      },
      {
        screen: 'START',
        inputs: { name: 'Ada', topic: { $option: 1 } },
        expect: { screen: 'DONE', data: { greeting: 'Hello, Ada! Let us talk about News.' } },
      },
      { screen: 'DONE', expect: { screen: 'SUCCESS', params: { greeted: true } } },
    ],
  };
}

function testTs(id: string): string {
  return `import { startTestService, type TestService } from '../helpers/test-service';
import { dataOf, ok } from '../helpers/walk';

// Data API 4.0 as flow.json declares it, with flow_token_signature required as in production.
let t: TestService;
beforeAll(async () => {
  t = await startTestService({ env: { FLOW_TOKEN_SIGNATURE: 'required' } });
});
afterAll(async () => {
  await t.stop();
});

const client = () => t.client('${id}', { version: '4.0' });

describe('when WhatsApp walks the ${id} flow', () => {
  it('then START, DONE and completion arrive in order', async () => {
    const token = await t.issueToken('+14155550100', '${id}');
    const c = client();
    expect(ok(await c.init(token)).screen).toBe('START');
    const done = ok(await c.exchange(token, 'START', { name: 'Ada', topic: 'news' }));
    expect(done).toMatchObject({ screen: 'DONE', data: { greeting: 'Hello, Ada! Let us talk about News.' } });
    const end = dataOf(await c.exchange(token, 'DONE', {}));
    expect(end.extension_message_response).toEqual({ params: { flow_token: token, greeted: true } });
  });

  it('then a topic that was not offered keeps the user on START with a field error', async () => {
    const token = await t.issueToken('+14155550100', '${id}');
    const c = client();
    ok(await c.init(token));
    const reply = ok(await c.exchange(token, 'START', { name: 'Ada', topic: 'anything' }));
    expect(reply.screen).toBe('START');
    expect(reply.data).toMatchObject({ field_errors: { topic: 'Choose one of the options' } });
    expect(JSON.stringify(reply.data)).not.toContain('anything');
  });

  it('then a name the handler refuses keeps the user on START with a field error', async () => {
    const token = await t.issueToken('+14155550100', '${id}');
    const c = client();
    ok(await c.init(token));
    const reply = ok(await c.exchange(token, 'START', { name: 'A', topic: 'news' }));
    expect(reply.screen).toBe('START');
    expect(reply.data).toMatchObject({
      error_message: 'Please check your name.',
      field_errors: { name: 'At least 2 letters' },
    });
  });

  it('then a request without flow_token_signature is refused with 427', async () => {
    const token = await t.issueToken('+14155550100', '${id}');
    const reply = await t.client('${id}', { version: '4.0', tokenSignature: false }).init(token);
    expect(reply.status).toBe(427);
  });
});
`;
}
