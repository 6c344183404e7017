// Proposes a field mapping (and identifiers) for a sample of a source's raw records onto a unified shape.
import { isExtensionTarget, RECORD_TARGETS, UNIFIED_TARGETS, type HubConfig, type UnifiedTarget } from '../config/schema.js';
import type { TransformName } from '../expressions/transform-names.js';
import { compactName, hasForeignContext, nameScore, nameTokens } from './synonyms.js';
import { shapeFields, targetSpec, type SuggestionShape } from './targets.js';
import { isEmailLike, isHex32, isPhoneLike, itemsAtPath, looksLikeMajorUnits, profileFields, uniquenessFactor, valueFit, type FieldProfile, type ValueKind } from './value-patterns.js';

/** At or above this, a suggestion is written as a mapping line; below it, commented out for a person to judge. */
export const CONFIDENT = 0.5;
/** Below this, a candidate is not worth showing at all. */
const WORTH_SHOWING = 0.2;
/** Kinds of value that point at a field even when its name says nothing (`x1` holding emails). */
const DISTINCTIVE_KINDS = new Set<ValueKind>(['email', 'phone', 'date', 'countryCode', 'currencyCode', 'boolean', 'stringList', 'objectList', 'personName', 'street', 'postalCode']);

export interface FieldSuggestion {
  target: string;
  path: string;
  transform?: TransformName;
  /** 0 to 1, from the name (60%) and the values (40%), lowered for paths often empty. */
  confidence: number;
  confident: boolean;
  reasons: string[];
  /** For `lineItems`: the mapping of each item. */
  each?: FieldSuggestion[];
}

export interface IdentifierSuggestion {
  kind: 'email' | 'phone' | 'email_md5' | 'reference';
  path: string;
  refersTo?: string;
  confidence: number;
  reason: string;
}

interface ShapeFit {
  shape: UnifiedTarget;
  /** Mean confidence of the shape's fields that found a confident match (0 for those that did not). */
  fit: number;
}

export interface MappingSuggestion {
  shape: UnifiedTarget;
  /** `config` when the entity's `provides` named the shape, `inferred` when the sample chose it. */
  shapeFrom: 'config' | 'inferred';
  /** Every shape's fit, best first, when the shape was inferred. */
  shapeFits: ShapeFit[];
  records: number;
  /** One per unified field that has a candidate, in the shape's field order. */
  fields: FieldSuggestion[];
  /** Unified fields no path could feed. */
  unmatched: string[];
  /** Email-, phone- and hash-like fields that could link records to customers (for linked shapes only). */
  identifiers: IdentifierSuggestion[];
}

export interface SuggestOptions {
  /** The entity's `provides`; inferred from the sample when absent. */
  shape?: UnifiedTarget;
  /** Region for reading phone numbers written without a country code (the config's `identity.defaultPhoneRegion`). */
  defaultPhoneRegion: string;
  /** Whether the entity's records are linked to customers (no parent entity): only those get identifiers. Default: its shape is per record. */
  linked?: boolean;
  /** The source sampled, so its own IDs are not taken for references to it. */
  source?: string;
  /** Other sources' linked entities by source name, so `metadata.crm_id` can be suggested as a reference to `crm.contact`. */
  referenceTargets?: Readonly<Record<string, string>>;
}

/**
 * The options a configured entity implies: its `provides`, the phone region, whether it is linked, and the
 * other sources its ID fields may refer to (each source's first linked entity).
 */
export function suggestOptionsFor(config: HubConfig, source: string, entity: string): SuggestOptions {
  const configured = config.sources[source]?.entities[entity];
  const referenceTargets = Object.fromEntries(
    Object.entries(config.sources).flatMap(([name, s]) => {
      const linked = Object.entries(s.entities).find(([, e]) => !e.parent);
      return linked ? [[name, linked[0]]] : [];
    }),
  );
  return {
    // An extension list's fields come from its SDL, which the suggester does not know: it suggests freely there.
    ...(configured?.provides && !isExtensionTarget(configured.provides) ? { shape: configured.provides } : {}),
    defaultPhoneRegion: config.identity.defaultPhoneRegion,
    linked: !configured?.parent,
    source,
    referenceTargets,
  };
}

interface Candidate {
  target: string;
  profile: FieldProfile;
  confidence: number;
  reasons: string[];
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

function scoreCandidate(shape: SuggestionShape, target: string, profile: FieldProfile, region: string): Candidate | null {
  const spec = targetSpec(shape, target);
  const name = nameScore(shape, target, profile.path);
  const values = valueFit(spec.kind, profile, region);
  if (values.score === 0) return null;
  let valueScore = values.score;
  const reasons = [name.reason, `values: ${values.reason}`];
  if (spec.unique && uniquenessFactor(profile) < 1) {
    valueScore *= uniquenessFactor(profile);
    reasons.push('few distinct values for a per-record field');
  }
  // Values alone are worth a hint only when they are distinctive: any short word passes for a first name.
  if (name.score === 0 && !DISTINCTIVE_KINDS.has(spec.kind)) return null;
  // Without any name evidence, matching values alone cannot reach the confident line: many fields hold dates.
  const blended = name.score > 0 ? 0.6 * name.score + 0.4 * valueScore : 0.3 * valueScore;
  const confidence = round(blended * (0.75 + 0.25 * profile.presence));
  if (profile.presence < 1) reasons.push(`${Math.round(profile.presence * 100)}% of records have it`);
  return confidence >= WORTH_SHOWING ? { target, profile, confidence, reasons } : null;
}

function transformFor(shape: SuggestionShape, target: string, profile: FieldProfile): TransformName | undefined {
  const { transform } = targetSpec(shape, target);
  if (transform === 'money-by-values') return looksLikeMajorUnits(profile) ? 'moneyMajor' : 'money';
  return transform;
}

/**
 * The best path per field: candidates are taken best first, each field and each path at most once, so a
 * path that fits two fields goes to the one it fits better.
 */
function assign(shape: SuggestionShape, profiles: readonly FieldProfile[], records: readonly unknown[], region: string): { fields: FieldSuggestion[]; unmatched: string[] } {
  const targets = shapeFields(shape);
  const candidates = targets
    .flatMap((target) => profiles.map((profile) => scoreCandidate(shape, target, profile, region)))
    .filter((c): c is Candidate => c !== null)
    .sort((a, b) => b.confidence - a.confidence || a.profile.path.length - b.profile.path.length || a.profile.path.localeCompare(b.profile.path));
  const chosen = new Map<string, Candidate>();
  const usedPaths = new Set<string>();
  for (const candidate of candidates) {
    if (chosen.has(candidate.target) || usedPaths.has(candidate.profile.path)) continue;
    chosen.set(candidate.target, candidate);
    usedPaths.add(candidate.profile.path);
  }
  const fields = targets.flatMap((target): FieldSuggestion[] => {
    const c = chosen.get(target);
    if (!c) return [];
    const transform = transformFor(shape, target, c.profile);
    const field: FieldSuggestion = { target, path: c.profile.path, ...(transform ? { transform } : {}), confidence: c.confidence, confident: c.confidence >= CONFIDENT, reasons: c.reasons };
    if (shape === 'orders' && target === 'lineItems') {
      const items = itemsAtPath(records, c.profile.path);
      field.each = assign('lineItems', profileFields(items), items, region).fields;
    }
    return [field];
  });
  return { fields, unmatched: targets.filter((t) => !chosen.has(t)) };
}

function shapeFit(shape: UnifiedTarget, fields: readonly FieldSuggestion[]): number {
  const total = fields.filter((f) => f.confident).reduce((sum, f) => sum + f.confidence, 0);
  return round(total / UNIFIED_TARGETS[shape].length);
}

/** Fields whose values could link a record to its customer: emails, phones, email hashes and other sources' IDs. */
function suggestIdentifiers(profiles: readonly FieldProfile[], options: SuggestOptions): IdentifierSuggestion[] {
  const found: IdentifierSuggestion[] = [];
  const share = (profile: FieldProfile, test: (v: unknown) => boolean) => (profile.values.length === 0 ? 0 : profile.values.filter(test).length / profile.values.length);
  for (const profile of profiles) {
    if (hasForeignContext(profile.path) || uniquenessFactor(profile) < 1) continue;
    const presence = 0.75 + 0.25 * profile.presence;
    const emails = share(profile, isEmailLike);
    const phones = share(profile, (v) => isPhoneLike(v, options.defaultPhoneRegion));
    const tokens = nameTokens(profile.path);
    if (emails >= 0.8) {
      found.push({ kind: 'email', path: profile.path, confidence: round(emails * presence), reason: `${Math.round(emails * 100)}% emails` });
    } else if (phones >= 0.8) {
      found.push({ kind: 'phone', path: profile.path, confidence: round(phones * presence), reason: `${Math.round(phones * 100)}% phone numbers` });
    } else if (share(profile, isHex32) >= 0.9 && /md5|hash/.test(compactName(profile.path))) {
      found.push({ kind: 'email_md5', path: profile.path, confidence: round(presence), reason: 'MD5 hashes named as a hash' });
    } else if (tokens.at(-1) === 'id' && options.referenceTargets) {
      // `metadata.crm_id`: an ID named after another configured source is that source's record ID.
      const other = Object.keys(options.referenceTargets).find((name) => name !== options.source && tokens.includes(name.toLowerCase()));
      if (other) found.push({ kind: 'reference', path: profile.path, refersTo: `${other}.${options.referenceTargets[other]}`, confidence: round(0.7 * presence), reason: `an ID named after source "${other}"` });
    }
  }
  const order = ['email', 'phone', 'email_md5', 'reference'];
  return found.sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind) || b.confidence - a.confidence);
}

/**
 * A mapping for `records` onto `options.shape`, or onto the shape they fit best when none is given. Pure:
 * the same sample always gives the same suggestion.
 */
export function suggestMapping(records: readonly unknown[], options: SuggestOptions): MappingSuggestion {
  const profiles = profileFields(records);
  const region = options.defaultPhoneRegion;
  const shapes = options.shape ? [options.shape] : (Object.keys(UNIFIED_TARGETS) as UnifiedTarget[]);
  const tried = shapes.map((shape) => ({ shape, ...assign(shape, profiles, records, region) })).map((t) => ({ ...t, fit: shapeFit(t.shape, t.fields) }));
  tried.sort((a, b) => b.fit - a.fit);
  const best = tried[0]!;
  const linked = options.linked ?? (RECORD_TARGETS as readonly string[]).includes(best.shape);
  return {
    shape: best.shape,
    shapeFrom: options.shape ? 'config' : 'inferred',
    shapeFits: options.shape ? [] : tried.map(({ shape, fit }) => ({ shape, fit })),
    records: records.length,
    fields: best.fields,
    unmatched: best.unmatched,
    identifiers: linked ? suggestIdentifiers(profiles, options) : [],
  };
}
