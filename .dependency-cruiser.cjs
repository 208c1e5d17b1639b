/**
 * The import graph's rules, checked by `npm run lint` (README: Project layout). Type-only imports
 * count: a cycle through types still ties the modules' designs together.
 */
const COMPOSITION = '^src/(app|service|main)\\.ts$|^src/(http|lifecycle|cli|bench|devtools|console)/';

module.exports = {
  forbidden: [
    {
      name: 'no-cycle',
      severity: 'error',
      comment: 'No import cycle, direct or through other modules.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'domain-not-to-http',
      severity: 'error',
      comment: 'The domain never imports the HTTP layer: src/http/ is an edge over it, not a library for it.',
      from: { path: '^src/', pathNot: COMPOSITION },
      to: { path: '^src/http/' },
    },
    {
      name: 'engine-not-to-flows',
      severity: 'error',
      comment:
        'The engine and the flow API serve any flow: they never import a concrete one (src/flows/<id>/); ' +
        'the service is handed the list in src/flows/registered.ts.',
      from: { path: '^src/(endpoint|flow-api)/' },
      to: { path: '^src/flows/' },
    },
    {
      name: 'flows-only-through-flow-api',
      severity: 'error',
      comment: "A flow's code imports its own folder and src/flow-api/ only (plus Node and packages).",
      from: { path: '^src/flows/([^/]+)/' },
      to: { path: '^src/', pathNot: ['^src/flows/$1/', '^src/flow-api/'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^dist/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    moduleSystems: ['es6', 'cjs'],
  },
};
