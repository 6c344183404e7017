// Writes a mapping suggestion as YAML ready to paste under a source entity, with each line's confidence as a comment.
import { stringify } from 'yaml';
import type { FieldSuggestion, IdentifierSuggestion, MappingSuggestion } from './suggest.js';

/** Below this fit, an inferred shape is more likely a guess than a description of the entity. */
const WEAK_FIT = 0.5;

/** A YAML scalar, quoted only when a plain one would read differently (`@timestamp`, `yes`, `#ref`). */
function scalar(value: string): string {
  return stringify(value).trimEnd();
}

function fieldValue(field: FieldSuggestion): string {
  return field.transform ? `{ path: ${scalar(field.path)}, transform: ${field.transform} }` : scalar(field.path);
}

function identifierValue(id: IdentifierSuggestion): string {
  return `{ kind: ${id.kind}, path: ${scalar(id.path)}${id.refersTo ? `, refersTo: ${id.refersTo}` : ''} }`;
}

interface Line {
  text: string;
  comment?: string;
}

/** Comments line up in one column, so the YAML reads as a table. */
function alignComments(lines: readonly Line[]): string {
  const width = Math.max(0, ...lines.filter((l) => l.comment).map((l) => l.text.length)) + 2;
  return lines.map((l) => (l.comment ? `${l.text.padEnd(width)}# ${l.comment}` : l.text)).join('\n');
}

function confidenceComment(field: { confidence: number; confident?: boolean }, reasons: readonly string[]): string {
  return `confidence ${field.confidence.toFixed(2)}${field.confident === false ? ' (low: check before use)' : ''}: ${reasons.join('; ')}`;
}

function fieldLines(field: FieldSuggestion, indent: string): Line[] {
  // A low-confidence suggestion is shown but commented out: pasting the block never maps a guess.
  const off = field.confident ? '' : '# ';
  const comment = confidenceComment(field, field.reasons);
  if (!field.each) return [{ text: `${indent}${off}${field.target}: ${fieldValue(field)}`, comment }];
  return [
    { text: `${indent}${off}${field.target}:`, comment },
    { text: `${indent}${off}  path: ${scalar(field.path)}` },
    // An `each:` (or `mapping:`) with every line commented out would read as null, which the config rejects.
    { text: `${indent}${off}  each:${field.each.some((f) => f.confident) ? '' : ' {}'}` },
    ...field.each.flatMap((item) => fieldLines(item, `${indent}${off}    `)),
  ];
}

export interface RenderContext {
  source: string;
  entity: string;
  /** Where the sample came from, e.g. `list GET /contacts`. */
  from: string;
}

export function renderSuggestion(suggestion: MappingSuggestion, context: RenderContext): string {
  const lines: Line[] = [
    { text: `# Suggested mapping for ${context.source}.${context.entity}, from ${suggestion.records} records (${context.from}).` },
    { text: `# Paste under sources.${context.source}.entities.${context.entity}; commented-out lines scored too low to trust.` },
  ];
  if (suggestion.shapeFrom === 'config') {
    lines.push({ text: `# Unified shape: ${suggestion.shape}, from the entity's "provides".` });
  } else {
    const fits = suggestion.shapeFits.map((f) => `${f.shape} ${f.fit.toFixed(2)}`).join(', ');
    lines.push({ text: `# Unified shape: ${suggestion.shape}, inferred: the entity has no "provides" (fit: ${fits}).` });
    if ((suggestion.shapeFits[0]?.fit ?? 0) < WEAK_FIT) {
      lines.push({ text: '# No shape fits well: an entity that only links records (a device list, say) needs identifiers, not provides or mapping.' });
    }
    lines.push({ text: `provides: ${suggestion.shape}` });
  }
  if (suggestion.identifiers.length > 0) {
    lines.push({ text: 'identifiers:' });
    for (const id of suggestion.identifiers) lines.push({ text: `  - ${identifierValue(id)}`, comment: `confidence ${id.confidence.toFixed(2)}: ${id.reason}` });
  }
  lines.push({ text: `mapping:${suggestion.fields.some((f) => f.confident) ? '' : ' {}'}` });
  for (const field of suggestion.fields) lines.push(...fieldLines(field, '  '));
  for (const target of suggestion.unmatched) lines.push({ text: `  # ${target}: no field in the sample fits` });
  return `${alignComments(lines)}\n`;
}
