import { Ajv2020 } from 'ajv/dist/2020.js';
import formats from 'ajv-formats';
import type { Response } from 'supertest';
import { expect } from 'vitest';

type Json = Record<string, any>;

// ajv-formats is CommonJS: under NodeNext its default export is the module object.
const addFormats = ((formats as unknown as { default?: typeof formats }).default ?? formats) as unknown as (ajv: Ajv2020) => void;

export interface Observed {
  method: string;
  path: string;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON when the response was JSON; undefined when there was no body. */
  body: unknown;
  text: string;
}

/**
 * Checks real responses against a served OpenAPI document: the operation exists, the status is
 * documented, the media type matches, a JSON body validates against the documented schema (an error's
 * `code` against the codes documented for its status), a response documented without content has none,
 * and every required documented header is present. It records which (operationId, status) pairs were seen,
 * for the coverage check.
 */
export class OpenApiChecker {
  readonly seen = new Set<string>();
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly templates: Array<{ template: string; regex: RegExp }>;

  constructor(readonly doc: Json) {
    addFormats(this.ajv);
    this.ajv.addFormat('binary', true);
    this.ajv.addSchema(doc, 'openapi');
    this.templates = Object.keys(doc.paths).map((template) => ({
      template,
      regex: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`),
    }));
  }

  /** The compiled validator of a schema of the document, e.g. `#/components/schemas/Preview`. */
  validator(ref: string) {
    const validate = this.ajv.getSchema(`openapi${ref}`);
    if (!validate) throw new Error(`no schema at ${ref}`);
    return validate;
  }

  operation(method: string, path: string): { template: string; op: Json } | undefined {
    const bare = path.split('?')[0]!;
    for (const { template, regex } of this.templates) {
      const op = this.doc.paths[template][method.toLowerCase()];
      if (op && regex.test(bare)) return { template, op };
    }
    return undefined;
  }

  check(o: Observed): void {
    const where = `${o.method} ${o.path} -> ${o.status}`;
    const found = this.operation(o.method, o.path);
    expect(found, `${o.method} ${o.path} is documented`).toBeDefined();
    const { template, op } = found!;
    const spec: Json | undefined = op.responses[String(o.status)];
    expect(spec, `${where} is a documented status of ${template}`).toBeDefined();
    const contentType = String(o.headers['content-type'] ?? '');
    if (spec!.content) {
      const [type, media] = Object.entries(spec!.content as Json)[0]!;
      if (type !== '*/*') expect(contentType.startsWith(type), `${where}: content-type ${contentType} is ${type}`).toBe(true);
      const ref: string | undefined = (media as Json).schema?.$ref;
      if (ref) {
        // The response's own schema: the component, narrowed where the document narrows it (an error's codes).
        const pointer = ['paths', template, o.method.toLowerCase(), 'responses', String(o.status), 'content', type, 'schema'];
        const validate = this.validator(`#/${pointer.map((p) => encodeURIComponent(p.replace(/~/g, '~0').replace(/\//g, '~1'))).join('/')}`);
        const ok = validate(o.body);
        expect(ok, `${where}: body matches ${ref}: ${JSON.stringify(validate.errors)} in ${o.text.slice(0, 300)}`).toBe(true);
      }
    } else {
      expect(o.text ?? '', `${where}: documented without a body`).toBe('');
    }
    for (const [name, header] of Object.entries((spec!.headers ?? {}) as Json)) {
      if (header.required) expect(o.headers[name.toLowerCase()], `${where}: header ${name}`).toBeDefined();
    }
    this.seen.add(`${op.operationId} ${o.status}`);
  }

  /** Checks a supertest response and returns it. */
  res(res: Response): Response {
    const req = (res as unknown as { req: { method: string; path: string } }).req;
    this.check({
      method: req.method,
      path: req.path,
      status: res.status,
      headers: res.headers,
      body: res.type === 'application/json' ? res.body : undefined,
      text: res.text ?? '',
    });
    return res;
  }

  /** Every (operationId, status) the document promises. */
  documented(): Set<string> {
    const out = new Set<string>();
    for (const ops of Object.values(this.doc.paths as Json)) {
      for (const op of Object.values(ops as Json)) {
        for (const status of Object.keys((op as Json).responses)) out.add(`${(op as Json).operationId} ${status}`);
      }
    }
    return out;
  }
}
