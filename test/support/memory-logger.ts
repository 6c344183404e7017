// A real pino logger whose JSON lines land in an array, so a test can assert what an operator would read.
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

export function memoryLogger(level: pino.LevelWithSilent = 'info'): { logger: Logger; lines: Record<string, any>[] } {
  const lines: Record<string, any>[] = [];
  const memory = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level }, memory), lines };
}
