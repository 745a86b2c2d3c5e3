import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'pdv-sync-install-'));
const running: ReturnType<typeof spawn>[] = [];
after(() => {
  for (const p of running) if (p.exitCode === null) p.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const npm = (args: string[], cwd: string) =>
  spawnSync('npm', args, {
    cwd,
    encoding: 'utf8',
    timeout: 540_000,
    env: { ...process.env, npm_config_loglevel: 'warn' },
  });

test('the release tarball installs with production dependencies only and runs --version, server, sync --once', async () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    version: string;
    devDependencies: Record<string, string>;
  };
  const pack = npm(['pack', '--pack-destination', dir, '--silent'], root);
  assert.equal(pack.status, 0, pack.stderr);
  const tarball = join(dir, pack.stdout.trim().split('\n').pop()!);
  assert.ok(existsSync(tarball), tarball);

  // A store machine's folder: the shipped template, then the tarball (README, "Installing on a store machine").
  const app = join(dir, 'store');
  mkdirSync(app);
  const template = JSON.parse(
    readFileSync(join(root, 'config', 'store-install', 'package.json'), 'utf8'),
  ) as Record<string, unknown>;
  assert.ok(template['overrides'], 'the template pins the Node 20 releases');
  // npm 11 runs the scripts `allowScripts` names even under --ignore-scripts: dropped here only.
  delete template['allowScripts'];
  writeFileSync(join(app, 'package.json'), JSON.stringify(template));
  // Install scripts off: better-sqlite3's would download a prebuilt binding from GitHub
  // (unreachable from this machine) and then compile SQLite for many minutes. The binding
  // the workspace already built for this Node version is copied in when versions match.
  const install = npm(
    [
      'install',
      '--omit=dev',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      '--ignore-scripts',
      tarball,
    ],
    app,
  );
  assert.equal(install.status, 0, install.stdout + install.stderr);
  const binding = join('better-sqlite3', 'build', 'Release', 'better_sqlite3.node');
  const versionOf = (base: string) =>
    (
      JSON.parse(readFileSync(join(base, 'better-sqlite3', 'package.json'), 'utf8')) as {
        version: string;
      }
    ).version;
  if (versionOf(join(root, 'node_modules')) === versionOf(join(app, 'node_modules'))) {
    mkdirSync(join(app, 'node_modules', 'better-sqlite3', 'build', 'Release'), {
      recursive: true,
    });
    copyFileSync(join(root, 'node_modules', binding), join(app, 'node_modules', binding));
  } else {
    const rebuild = npm(['rebuild', 'better-sqlite3'], app);
    assert.equal(rebuild.status, 0, rebuild.stderr);
  }
  const output = install.stdout + install.stderr;
  assert.doesNotMatch(output, /EBADENGINE/, 'no engine warning on Node 20');

  const modules = join(app, 'node_modules');
  // Development dependencies only (the lockfile's `dev: true`): @types/node, say, is also
  // a dependency of tedious (SQL Server driver) and rightly installed.
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean }>;
  };
  const devOnly = Object.keys(pkg.devDependencies).filter(
    (name) => lock.packages[`node_modules/${name}`]?.dev === true,
  );
  assert.ok(devOnly.length > 10, devOnly.join(', '));
  const devInstalled = devOnly.filter((name) => existsSync(join(modules, name)));
  assert.deepEqual(devInstalled, [], 'no development dependency installed');
  assert.ok(!existsSync(join(modules, 'pouchdb-server')));
  assert.ok(existsSync(join(modules, 'pdv-sync', 'dist', 'cli', 'main.js')));
  assert.ok(!existsSync(join(modules, 'pdv-sync', 'src')), 'sources do not ship');
  const tests = spawnSync('find', [join(modules, 'pdv-sync'), '-name', '*.test.js'], {
    encoding: 'utf8',
  });
  assert.equal(tests.stdout.trim(), '', 'compiled tests do not ship');

  const cli = join(modules, 'pdv-sync', 'dist', 'cli', 'main.js');
  const env = { PATH: process.env['PATH'], PDV_SYNC_LANG: 'en' };
  const version = spawnSync(process.execPath, [cli, '--version'], {
    cwd: app,
    env,
    encoding: 'utf8',
  });
  assert.equal(version.stdout.trim(), pkg.version);

  const adminToken = 'install-admin-token-0123456789abcdef';
  const server = spawn(process.execPath, [cli, 'server', '--port', '0', '--host', '127.0.0.1'], {
    cwd: app,
    env: { ...env, PDV_SYNC_ADMIN_TOKEN: adminToken },
  });
  running.push(server);
  let out = '';
  server.stdout.on('data', (c: Buffer) => (out += c.toString()));
  server.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 30_000);
    server.stdout.on('data', () => {
      const m = /listening on (http:\/\/[\d.:]+)/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
  });
  const res = await fetch(`${url}/api/admin/devices`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': adminToken },
    body: JSON.stringify({ storeId: 'loja-01', machineId: 'caixa-01' }),
  });
  assert.equal(res.status, 201);
  const { token } = (await res.json()) as { token: string };
  const sync = spawn(process.execPath, [cli, 'sync', '--once', '--db', join(app, 'pdv.db')], {
    cwd: app,
    env: { ...env, PDV_SYNC_SERVER: url, PDV_SYNC_TOKEN: token, HOME: app },
  });
  let syncOut = '';
  sync.stdout.on('data', (c: Buffer) => (syncOut += c.toString()));
  sync.stderr.on('data', (c: Buffer) => (syncOut += c.toString()));
  const code = await new Promise<number | null>((resolve) => sync.once('close', resolve));
  assert.equal(code, 0, syncOut);
  assert.match(syncOut, /Sync: synced/);
  server.kill('SIGTERM');
  await new Promise((resolve) => server.once('close', resolve));
});
