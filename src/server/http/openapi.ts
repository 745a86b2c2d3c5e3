import { STATUS_CODES } from 'node:http';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyContextConfig, FastifyInstance, RouteOptions } from 'fastify';
import { z } from 'zod';
import {
  apiTags,
  consoleSocketPath,
  epochHeader,
  errorBodySchema,
  httpRoutes,
  protocolVersion,
  socketRoutes,
  type RouteContract,
  type SocketContract,
} from '../../protocol/index.js';

/** Where the document and its interactive page are served (no token: they hold no data). */
export const openApiPath = '/api/openapi.json';
export const docsPath = '/api/docs';

type Json = Record<string, unknown>;

/**
 * Attaches to every route its contract from `src/protocol/routes.ts` (a route without one
 * refuses to register) and builds the OpenAPI 3.1 document from them. The contracts are
 * documentation only: the routes check their input with the same zod schemas themselves, in
 * the order and with the error answers their tests pin, so Fastify neither validates
 * requests against them nor serializes answers with them (answers are sent as
 * `JSON.stringify` sends them, as without a schema). Call before any route is registered
 * and before the route list is collected (the documentation page is marked public here).
 */
export async function registerContract(app: FastifyInstance): Promise<void> {
  app.setValidatorCompiler(() => () => true);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  app.addHook('onRoute', (route) => {
    // The documentation page and its assets hold no data; a browser opens them without a token.
    if (route.url === docsPath || route.url.startsWith(`${docsPath}/`))
      route.config = { ...route.config, public: true };
    // Plugins' own routes (the documentation page, CORS preflights) come with a hidden schema.
    if (route.schema) return;
    const key = `${route.method === 'HEAD' ? 'GET' : String(route.method)} ${route.url}`;
    const contract = httpRoutes[key];
    if (!contract) throw new Error(`route ${key} has no contract in src/protocol/routes.ts`);
    // A copy: Fastify marks the schemas it has seen, and the contracts are shared constants.
    route.schema = { ...contract };
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'pdv-sync',
        version: String(protocolVersion),
        description:
          'Offline-first sync for PDV systems. Generated from the zod schemas of src/protocol (routes.ts). Every answer carries `x-pdv-sync-protocol` and `x-pdv-sync-epoch`; every error is `{code, message, details?}` with a code from the catalogue (docs/errors.md). Guide: docs/protocol.md.',
      },
      tags: Object.entries(apiTags).map(([name, description]) => ({ name, description })),
      components: { securitySchemes },
    },
    transform: ({ schema, url, route }) =>
      schema.hide ? { schema, url } : { url, schema: operationOf(schema as RouteContract, route) },
    transformObject: (document) =>
      'openapiObject' in document
        ? (completed(document.openapiObject as Json) as typeof document.openapiObject)
        : document.swaggerObject,
  });
}

/** `GET /api/openapi.json` and the interactive page at `/api/docs` (Swagger UI, served from this server). */
export async function contractRoutes(app: FastifyInstance): Promise<void> {
  app.get(openApiPath, { config: { public: true } }, async () => app.swagger());
  // Operation ids shown: they are the method names of a generated client.
  await app.register(swaggerUi, {
    routePrefix: docsPath,
    uiConfig: { displayOperationId: true },
    uiHooks: {
      // Swagger UI redirects `static/index.html` to the page by rewriting the URL's end, so with a
      // query string it redirects to itself forever: send every such request to the page itself.
      // preHandler, not onRequest: a body the server refuses is refused first, as on every route.
      preHandler: (req, reply, done) => {
        if (req.url.split('?')[0] === `${docsPath}/static/index.html`)
          void reply.redirect(`${docsPath}/`);
        else done();
      },
    },
  });
}

const securitySchemes = {
  apiKey: {
    type: 'apiKey',
    in: 'header',
    name: 'x-api-key',
    description:
      'A device, store manager or admin token (`pdvs_dev_…`, `pdvs_adm_…`), or the shared `API_SECRET_KEY` when configured (device rights in one store). Roles listed on an operation are the only ones it admits.',
  },
  bearerToken: {
    type: 'http',
    scheme: 'bearer',
    description: 'The same tokens in `Authorization: Bearer`.',
  },
  jwt: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      "A token from the store's own identity provider (`--jwt-jwks-url` or `FIREBASE_PROJECT_ID`); admin only with `--jwt-admin-role`.",
  },
  liveToken: {
    type: 'apiKey',
    in: 'query',
    name: 'token',
    description: 'WebSocket channels: the token as `?token=` (browsers cannot set headers there).',
  },
  consoleTicket: {
    type: 'apiKey',
    in: 'query',
    name: 'ticket',
    description: "The console's WebSocket: a one-use ticket from `POST /api/console/ticket`.",
  },
} as const;

/** The credentials a route admits, from its auth config (the auth hook's own reading of it). */
function securityOf(config: FastifyContextConfig | undefined): { [scheme: string]: string[] }[] {
  if (config?.public) return [];
  const roles = config?.admin
    ? ['admin', ...(config.manager ? ['manager'] : []), ...(config.metrics ? ['metrics'] : [])]
    : [];
  return [{ apiKey: roles }, { bearerToken: roles }, { jwt: roles }];
}

/** JSON Schema of a zod schema, as clients send it (`input`) or as the server answers (`output`). */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Json {
  const json: Json = { ...z.toJSONSchema(schema, { io }) };
  // The dialect is the document's (OpenAPI 3.1: draft 2020-12, as zod writes by default).
  delete json['$schema'];
  return json;
}

/** `POST /api/sync/:table` → `postSyncByTable`: stable names for generated clients. */
function operationIdOf(method: string, url: string): string {
  const words = url
    .split('/')
    .filter((s, i) => s !== '' && !(i === 1 && s === 'api'))
    .flatMap((s) => (s === '*' ? ['path'] : s.startsWith(':') ? ['by', s.slice(1)] : [s]))
    .flatMap((s) => s.split(/[^A-Za-z0-9]+/))
    .filter(Boolean);
  const camel = words.map((w) => w[0]?.toUpperCase() + w.slice(1)).join('');
  return `${method.toLowerCase()}${camel || 'Root'}`;
}

function answerOf(status: string, answer: RouteContract['response'][number]): Json {
  const description = STATUS_CODES[status] ?? status;
  if (answer instanceof z.ZodType)
    return {
      description,
      content: { 'application/json': { schema: jsonSchema(answer, 'output') } },
    };
  if ('redirectTo' in answer)
    return {
      description: `${description}: to ${answer.redirectTo}`,
      headers: { location: { type: 'string', const: answer.redirectTo } },
      type: 'null',
    };
  return {
    description: answer.description,
    content: { [answer.mediaType]: { schema: { type: 'string' } } },
  };
}

/** A route's contract as @fastify/swagger reads a route schema (JSON Schema parts). */
function operationOf(contract: RouteContract, route: RouteOptions): Json {
  const input = (part: z.ZodType | undefined) => part && jsonSchema(part, 'input');
  const parts = {
    params: input(contract.params),
    querystring: input(contract.querystring),
    headers: input(contract.headers),
    body: input(contract.body),
  };
  return {
    operationId: operationIdOf(String(route.method), route.url),
    summary: contract.summary,
    ...(contract.description ? { description: contract.description } : {}),
    tags: contract.tags,
    security: securityOf(route.config),
    ...Object.fromEntries(Object.entries(parts).filter(([, part]) => part !== undefined)),
    response: Object.fromEntries(
      Object.entries(contract.response).map(([status, answer]) => [
        status,
        answerOf(status, answer),
      ]),
    ),
  };
}

const headers = {
  protocol: {
    description:
      'The wire protocol version. A request may send it too: 4 or later reads decimal (money) columns as canonical text ("10.50") in pulls, push results and /api/tables; otherwise as JSON numbers.',
    schema: { type: 'string', const: String(protocolVersion) },
  },
  epoch: {
    description:
      "The database's epoch: it changes only when the database is restored from a backup (see `GET /api/sync/epoch`).",
    schema: { type: 'string' },
  },
};
const headerRefs = {
  'x-pdv-sync-protocol': { $ref: '#/components/headers/protocol' },
  [epochHeader]: { $ref: '#/components/headers/epoch' },
};

/**
 * What the routes' schemas leave to the document as a whole: the error answer every route
 * may give, the headers of every answer, and the WebSocket endpoints (not Fastify routes:
 * they are upgrades), with the messages each side sends.
 */
function completed(document: Json): Json {
  const paths = (document['paths'] ?? {}) as Record<string, Record<string, Json>>;
  for (const item of Object.values(paths))
    for (const operation of Object.values(item)) {
      const responses = operation['responses'] as Record<string, Json>;
      for (const answer of Object.values(responses))
        answer['headers'] = { ...headerRefs, ...(answer['headers'] as Json | undefined) };
      responses['4XX'] ??= { $ref: '#/components/responses/error' };
      responses['5XX'] ??= { $ref: '#/components/responses/error' };
    }
  const messages: Json = {};
  for (const [path, socket] of Object.entries(socketRoutes)) {
    const name = operationIdOf('GET', path).slice(3);
    messages[`${name}Server`] = jsonSchema(socket.receives, 'output');
    if (socket.sends) messages[`${name}Client`] = jsonSchema(socket.sends, 'input');
    paths[path] = { get: socketOperation(path, socket, name) };
  }
  const components = document['components'] as Json;
  return {
    ...document,
    paths,
    components: {
      ...components,
      schemas: {
        ...(components['schemas'] as Json),
        ErrorBody: jsonSchema(errorBodySchema, 'output'),
        ...messages,
      },
      headers,
      responses: {
        error: {
          description: 'An error from the catalogue (docs/errors.md), with its status.',
          headers: headerRefs,
          content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBody' } } },
        },
      },
    },
  };
}

function socketOperation(path: string, socket: SocketContract, name: string): Json {
  const query = socket.query ? jsonSchema(socket.query, 'input') : {};
  const required = (query['required'] ?? []) as string[];
  const properties = (query['properties'] ?? {}) as Record<string, Json>;
  const ref = (suffix: string) => ({ $ref: `#/components/schemas/${name}${suffix}` });
  return {
    operationId: operationIdOf('GET', path),
    summary: socket.summary,
    description: socket.description,
    tags: ['live'],
    security:
      path === consoleSocketPath
        ? [{ consoleTicket: [] }]
        : [{ liveToken: [] }, { apiKey: [] }, { bearerToken: [] }],
    parameters: Object.entries(properties).map(([param, { description, ...schema }]) => ({
      name: param,
      in: 'query',
      required: required.includes(param),
      ...(description ? { description } : {}),
      schema,
    })),
    responses: { 101: { description: 'Switching Protocols: the WebSocket is open' } },
    /** The messages each side sends on the open socket (JSON text frames). */
    'x-pdv-sync-messages': {
      server: ref('Server'),
      ...(socket.sends ? { client: ref('Client') } : {}),
    },
  };
}
