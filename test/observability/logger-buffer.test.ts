// The hub's log lines are buffered to save a system call per operation, and none is lost when the process ends.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

const LOGGER = new URL('../../src/logging/logger.ts', import.meta.url).href;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Runs `body` in a fresh Node process with two loggers from createLogger; returns its stdout lines. */
function run(body: string): { lines: { msg: string; n: number }[]; status: number | null } {
  const script = `import { createLogger } from ${JSON.stringify(LOGGER)};\nconst a = createLogger('info');\nconst b = createLogger('info').child({ worker: 2 });\n${body}`;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, LOG_LEVEL: 'info' }, timeout: 30_000 });
  return { lines: child.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { msg: string; n: number }), status: child.status };
}

describe('the buffered log destination', () => {
  test('every line logged just before process.exit() is written, whole, in order, from both loggers', () => {
    const { lines, status } = run(`for (let n = 0; n < 3000; n++) (n % 2 ? a : b).info({ n }, 'operation');\nprocess.exit(0);`);
    expect(status).toBe(0);
    expect(lines).toHaveLength(3000);
    expect(lines.map((line) => line.n)).toEqual(Array.from({ length: 3000 }, (_, n) => n));
  });

  test('a line logged by a process that then ends on its own is written', () => {
    const { lines } = run(`a.info({ n: 1 }, 'last words');`);
    expect(lines.map((line) => line.msg)).toEqual(['last words']);
  });

  test('a line logged by a process that keeps running is written without waiting for the buffer to fill', () => {
    // One short line, far below the buffer's size, then the process waits: only the flush timer can write it.
    const { lines } = run(`a.info({ n: 1 }, 'lonely line');\nawait new Promise((resolve) => setTimeout(resolve, 600));\nconst fs = await import('node:fs');\nfs.writeSync(1, JSON.stringify({ msg: 'marker', n: 2 }) + '\\n');\nprocess.kill(process.pid, 'SIGKILL');`);
    // SIGKILL skips every exit handler: the line is there only because the timer flushed it before.
    expect(lines.map((line) => line.msg)).toEqual(['lonely line', 'marker']);
  });
});
