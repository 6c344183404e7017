// The committed resolver types must be what codegen makes from schema/ today.
import { readFileSync } from 'node:fs';
import { generate } from '@graphql-codegen/cli';
import { expect, test } from 'vitest';
import config from '../../codegen.js';

test('src/generated/graphql.ts is current with schema/ (run `npm run codegen` if this fails)', async () => {
  const outputs = (await generate({ ...config, cwd: process.cwd(), silent: true }, false)) as { filename: string; content: string }[];
  expect(outputs).toHaveLength(1);
  const [output] = outputs;
  expect(readFileSync(output!.filename, 'utf8')).toBe(output!.content);
}, 60_000);
