// Measures mapping suggestions against a config's own mappings: top-1 accuracy per mapped field, per source and overall.
import { isExtensionTarget, UNIFIED_TARGETS, type EntityConfig, type HubConfig } from '../config/schema.js';
import { sampleRecords } from './sample.js';
import { suggestMapping, suggestOptionsFor, type FieldSuggestion, type MappingSuggestion } from './suggest.js';

export interface FieldCheck {
  source: string;
  entity: string;
  /** `email`, or `lineItems.sku` for a line item field. */
  target: string;
  expected: string;
  /** The path of the top confident suggestion, or null when none was confident enough to be written. */
  suggested: string | null;
  correct: boolean;
}

interface AccuracyRow {
  source: string;
  fields: number;
  correct: number;
  accuracy: number;
}

export interface AccuracyReport {
  checks: FieldCheck[];
  perSource: AccuracyRow[];
  overall: AccuracyRow;
}

type EntityMapping = EntityConfig['mapping'];

function mappedPath(mapping: EntityMapping[string]): string {
  return typeof mapping === 'string' ? mapping : mapping.path;
}

function checksOf(source: string, entity: string, mapping: Record<string, EntityMapping[string]>, suggested: readonly FieldSuggestion[], prefix = ''): FieldCheck[] {
  return Object.entries(mapping).flatMap(([target, real]) => {
    const top = suggested.find((s) => s.target === target && s.confident);
    const expected = mappedPath(real);
    const check: FieldCheck = { source, entity, target: `${prefix}${target}`, expected, suggested: top?.path ?? null, correct: top?.path === expected };
    const nested = typeof real === 'object' && 'each' in real ? checksOf(source, entity, real.each as Record<string, EntityMapping[string]>, top?.each ?? [], `${target}.`) : [];
    return [check, ...nested];
  });
}

/** Each field the config maps, against the suggestion's top confident path for it. Pure. */
export function compareWithMapping(source: string, entity: string, mapping: EntityMapping, suggestion: MappingSuggestion): FieldCheck[] {
  return checksOf(source, entity, mapping, suggestion.fields);
}

function row(source: string, checks: readonly FieldCheck[]): AccuracyRow {
  const correct = checks.filter((c) => c.correct).length;
  return { source, fields: checks.length, correct, accuracy: checks.length === 0 ? 0 : correct / checks.length };
}

export function summarizeAccuracy(checks: readonly FieldCheck[]): AccuracyReport {
  const sources = [...new Set(checks.map((c) => c.source))];
  return {
    checks: [...checks],
    perSource: sources.map((source) => row(source, checks.filter((c) => c.source === source))),
    overall: row('overall', checks),
  };
}

/** The config with every mapping and identifier removed: the answer key kept out of the suggester's reach. */
function withoutMappings(config: HubConfig): HubConfig {
  const sources = Object.fromEntries(
    Object.entries(config.sources).map(([name, s]) => [name, { ...s, entities: Object.fromEntries(Object.entries(s.entities).map(([entity, e]) => [entity, { ...e, mapping: {}, identifiers: [] }])) }]),
  );
  return { ...config, sources };
}

/**
 * Samples every entity that has a mapping in `config` from its live source, suggests a mapping for it from
 * the sample alone (the entity's `provides` is the only thing read from its config) and scores it.
 */
export async function measureAccuracy(config: HubConfig, sampleSize: number): Promise<AccuracyReport> {
  const entities = Object.entries(config.sources).flatMap(([source, s]) =>
    Object.entries(s.entities).flatMap(([entity, e]) => {
      // The suggester knows the core shapes only: fields an extension declares (a Customer list, a Profile field) have
      // no answer it could give, so they are left out of its score.
      if (!e.provides || isExtensionTarget(e.provides)) return [];
      const known: readonly string[] = UNIFIED_TARGETS[e.provides];
      const mapping = Object.fromEntries(Object.entries(e.mapping).filter(([field]) => known.includes(field)));
      return Object.keys(mapping).length > 0 ? [{ source, entity, mapping }] : [];
    }),
  );
  const blind = withoutMappings(config);
  const checks: FieldCheck[] = [];
  // One entity at a time: a sample is a handful of requests, and sources are spared a burst from every entity at once.
  for (const { source, entity, mapping } of entities) {
    const { records } = await sampleRecords(blind, source, entity, sampleSize);
    const suggestion = suggestMapping(records, suggestOptionsFor(blind, source, entity));
    checks.push(...compareWithMapping(source, entity, mapping, suggestion));
  }
  return summarizeAccuracy(checks);
}
