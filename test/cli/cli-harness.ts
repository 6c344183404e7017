// Runs the real `rosetta` command line as a child process, and writes config files pointing at the simulated systems.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { DEMO_CONFIG_PATH } from '../../src/cli/demo-config.js';
import type { SystemName } from '../../src/demo/systems.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PROGRAM = ['--import', 'tsx', 'src/cli/rosetta.ts'];

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** One run of `rosetta ARGS`, bounded in time; stdout is a pipe, so the CLI sees no terminal. */
export function runCli(args: readonly string[], options: { timeoutMs?: number; env?: Record<string, string> } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...PROGRAM, ...args], { cwd: ROOT, timeout: options.timeoutMs ?? 25_000, env: { ...process.env, LOG_LEVEL: 'silent', ...options.env } }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A long-running command (`serve`), and a way to wait for a line of its output. */
export function spawnCli(args: readonly string[]): { child: ChildProcess; waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>; stop(): Promise<number | null> } {
  const child = spawn(process.execPath, [...PROGRAM, ...args], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'silent' } });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return {
    child,
    waitFor(pattern, timeoutMs = 25_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms; output:\n${output}`)), timeoutMs);
        const check = () => {
          const match = output.match(pattern);
          if (!match) return;
          clearTimeout(timer);
          child.stdout!.off('data', check);
          resolve(match);
        };
        child.stdout!.on('data', check);
        check();
      });
    },
    stop() {
      return new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill('SIGTERM');
      });
    },
  };
}

/**
 * The environment a production service manager gives the hub: vitest's NODE_ENV=test removed (it changes behaviour,
 * e.g. Apollo Server installs its own signal handlers unless NODE_ENV is test) and logs silenced.
 */
export function productionEnv(overrides: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { NODE_ENV: _test, ...env } = process.env;
  return { ...env, LOG_LEVEL: 'silent', ...overrides };
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'rosetta-cli-'));
}

/**
 * A copy of the demo config with each source's base URL and the link store written in, as an operator's
 * own config file would have them; `change` edits the parsed YAML before it is written.
 */
export function writeConfig(dir: string, name: string, urls: Record<SystemName, string>, change: (raw: any) => void = () => {}): string {
  const raw = parse(readFileSync(DEMO_CONFIG_PATH, 'utf8'));
  for (const [system, url] of Object.entries(urls)) raw.sources[system].baseUrl = url;
  raw.server = { host: '127.0.0.1', port: 0 };
  raw.linkStore = { kind: 'sqlite', path: join(dir, `${name}.sqlite`) };
  // The demo's extension folder is named relative to config/demo.yaml; the copy lives elsewhere.
  raw.schema = { extensions: join(dirname(DEMO_CONFIG_PATH), raw.schema.extensions) };
  change(raw);
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, stringify(raw));
  return file;
}
