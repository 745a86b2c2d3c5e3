/**
 * Masking of credentials in log text, shared by every logger of the product (server, SDK, agent):
 * a token must never reach a log, whichever part of the product wrote the line.
 */
const redacted = '[redacted]';

/**
 * Credential shapes masked in every log line, whatever field or message carries them:
 * our own tokens, JWTs (signed device tokens of other issuers), `Bearer …`,
 * `token=…` in any URL or text, and JSON members named like a credential.
 */
const secretPatterns: ReadonlyArray<[RegExp, string]> = [
  [/pdvs_(?:adm|dev)_[A-Za-z0-9_-]+/g, `pdvs_${redacted}`],
  [/eyJ[\w-]*\.[\w-]+\.[\w-]*/g, redacted],
  [/(bearer\s+)[^\s"\\]+/gi, `$1${redacted}`],
  // A password inside a connection URL (`mysql://user:secret@host`).
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@"]*:)[^@\s/"]+@/gi, `$1${redacted}@`],
  [/((?:token|access_token|api[-_]?key|password|secret)(?:=|%3D))[^&\s"\\#]*/gi, `$1${redacted}`],
  [
    /("(?:token|access_token|api[-_]?key|x-api-key|authorization|admin[-_]?token|password|secret)"\s*:\s*")(?:[^"\\]|\\.)*"/gi,
    `$1${redacted}"`,
  ],
  // The same member quoted inside a string (a parser's message citing the body).
  [
    /(\\"(?:token|access_token|api[-_]?key|x-api-key|authorization|admin[-_]?token|password|secret)\\"\s*:\s*\\")[^"\\]*/gi,
    `$1${redacted}`,
  ],
];

/** Masks every credential in a piece of log text (a whole JSON line or a message). */
export function maskSecrets(text: string, known: readonly string[] = []): string {
  let out = text;
  for (const secret of known)
    if (secret)
      for (const form of new Set([secret, JSON.stringify(secret).slice(1, -1)]))
        out = out.split(form).join(redacted);
  for (const [pattern, replacement] of secretPatterns) out = out.replace(pattern, replacement);
  return out;
}
