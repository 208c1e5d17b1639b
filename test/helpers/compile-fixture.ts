import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ts from 'typescript';

export const ROOT = join(__dirname, '..', '..');

export interface LineDiagnostic {
  /** 1-based line in the file. */
  readonly line: number;
  readonly message: string;
}

/** The expectations of a type-error fixture: `// @ts-expect-error <label>: <message fragment>` lines. */
export interface ExpectedError {
  /** 1-based line the error must be on (the line after the directive). */
  readonly line: number;
  readonly label: string;
  readonly fragment: string;
}

const DIRECTIVE = /^\s*\/\/ @ts-expect-error ([a-z-]+): (.+)$/;

export function expectedErrors(text: string): ExpectedError[] {
  return text.split('\n').flatMap((line, i) => {
    const m = DIRECTIVE.exec(line);
    return m ? [{ line: i + 2, label: m[1], fragment: m[2].trim() }] : [];
  });
}

/**
 * Type-checks `files` with the project's tsconfig, optionally replacing the text of some of them
 * (e.g. a fixture without its `@ts-expect-error` markers), and returns each file's diagnostics.
 */
export function compileFiles(
  files: readonly string[],
  replace: Readonly<Record<string, string>> = {},
): Map<string, LineDiagnostic[]> {
  const configPath = join(ROOT, 'tsconfig.json');
  const config = ts.readConfigFile(configPath, (p) => ts.sys.readFile(p));
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT);
  const options: ts.CompilerOptions = { ...parsed.options, noEmit: true, incremental: false };
  delete options.tsBuildInfoFile;
  const host = ts.createCompilerHost(options);
  const replaced = new Map(Object.entries(replace).map(([f, text]) => [resolve(f), text]));
  const readFile = host.readFile.bind(host);
  host.readFile = (f) => replaced.get(resolve(f)) ?? readFile(f);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (f, languageVersion, onError, shouldCreate) => {
    const text = replaced.get(resolve(f));
    return text !== undefined
      ? ts.createSourceFile(f, text, languageVersion, true)
      : getSourceFile(f, languageVersion, onError, shouldCreate);
  };
  const program = ts.createProgram([...files], options, host);
  const out = new Map<string, LineDiagnostic[]>(files.map((f) => [resolve(f), []]));
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const file = d.file ? resolve(d.file.fileName) : '(global)';
    const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line + 1 : 0;
    const list = out.get(file) ?? [];
    list.push({ line, message: ts.flattenDiagnosticMessageText(d.messageText, '\n') });
    out.set(file, list);
  }
  return out;
}

export function readText(file: string): string {
  return readFileSync(file, 'utf8');
}
