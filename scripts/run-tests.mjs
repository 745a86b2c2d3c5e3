// Runs every compiled test file with Node's test runner. Node 20's --test has no
// globs, so the list is built here. Suffixes: *.test.js (nothing needed),
// *.pg.test.js (PostgreSQL), *.e2e.test.js (processes, sockets, browser).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const filter = process.argv[2];
const files = readdirSync('dist', { recursive: true })
  .map(String)
  .filter((f) => f.endsWith('.test.js'))
  .filter((f) => !filter || f.includes(filter))
  .sort()
  .map((f) => join('dist', f));
if (files.length === 0) {
  console.error('no test files found under dist/ — did the build run?');
  process.exit(1);
}
// A test that hangs fails after 20 minutes instead of holding CI to its limit. The bound is per
// file too: the crash-recovery file (fsync-heavy, SIGKILL at every write) needs most of 10
// minutes when the machine is busy, so 10 was a liveness bound it could miss.
const result = spawnSync(
  process.execPath,
  // A larger V8 stack (still inside the OS's 8 MiB): the fuzz tests walk bodies nested 20,000 deep.
  ['--stack-size=7000', '--test', '--test-concurrency=2', '--test-timeout=1200000', ...files],
  {
    stdio: 'inherit',
  },
);
process.exit(result.status ?? 1);
