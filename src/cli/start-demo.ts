// `npm start`: the embedded demo, exactly as `rosetta start` runs it (PORT, DEMO_PEOPLE, DEMO_SEED, DEMO_LATENCY_MS from the environment).
import { startCommand } from './commands/start.js';
import { runCommand } from './run.js';

await runCommand(startCommand(), process.argv.slice(2));
