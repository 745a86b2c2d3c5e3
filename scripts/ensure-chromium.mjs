// The browser tests (src/react/*.e2e.test.ts) drive Debian's Chromium with playwright-core.
// Installs it when missing and we may (root with apt-get); otherwise says what to install.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const executable = process.env.PDV_SYNC_CHROMIUM ?? '/usr/bin/chromium';
if (existsSync(executable)) process.exit(0);

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const hasApt = spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0;
if (isRoot && hasApt) {
  console.log(`${executable} is missing: installing the Debian package "chromium"…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
  const install =
    update.status === 0
      ? spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], {
          stdio: 'inherit',
          env,
        })
      : update;
  if (install.status === 0 && existsSync(executable)) process.exit(0);
  console.error('apt-get could not install "chromium"; see the output above.');
  process.exit(1);
}
console.error(
  `The browser tests need Chromium at ${executable}, which is missing.\n` +
    `Install the Debian/Ubuntu package "chromium" (sudo apt-get install chromium), ` +
    `or point PDV_SYNC_CHROMIUM at a Chromium binary.`,
);
process.exit(1);
