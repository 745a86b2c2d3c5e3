import { basename, dirname, extname, join } from 'node:path';
import pino, { type Logger } from 'pino';
import { maskSecrets } from '../protocol/secret-masking.js';

export { maskSecrets };

export type LoggerOptions = {
  level: string;
  /** The documented log file name (`./logs/pdv-sync-server.log`); '' = console only. */
  file: string;
  pretty?: boolean;
  /** Secrets known at start (the configured admin token): masked wherever they appear. */
  secrets?: readonly string[];
};

const redacted = '[redacted]';

/** Query parameters whose value is a credential, whatever their case or encoding. */
const secretName =
  /^(?:token|access_token|api[-_]?key|x-api-key|authorization|admin[-_]?token|password|secret)$/i;

/**
 * A request URL fit for a log: the value of every query parameter named like a
 * credential is masked, also when its name is percent-encoded (`?to%6Ben=`), since
 * the WebSocket upgrade decodes names before reading `token`.
 */
export function maskTokenInUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return maskSecrets(url);
  const query = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const rawName = eq < 0 ? pair : pair.slice(0, eq);
      let name = rawName;
      try {
        name = decodeURIComponent(rawName.replace(/\+/g, ' '));
      } catch {
        // A malformed name is logged as sent (then masked by pattern).
      }
      return eq >= 0 && secretName.test(name.trim()) ? `${rawName}=${redacted}` : pair;
    })
    .join('&');
  return maskSecrets(`${url.slice(0, q)}?${query}`);
}

type LoggedRequest = { method?: string; url?: string; ip?: string; id?: string };

/** The request as logged: method, masked URL, client address; never headers or body. */
function requestSerializer(req: LoggedRequest): Record<string, unknown> {
  return {
    method: req.method,
    url: typeof req.url === 'string' ? maskTokenInUrl(req.url) : req.url,
    remoteAddress: req.ip,
  };
}

/** Errors keep type, code, message and stack, each masked (a parser may quote the body). */
function errorSerializer(err: unknown): unknown {
  const base = pino.stdSerializers.err(err as Error) as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(base))
    out[key] = typeof value === 'string' ? maskSecrets(value) : value;
  return out;
}

/**
 * The rotating file's names follow the documented name: `pdv-sync-server.log`
 * becomes `pdv-sync-server.1.log`, `pdv-sync-server.2.log`… (pino-roll numbers
 * files and would otherwise write `pdv-sync-server.log.1`).
 */
export function rollOptionsFor(file: string): { file: string; extension: string } {
  const extension = extname(file) || '.log';
  return { file: join(dirname(file), basename(file, extname(file))), extension };
}

/**
 * Structured logs: JSON to a rotating file (daily or 10 MB, 14 files kept) and
 * readable text on the console, one line per entry. Secrets never reach a log
 * (PITFALLS #19): the serializers mask request URLs and errors, and every line,
 * whatever logged it, passes through `maskSecrets` before either output sees it.
 */
export function createLogger(options: LoggerOptions): Logger {
  const targets: pino.TransportTargetOptions[] = [];
  if (options.file)
    targets.push({
      target: 'pino-roll',
      level: options.level,
      options: {
        ...rollOptionsFor(options.file),
        frequency: 'daily',
        size: '10m',
        mkdir: true,
        limit: { count: 14 },
      },
    });
  targets.push(
    options.pretty === false
      ? { target: 'pino/file', level: options.level, options: { destination: 1 } }
      : {
          target: 'pino-pretty',
          level: options.level,
          options: {
            destination: 1,
            translateTime: 'SYS:standard',
            // The request line's fields are in its message already.
            ignore: 'pid,hostname,reqId,method,url,status,ms',
            singleLine: true,
          },
        },
  );
  const known = (options.secrets ?? []).filter((s) => s.length >= 8);
  return pino(
    {
      level: options.level,
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers["x-api-key"]',
          'headers.authorization',
          'headers["x-api-key"]',
          '*.token',
          'token',
        ],
        censor: redacted,
      },
      serializers: { req: requestSerializer, err: errorSerializer },
      hooks: { streamWrite: (line) => maskSecrets(line, known) },
    },
    options.level === 'silent'
      ? undefined
      : (pino.transport({ targets }) as pino.DestinationStream),
  );
}
