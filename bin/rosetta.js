#!/usr/bin/env node
// The `rosetta` executable: loads tsx's TypeScript support into this process, then runs the command line from source.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/rosetta.ts');
