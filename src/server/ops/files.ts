import { closeSync, fsyncSync, openSync } from 'node:fs';

/** fsync of a file or (not on Windows, where NTFS journals metadata) a folder. */
export function fsyncPath(path: string, isDir = false): void {
  if (isDir && process.platform === 'win32') return;
  const fd = openSync(path, isDir ? 'r' : 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
