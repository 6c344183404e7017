// Runs a command-line program and turns its failures into one message and a documented exit code.
import { CommanderError, type Command } from 'commander';
import { ConfigError } from '../config/load.js';
import { ErrorCode } from '../errors/catalogue.js';
import { SampleUnavailableError } from '../mapping-suggest/errors.js';
import { SourceError } from '../sources/errors.js';

/** Exit codes every `rosetta` command shares. */
export const EXIT = {
  ok: 0,
  /** The command ran and found a problem (a source unreachable, a sync that failed). */
  failed: 1,
  /** The command could not run as asked: a bad config file or bad arguments. */
  usage: 2,
} as const;

/** A failure the command has already explained: print `message`, exit with `exitCode`, no stack trace. */
export class CliError extends Error {
  readonly code = ErrorCode.CLI_FAILED;
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failed,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Parses `args` (without `node` and the script) and runs the chosen action; sets `process.exitCode` on failure. */
export async function runCommand(program: Command, args: readonly string[]): Promise<void> {
  // Commander exits by itself on --help and on bad arguments; overriding lets the code below pick the exit code.
  const override = (command: Command) => {
    command.exitOverride();
    command.commands.forEach(override);
  };
  override(program);
  try {
    await program.parseAsync([...args], { from: 'user' });
  } catch (error) {
    process.exitCode = exitCodeOf(error);
  }
}

function exitCodeOf(error: unknown): number {
  if (error instanceof CommanderError) {
    // Commander already printed the help or the usage problem.
    return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  if (error instanceof ConfigError) {
    console.error(error.message);
    return EXIT.usage;
  }
  if (error instanceof CliError) {
    console.error(error.message);
    return error.exitCode;
  }
  // Failures with a code say enough in their message; a stack trace would only bury it.
  if (error instanceof SourceError || error instanceof SampleUnavailableError) {
    console.error(`${error.code}: ${error.message}`);
    return EXIT.failed;
  }
  console.error(error);
  return EXIT.failed;
}
