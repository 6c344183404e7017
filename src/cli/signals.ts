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
