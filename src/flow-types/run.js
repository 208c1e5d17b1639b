'use strict';
// `npm run types`: runs the generator from its TypeScript sources, before anything is compiled
// (a clean clone has no dist/ and no generated types yet, and the compiler needs the types).
// Each .ts file is transpiled in memory, without type-checking: a few files, well under a second.
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const ts = require('typescript');

require.extensions['.ts'] = (module, filename) => {
  const { outputText } = ts.transpileModule(readFileSync(filename, 'utf8'), {
    fileName: filename,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  });
  module._compile(outputText, filename);
};

const code = require('./cli.ts').main(process.argv.slice(2), join(__dirname, '..', '..'));
if (code !== undefined) process.exitCode = code;
