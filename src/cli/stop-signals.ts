/**
 * SIGTERM/SIGINT stop a long-running command once: say so, run `stop`, then exit
 * 0 (or 1 when stopping failed). Installed before the command announces it is
 * ready, so a signal right after start-up still stops it cleanly.
 */
export function onStopSignals(options: {
  stopping: () => void;
  stopped: () => void;
  stop: (signal: NodeJS.Signals) => Promise<void>;
}): void {
  let stopping = false;
  const handle = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    options.stopping();
    options.stop(signal).then(
      () => {
        options.stopped();
        process.exit(0);
      },
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => handle('SIGTERM'));
  process.on('SIGINT', () => handle('SIGINT'));
}
