/**
 * The layer rule of src/, checked by `npm run typecheck` (`depcruise src`):
 *
 *   http  ->  services (workflow, exhibits, pdf, events)  ->  store  ->  domain
 *
 * Each rule names the import it forbids; a violation prints the importing file, the imported one and the
 * rule. Type-only imports count: a layer that needs another's types depends on it all the same.
 */
const SERVICES = '^src/(workflow|exhibits|pdf|events)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'An import cycle: each module of the cycle can no longer be read, tested or loaded without the others.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'domain-imports-only-domain',
      severity: 'error',
      comment: 'src/domain is what every layer shares (types, state rules, id checks); it imports nothing of ours outside src/domain.',
      from: { path: '^src/domain/' },
      to: { path: '^src/', pathNot: '^src/domain/' },
    },
    {
      name: 'store-below-services',
      severity: 'error',
      comment: 'The store serves the services; it never imports them, nor the HTTP layer.',
      from: { path: '^src/store/' },
      to: { path: '^src/(workflow|http|exhibits|pdf|events)/' },
    },
    {
      name: 'files-services-beside-workflow',
      severity: 'error',
      comment: 'Exhibits and the PDF need ids and types (src/domain), not the workflow service: they never import it.',
      from: { path: '^src/(exhibits|pdf)/' },
      to: { path: '^src/workflow/' },
    },
    {
      name: 'services-below-http',
      severity: 'error',
      comment: 'Services (workflow, exhibits, pdf, events) know nothing of HTTP; routes call them, not the other way round.',
      from: { path: SERVICES },
      to: { path: '^src/http/' },
    },
    {
      name: 'http-through-services',
      severity: 'error',
      comment: 'Routes and middleware reach state through the services, never the store itself.',
      from: { path: '^src/http/' },
      to: { path: '^src/store/' },
    },
    {
      name: 'http-only-from-the-composition-root',
      severity: 'error',
      comment: 'Only the composition root (app.ts, server.ts, deps.ts, app-deps.ts) reaches into src/http.',
      from: { path: '^src/', pathNot: '^src/(http/|app\\.ts$|server\\.ts$|deps\\.ts$|app-deps\\.ts$)' },
      to: { path: '^src/http/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
