import { gunzipSync, inflateSync } from 'node:zlib';
import type { LightMyRequestResponse } from 'fastify';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import type { TestServer } from './test-server.js';

type Json = Record<string, unknown>;
type Operation = { responses?: Record<string, Json>; requestBody?: Json; parameters?: Json[] };

/** A request part, with the name its problems are reported under. */
export type RequestParts = {
  params?: Record<string, string>;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: unknown;
};

/**
 * Checks requests and answers against the server's OpenAPI document with a JSON Schema
 * validator of its own (Ajv, draft 2020-12, the dialect of OpenAPI 3.1), so the document is
 * read as any integrator's tooling would read it.
 */
export class ContractChecker {
  // Unknown keywords are errors (a misspelt constraint would check nothing); formats are not
  // checked: every format the protocol's schemas declare comes with a `pattern` that is.
  private readonly ajv = new Ajv2020({
    strictSchema: true,
    strictTypes: false,
    strictTuples: false,
    validateFormats: false,
    allErrors: true,
  });
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly templates: { template: string; pattern: RegExp; literals: number }[];

  constructor(readonly document: Json) {
    // The document is added whole, so its `$ref`s resolve; its own fields describe no value.
    this.ajv.addVocabulary(Object.keys(document).filter((k) => !this.ajv.getKeyword(k)));
    this.ajv.addSchema(document, 'openapi');
    this.templates = Object.keys(this.paths).map((template) => {
      const segments = template.split('/');
      const pattern = segments
        .map((s) => (s === '{*}' ? '.*' : /^\{\w+\}$/.test(s) ? '[^/]+' : escapeRegExp(s)))
        .join('/');
      return {
        template,
        pattern: new RegExp(`^${pattern}$`),
        literals: segments.filter((s) => !s.startsWith('{')).length,
      };
    });
    // A literal segment wins over a parameter (`/api/sync/push` over `/api/sync/{table}`).
    this.templates.sort((a, b) => b.literals - a.literals);
  }

  private get paths(): Record<string, Record<string, Operation>> {
    return this.document['paths'] as Record<string, Record<string, Operation>>;
  }

  /** The document's path template of a concrete path, or null when none matches. */
  templateOf(path: string): string | null {
    return this.templates.find((t) => t.pattern.test(path))?.template ?? null;
  }

  operation(method: string, template: string): Operation | undefined {
    return this.paths[template]?.[method.toLowerCase()];
  }

  /** Problems of one answer; none when it is documented and its body matches its schema. */
  answerProblems(res: LightMyRequestResponse): string[] {
    const method = res.raw.req.method ?? 'GET';
    const path = (res.raw.req.url ?? '/').split('?')[0] ?? '/';
    const template = this.templateOf(path);
    const operation = template && this.operation(method, template);
    // Unknown routes are answered 404 by the server itself; nothing is documented for them.
    if (!template || !operation) return [];
    const where = `${method} ${template} → ${res.statusCode}`;
    const status = String(res.statusCode);
    const key = [status, `${status[0]}XX`, 'default'].find((k) => operation.responses?.[k]);
    if (!key) return [`${where}: status not documented`];
    const problems: string[] = [];
    for (const header of ['x-pdv-sync-protocol', 'x-pdv-sync-epoch'])
      if (res.headers[header] === undefined) problems.push(`${where}: no ${header} header`);
    const pointer = `#/paths/${escapePointer(template)}/${method.toLowerCase()}/responses/${key}`;
    const answer = this.resolve(pointer);
    const content = answer['content'] as Record<string, Json> | undefined;
    if (!content) return problems;
    const mediaType = String(res.headers['content-type'] ?? '').split(';')[0] ?? '';
    if (!(mediaType in content))
      return [
        ...problems,
        `${where}: ${mediaType} is not one of ${Object.keys(content).join(', ')}`,
      ];
    if (mediaType !== 'application/json') return problems;
    const schemaPointer = `${this.refOf(pointer)}/content/application~1json/schema`;
    return [...problems, ...this.validate(schemaPointer, bodyOf(res), where)];
  }

  /** Problems of a request's parts against its operation's parameters and body. */
  requestProblems(method: string, template: string, parts: RequestParts): string[] {
    const operation = this.operation(method, template);
    const where = `${method} ${template} request`;
    if (!operation) return [`${where}: not documented`];
    const problems: string[] = [];
    const parameters = operation.parameters ?? [];
    const base = `#/paths/${escapePointer(template)}/${method.toLowerCase()}`;
    for (const [place, values] of [
      ['path', parts.params],
      ['query', parts.query],
      ['header', parts.headers],
    ] as const) {
      for (const [name, value] of Object.entries(values ?? {})) {
        const i = parameters.findIndex((p) => p['in'] === place && p['name'] === name);
        if (i < 0) {
          problems.push(`${where}: ${place} parameter ${name} is not documented`);
          continue;
        }
        const schema = (parameters[i]?.['schema'] ?? {}) as Json;
        problems.push(
          ...this.validate(
            `${base}/parameters/${i}/schema`,
            asParameter(value, schema['type']),
            `${where} ${name}`,
          ),
        );
      }
      for (const p of parameters)
        if (p['in'] === place && p['required'] === true && !(String(p['name']) in (values ?? {})))
          problems.push(`${where}: required ${place} parameter ${String(p['name'])} missing`);
    }
    if (parts.body !== undefined) {
      if (!operation.requestBody) problems.push(`${where}: takes no body`);
      else
        problems.push(
          ...this.validate(
            `${base}/requestBody/content/application~1json/schema`,
            parts.body,
            `${where} body`,
          ),
        );
    }
    return problems;
  }

  /** Problems of a value against a schema of the document (a JSON pointer into it). */
  validate(pointer: string, value: unknown, where: string): string[] {
    let validator = this.validators.get(pointer);
    if (!validator) {
      validator = this.ajv.compile({ $ref: `openapi${pointer}` });
      this.validators.set(pointer, validator);
    }
    if (validator(value)) return [];
    return (validator.errors ?? []).map(
      (e) =>
        `${where}: ${e.instancePath || '(root)'} ${e.message ?? ''} ${JSON.stringify(e.params)}`,
    );
  }

  /** The object a pointer names, following a `$ref` (responses may be shared components). */
  private resolve(pointer: string): Json {
    return this.at(this.refOf(pointer));
  }

  private refOf(pointer: string): string {
    const ref = this.at(pointer)['$ref'];
    return typeof ref === 'string' ? ref : pointer;
  }

  private at(pointer: string): Json {
    let node: unknown = this.document;
    for (const part of pointer.replace(/^#\//, '').split('/'))
      node = (node as Json)[part.replaceAll('~1', '/').replaceAll('~0', '~')];
    return node as Json;
  }
}

/** One checker per document text: servers of one process share the validators compiled. */
const checkers = new Map<string, ContractChecker>();

/** The checker of a server's own document (`GET /api/openapi.json`). */
export async function contractOf(ts: TestServer): Promise<ContractChecker> {
  const text = (await ts.request(null, { method: 'GET', url: '/api/openapi.json' })).body;
  let checker = checkers.get(text);
  if (!checker) {
    checker = new ContractChecker(JSON.parse(text) as Json);
    checkers.set(text, checker);
  }
  return checker;
}

/** A test server whose every answer is checked against its own OpenAPI document. */
export function checkingContract(ts: TestServer): TestServer {
  let checker: Promise<ContractChecker> | undefined;
  return {
    ...ts,
    async request(token, options) {
      const res = await ts.request(token, options);
      checker ??= contractOf(ts);
      const problems = (await checker).answerProblems(res);
      if (problems.length > 0)
        throw new Error(`the answer breaks the OpenAPI document:\n${problems.join('\n')}`);
      return res;
    },
  };
}

/** An answer's JSON body, decompressed as a client would (`Accept-Encoding`). */
function bodyOf(res: LightMyRequestResponse): unknown {
  const encoding = res.headers['content-encoding'];
  const raw = res.rawPayload;
  const bytes =
    encoding === 'gzip' ? gunzipSync(raw) : encoding === 'deflate' ? inflateSync(raw) : raw;
  return JSON.parse(bytes.toString('utf8'));
}

/** Parameters travel as text: one the document declares a number or boolean is read as one. */
function asParameter(text: string, type: unknown): unknown {
  if ((type === 'integer' || type === 'number') && /^-?\d+(\.\d+)?$/.test(text))
    return Number(text);
  if (type === 'boolean' && (text === 'true' || text === 'false')) return text === 'true';
  return text;
}

function escapePointer(path: string): string {
  return path.replaceAll('~', '~0').replaceAll('/', '~1');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
