// `npm start`'s pre-step: builds only when dist/ is missing or older than the
// sources, so a fresh clone still works with `npm ci && npm start` and a second
// start does not spend a minute compiling. An installed package (no src/) never builds.
//   node scripts/build-if-stale.mjs            build when stale
//   node scripts/build-if-stale.mjs --check    print "stale" or "fresh" (exit 0) only
//   --root DIR                                 the project folder (default: this script's parent)
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const rootArg = args.indexOf('--root');
const root = rootArg >= 0 ? args[rootArg + 1] : dirname(dirname(fileURLToPath(import.meta.url)));

/** Newest modification time (ms) of the files under dir whose name passes keep. */
function newest(dir, keep) {
  let max = 0;
  if (!existsSync(dir)) return max;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !keep(entry.name)) continue;
    const path = join(entry.parentPath ?? entry.path, entry.name);
    max = Math.max(max, statSync(path).mtimeMs);
  }
  return max;
}

function stale() {
  if (!existsSync(join(root, 'src'))) return false; // an installed package: dist is what ships
  const marker = join(root, 'dist', 'cli', 'main.js');
  if (!existsSync(marker)) return true;
  const built = statSync(marker).mtimeMs;
  const sources = Math.max(
    newest(join(root, 'src'), (n) => /\.(ts|tsx|json)$/.test(n)),
    newest(join(root, 'web'), (n) => /\.(ts|tsx|json|css|html)$/.test(n)),
    ...['tsconfig.json', 'package.json'].map((f) =>
      existsSync(join(root, f)) ? statSync(join(root, f)).mtimeMs : 0,
    ),
  );
  return sources > built;
}

const isStale = stale();
if (args.includes('--check')) {
  console.log(isStale ? 'stale' : 'fresh');
  process.exit(0);
}
if (isStale) {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, ['run', 'build'], {
    cwd: root,
    stdio: 'inherit',
    shell: process.platform === 'win32',
  });
  process.exit(result.status ?? 1);
}
