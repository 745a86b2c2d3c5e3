import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { transform } from 'esbuild';
import { startServerFixture, type ServerFixture } from '../testing/terminal-fixture.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));

/** Every ```ts / ```js block of the README, read at test time (never a copy that goes stale). */
function readmeSnippets(): { line: number; lang: string; code: string }[] {
  const text = readFileSync(join(repo, 'README.md'), 'utf8');
  const out: { line: number; lang: string; code: string }[] = [];
  const fence = /^```(ts|typescript|js|javascript|mjs)\s*\n([\s\S]*?)^```/gm;
  for (let m = fence.exec(text); m; m = fence.exec(text))
    out.push({
      line: text.slice(0, m.index).split('\n').length,
      lang: m[1],
      code: m[2],
    });
  return out;
}

function run(
  file: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

describe("the README's code runs as written on this Node", () => {
  let fx: ServerFixture;
  let token: string;
  // Inside the package, so `import … from 'pdv-sync/client'` resolves as it does for users.
  const dir = join(repo, 'dist', '.readme-snippets');
  const cwd = mkdtempSync(join(tmpdir(), 'pdv-sync-readme-'));
  before(async () => {
    fx = await startServerFixture('sqlite');
    token = await fx.device('loja-1', 'caixa-readme');
    mkdirSync(dir, { recursive: true });
    // What the reader has at hand: a server URL and a device token.
    writeFileSync(
      join(dir, 'reader.mjs'),
      `globalThis.token = process.env.PDV_SYNC_TOKEN;\nglobalThis.serverUrl = process.env.PDV_SYNC_SERVER;\n`,
    );
  });
  after(async () => {
    await fx.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(cwd, { recursive: true, force: true });
  });

  test('the README has SDK snippets to check', () => {
    assert.ok(readmeSnippets().length >= 2);
  });

  for (const snippet of readmeSnippets())
    test(`README.md line ${snippet.line} (${snippet.lang})`, async () => {
      const { code } = await transform(snippet.code, {
        loader: snippet.lang.startsWith('t') ? 'ts' : 'js',
        format: 'esm',
        target: 'node20',
      });
      const file = join(dir, `snippet-${snippet.line}.mjs`);
      // The snippet runs, then lives 2 s (a started client syncs and calls back), then exits.
      writeFileSync(
        file,
        `import './reader.mjs';\n${code}\nawait new Promise((r) => setTimeout(r, 2000));\nprocess.exit(0);\n`,
      );
      const result = await run(file, cwd, {
        ...process.env,
        PDV_SYNC_SERVER: fx.url,
        PDV_SYNC_TOKEN: token,
        PDV_SYNC_LOG_FILE: '',
        HOME: cwd,
      });
      assert.equal(result.code, 0, result.out);
      // `client.onLive(cb); client.start()` in that order calls cb.
      if (/\.onLive\(/.test(snippet.code)) assert.match(result.out, /connected/, result.out);
    });
});
