import { createRequire } from 'node:module';
import path from 'node:path';
import express, { Router } from 'express';
import type { AppDeps } from '../../app-deps.js';
import { buildOpenApiDocument } from '../openapi/document.js';

// No inline script: the page loads Swagger UI's bundle and this init file, both from here, so the strict
// CSP holds and the page works without network access. `validatorUrl: null` keeps Swagger UI from
// calling its online validator.
const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Document Monitor API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`;

const INIT = `window.ui = SwaggerUIBundle({
  url: '/api/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  persistAuthorization: true,
  validatorUrl: null
});
`;

// Resolved by path: importing the package would load the whole browser bundle into the server.
const SWAGGER_UI_DIR = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

/** `GET /api/openapi.json` (public) and the interactive page at `/docs`. */
export function docsRoutes({ config }: AppDeps): Router {
  const router = Router();
  // Built per request only for `servers`: Postman imports need an absolute URL to call.
  router.get('/api/openapi.json', (req, res) => {
    res.set('Cache-Control', 'no-cache').json(buildOpenApiDocument(config, `${req.protocol}://${req.get('host') ?? 'localhost'}`));
  });
  router.get('/docs', (_req, res) => {
    res.type('html').send(PAGE);
  });
  router.get('/docs/init.js', (_req, res) => {
    res.type('application/javascript').send(INIT);
  });
  router.use('/docs/assets', express.static(SWAGGER_UI_DIR, { index: false, maxAge: '1h' }));
  return router;
}
