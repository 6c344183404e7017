// The sources' process (see bench/sources-process.ts): generates the dataset, serves it from the five simulated
// systems on loopback at latency 0, and answers the parent's questions about its own CPU time and memory over IPC.
// Started as `node --import tsx --max-old-space-size=N bench/sources-child.ts <people> <seed>` through `fork`.
import { generateDataset } from '../src/demo/dataset.js';
import { startSimulatedSystems } from '../src/demo/systems.js';
import type { SourcesChildMessage, SourcesParentMessage } from './sources-process.js';

function send(message: SourcesChildMessage): Promise<void> {
  // Resolved once the message is handed to the channel, so an exit right after it does not drop it.
  return new Promise((resolve) => process.send!(message, undefined, undefined, () => resolve()));
}

async function serve(people: number, seed: number): Promise<void> {
  const started = performance.now();
  const dataset = generateDataset({ people, seed });
  const generateMs = Math.round(performance.now() - started);
  const systems = await startSimulatedSystems({ dataset, latencyMs: 0 });
  process.on('message', (message: SourcesParentMessage) => {
    if (message.type === 'usage') {
      const { user, system } = process.cpuUsage();
      void send({ type: 'usage', cpuMicros: user + system, maxRssKb: process.resourceUsage().maxRSS, requests: systems.totalRequests() });
    } else {
      systems.close().then(
        () => process.exit(0),
        (error: unknown) => {
          console.error('sources-child: closing the simulated systems failed', error);
          process.exit(1);
        },
      );
    }
  });
  await send({ type: 'ready', urls: systems.urls, generateMs });
}

// The parent gone (exited, crashed, killed) closes the IPC channel: no sources are left serving behind it.
process.once('disconnect', () => process.exit(0));

const [people, seed] = process.argv.slice(2).map(Number);
if (!Number.isInteger(people) || !Number.isInteger(seed)) {
  void send({ type: 'failed', message: `usage: sources-child.ts <people> <seed>, got ${process.argv.slice(2).join(' ')}` }).then(() => process.exit(2));
} else {
  serve(people!, seed!).catch(async (error: unknown) => {
    await send({ type: 'failed', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    process.exit(1);
  });
}
