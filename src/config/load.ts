// Reads the YAML config, fills `${ENV}` references from the environment and validates it, failing with the bad key's path.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { ZodError } from 'zod';
import { ErrorCode } from '../errors/catalogue.js';
import { profileFieldsDeclaredIn } from './extension-profile-fields.js';
import { configSchema, UNIFIED_TARGETS, type HubConfig } from './schema.js';

/** One thing wrong with a config: the key's path (`sources.crm.entities.contact.mapping.email`) and what is wrong. */
export interface ConfigProblem {
  path: string;
  message: string;
}

export class ConfigError extends Error {
  readonly code = ErrorCode.CONFIG_INVALID;
  constructor(
    readonly problems: readonly ConfigProblem[],
    readonly file?: string,
  ) {
    super(`invalid config${file ? ` ${file}` : ''}:\n${problems.map((p) => `  - ${p.path || '(root)'}: ${p.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export type Environment = Readonly<Record<string, string | undefined>>;

/** `sources.crm.entities.contact.batch.maxBatchSize` style, with `[i]` for array indexes. */
function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : acc ? `${acc}.${String(key)}` : String(key)), '');
}

const ENV_REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replaces `${NAME}` and `${NAME:-default}` inside string values; a missing variable is a config error at that key.
 * Values stay text: where the schema expects a number or a boolean it reads one from the text (schema.ts), and a
 * secret that happens to be all digits stays the string it is.
 */
function interpolate(value: unknown, env: Environment, path: PropertyKey[], problems: { path: string; message: string }[]): unknown {
  if (typeof value === 'string') {
    return value.replace(ENV_REFERENCE, (_match, name: string, fallback: string | undefined) => {
      const found = env[name];
      if (found !== undefined && found !== '') return found;
      if (fallback !== undefined) return fallback;
      problems.push({ path: formatPath(path), message: `environment variable ${name} is not set` });
      return '';
    });
  }
  if (Array.isArray(value)) return value.map((item, i) => interpolate(item, env, [...path, i], problems));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, env, [...path, k], problems)]));
  }
  return value;
}

type Issue = ZodError['issues'][number];

/**
 * A union's own message ("Invalid input") hides which alternative nearly matched; report the issues of the
 * alternative that got furthest into the value, since that is the one the author meant.
 */
function explainIssue(issue: Issue, prefix: PropertyKey[] = []): { path: string; message: string }[] {
  const path = [...prefix, ...issue.path];
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    // Deepest first; among equally deep alternatives, the one with fewer complaints.
    const ranked = issue.errors
      .map((branch) => ({ branch, depth: Math.max(...branch.map(issueDepth)) }))
      .sort((a, b) => b.depth - a.depth || a.branch.length - b.branch.length);
    if (ranked[0]!.depth > 0) return ranked[0]!.branch.flatMap((inner) => explainIssue(inner, path));
  }
  return [{ path: formatPath(path), message: issue.message }];
}

function issueDepth(issue: Issue): number {
  const nested = issue.code === 'invalid_union' ? Math.max(0, ...issue.errors.flatMap((branch) => branch.map(issueDepth))) : 0;
  return issue.path.length + nested;
}

function zodProblems(error: ZodError): { path: string; message: string }[] {
  return error.issues.flatMap((issue) => explainIssue(issue));
}

/**
 * A file that names no link store gets PostgreSQL when `DATABASE_URL` is set (how platforms hand replicas
 * their database), else the SQLite default; a `linkStore` written in the file always wins.
 */
function withLinkStoreFromEnvironment(raw: unknown, env: Environment): unknown {
  const url = env.DATABASE_URL;
  if (!url || raw === null || typeof raw !== 'object' || Array.isArray(raw) || 'linkStore' in raw) return raw;
  return { ...raw, linkStore: { kind: 'postgres', url } };
}

/** `raw` with every `${NAME}` / `${NAME:-default}` filled from `env`: the document zod (and the JSON Schema) validate. */
export function fillEnvironment(raw: unknown, env: Environment = process.env, file?: string): unknown {
  const problems: { path: string; message: string }[] = [];
  const filled = interpolate(raw, env, [], problems);
  if (problems.length > 0) throw new ConfigError(problems, file);
  return filled;
}

/**
 * Validates an already-parsed config object (YAML or built in code). The extension SDL files it names are checked
 * against it above this layer, by whoever holds both: extensions/load-config.ts for the CLI, startHub for a hub.
 */
export function parseConfig(raw: unknown, env: Environment = process.env, file?: string): HubConfig {
  const filled = withLinkStoreFromEnvironment(fillEnvironment(raw, env, file), env);
  const result = configSchema.safeParse(filled);
  if (!result.success) throw new ConfigError([...zodProblems(result.error), ...unknownProfileFields(filled, file)], file);
  return withExtensionFolderResolved(result.data, file);
}

/**
 * With extensions, unknown profile mapping keys are judged against the extension SDL after the config is valid
 * (src/extensions/graph-extensions.ts); when it is not, they are still reported beside its other problems here.
 */
function unknownProfileFields(filled: unknown, file: string | undefined): ConfigProblem[] {
  const raw = filled as { schema?: { extensions?: unknown }; sources?: Record<string, { entities?: Record<string, { provides?: unknown; mapping?: unknown }> }> } | null;
  const folder = raw?.schema?.extensions;
  if (typeof folder !== 'string' || typeof raw?.sources !== 'object' || raw.sources === null) return [];
  const added = profileFieldsDeclaredIn(resolve(file ? dirname(file) : '.', folder));
  const core: readonly string[] = UNIFIED_TARGETS.profile;
  const problems: ConfigProblem[] = [];
  for (const [sourceName, source] of Object.entries(raw.sources)) {
    for (const [entityName, entity] of Object.entries(source?.entities ?? {})) {
      if (entity?.provides !== 'profile' || typeof entity.mapping !== 'object' || entity.mapping === null) continue;
      for (const key of Object.keys(entity.mapping)) {
        if (!core.includes(key) && !added.has(key)) problems.push({ path: `sources.${sourceName}.entities.${entityName}.mapping.${key}`, message: `unknown profile field "${key}"; expected one of: ${core.join(', ')}, or a field an extension adds to Profile` });
      }
    }
  }
  return problems;
}

/** `schema.extensions` as an absolute path: relative to the config file's folder (or, for configs built in code, to the working directory). */
function withExtensionFolderResolved(config: HubConfig, file: string | undefined): HubConfig {
  const folder = config.schema.extensions;
  if (!folder) return config;
  return { ...config, schema: { ...config.schema, extensions: resolve(file ? dirname(file) : '.', folder) } };
}

export function loadConfigFile(file: string, env: Environment = process.env): HubConfig {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError([{ path: '', message: `cannot read YAML: ${(error as Error).message}` }], file);
  }
  return parseConfig(raw, env, file);
}
