// Stops a long-running command (the demo, the hub) cleanly on Ctrl-C or a service manager's SIGTERM.

export function closeOnSignal(running: { close(): Promise<void> }): void {
  const shutdown = () => {
    running.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

/** A hub cluster whose workers all crashed too often to be restarted serves nothing: the command fails so a supervisor can act. */
export function exitWhenLost(running: { lost: Promise<void> }): void {
  void running.lost.then(() => {
    console.error('every hub worker crashed too often to be restarted: stopping');
    process.exit(1);
  });
}
