import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsPlugin from 'ajv-formats';
import { describe, expect, test } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { fillEnvironment, parseConfig } from '../../src/config/load.js';
import { configJsonSchema, keysWithoutDescription, type JsonSchema } from '../../src/config/json-schema.js';
import { CONFIG_SCHEMA_FILE, configReferenceFiles } from '../../src/config/reference-files.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SHIPPED_CONFIGS = ['config/demo.yaml', ...readdirSync(join(ROOT, 'config/recipes')).filter((f) => f.endsWith('.yaml')).map((f) => `config/recipes/${f}`)];

// ajv-formats is CommonJS: its default export arrives as the module object or as the plugin, depending on the loader.
const addFormats = ((addFormatsPlugin as unknown as { default?: typeof addFormatsPlugin }).default ?? addFormatsPlugin) as unknown as (ajv: Ajv2020) => Ajv2020;

function validatorFor(schema: JsonSchema) {
  // strict: an unknown keyword or format in the generated schema is an error here, as it would be silently ignored by editors.
  const ajv = addFormats(new Ajv2020({ strict: true, allErrors: true }));
  return ajv.compile(schema);
}

/** `${NAME:-default}` takes its default; a variable with none gets a fake value of the shape its name promises. */
function fakeEnvironment(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [, name] of text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)) {
    env[name!] = name!.endsWith('_URL') ? 'http://127.0.0.1:9' : name!.endsWith('_SHA256') ? '0'.repeat(64) : `fake-${name!.toLowerCase()}`;
  }
  return env;
}

describe('the config reference', () => {
  const schema = configJsonSchema();

  test.each(configReferenceFiles().map((file) => [file.path, file.content] as const))('%s is what `npm run config:reference` writes from the schema', (path, content) => {
    expect(readFileSync(join(ROOT, path), 'utf8'), `${path} is stale: run npm run config:reference`).toBe(content);
  });

  test('every key of the config has a description', () => {
    expect(keysWithoutDescription(schema)).toEqual([]);
  });

  test('a key without a description is found, in objects, maps, lists and unions', () => {
    const undescribed: JsonSchema = {
      type: 'object',
      properties: {
        a: { type: 'string', description: 'described' },
        b: { type: 'string' },
        m: { description: 'a map', type: 'object', additionalProperties: { type: 'object', properties: { c: { type: 'integer' } } } },
        l: { description: 'a list', type: 'array', items: { anyOf: [{ type: 'object', properties: { d: { description: ' ' } } }, { type: 'string' }] } },
      },
    };
    expect(keysWithoutDescription(undescribed)).toEqual(['b', 'm.<name>.c', 'l[]|0.d']);
  });

  test('the reference lists every key of every section with its type, default and description', () => {
    const reference = readFileSync(join(ROOT, 'docs/config-reference.md'), 'utf8');
    expect(reference).toContain('| `maxBatchSize` | integer | > 0 | *required* | The most ids one request may carry. |');
    expect(reference).toContain('| `port` | integer | 0 to 65535 | `4000` | The port to listen on; 0 picks a free one. |');
    expect(reference).toContain('| `valueCase` | string | `"normalized"`, `"as-typed"`, `"both"` | `"normalized"` |');
    expect(reference).toMatch(/#### `sources\.<source>\.entities\.<entity>\.list\.pagination` \(style: linkHeader\)/);
  });
});

describe('the shipped configs', () => {
  const validate = validatorFor(configJsonSchema());

  test.each(SHIPPED_CONFIGS)('%s names the JSON Schema on its first line, by a path that leads to it', (file) => {
    const firstLine = readFileSync(join(ROOT, file), 'utf8').split('\n')[0]!;
    const named = /^# yaml-language-server: \$schema=(\S+)$/.exec(firstLine)?.[1];
    expect(named, firstLine).toBeDefined();
    expect(relative(ROOT, resolve(dirname(join(ROOT, file)), named!))).toBe(CONFIG_SCHEMA_FILE);
  });

  test.each(SHIPPED_CONFIGS)('%s is valid by the JSON Schema as written, and once its environment is filled in, by the JSON Schema and by zod', (file) => {
    const text = readFileSync(join(ROOT, file), 'utf8');
    const raw = parseYaml(text) as unknown;
    expect(validate(raw), JSON.stringify(validate.errors)).toBe(true);
    const env = fakeEnvironment(text);
    const filled = fillEnvironment(raw, env, file);
    expect(validate(filled), JSON.stringify(validate.errors)).toBe(true);
    expect(() => parseConfig(raw, env, file)).not.toThrow();
  });
});

describe('the JSON Schema agrees with zod on what a config may hold', () => {
  const validate = validatorFor(configJsonSchema());
  const demo = () => fillEnvironment(parseYaml(readFileSync(join(ROOT, 'config/demo.yaml'), 'utf8')), {}) as Record<string, any>;

  test.each<[string, (config: Record<string, any>) => void, boolean]>([
    ['the demo as it is', () => {}, true],
    ['a port written as text', (c) => (c.server.port = ' 4001 '), true],
    ['a flag written as text', (c) => (c.server.subscriptions = { enabled: 'false' }), true],
    ['a port out of range', (c) => (c.server.port = 70_000), false],
    ['a number that is not one', (c) => (c.sources.crm.timeoutMs = 'soon'), false],
    ['an unknown key (a typo)', (c) => (c.sources.crm.timeoutMS = 1000), false],
    ['an unknown pagination style', (c) => (c.sources.crm.entities.contact.list.pagination = { style: 'scroll' }), false],
    ['a batch without maxBatchSize', (c) => delete c.sources.crm.entities.contact.batch.maxBatchSize, false],
    ['an unknown auth type', (c) => (c.sources.crm.auth = { type: 'digest', token: 'x' }), false],
    ['a body template of any JSON shape', (c) => (c.sources.crm.entities.contact.batch = { ...c.sources.crm.entities.contact.batch, method: 'POST', body: { inputs: [{ id: '{id}' }], n: 1, ok: true, none: null } }), true],
  ])('%s', (_name, change, valid) => {
    const config = demo();
    change(config);
    expect(validate(config), JSON.stringify(validate.errors)).toBe(valid);
    // Read as config/demo.yaml, whose extension folder (schema.extensions) is named relative to it.
    expect(() => parseConfig(config, {}, join(ROOT, 'config/demo.yaml'))).toSatisfy((run: () => unknown) => {
      try {
        run();
        return valid;
      } catch {
        return !valid;
      }
    });
  });
});
