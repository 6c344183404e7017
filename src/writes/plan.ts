// Which of a customer's linked records a write goes to, field by field: every record that holds a changed field and
// declares a write for it, or only the highest-ranked one where the field's policy says `systemOfRecord`.
import { ErrorCode } from '../errors/catalogue.js';
import type { Link } from '../identity/model.js';
import type { EntityWriter, WriteValues } from '../sources/entity-writer.js';
import type { SourceRegistry } from '../sources/registry.js';
import type { WriteField } from '../expressions/request-template.js';

/** One linked record that holds at least one changed field. */
export interface PlannedTarget {
  source: string;
  entity: string;
  recordId: string;
  /** Absent when the entity declares no write. */
  writer: EntityWriter | undefined;
  /** The changed fields written to this record (empty: the record is skipped). */
  fields: WriteField[];
  /** Changed fields the record holds but is not written: no declared write for them, or not its system of record. */
  skippedFields: WriteField[];
  /** Held fields its entity declares no write for (what production mode refuses). */
  undeclared: WriteField[];
  /** The values this record's request carries: `fields` only. */
  values: WriteValues;
  /** Why nothing is written, when `fields` is empty. */
  skipCode: typeof ErrorCode.NO_WRITE_OPERATION | typeof ErrorCode.NOT_SYSTEM_OF_RECORD | null;
}

const recordKey = (link: Pick<Link, 'source' | 'entity' | 'recordId'>) => `${link.source}\u0000${link.entity}\u0000${link.recordId}`;

/**
 * Plans a write of `values` over the customer's `links`. A record holds a field when its entity maps it (or its
 * write names it). Ranking for `systemOfRecord` follows `sourcePriority` (unlisted sources last), then the record
 * key, so the same customer always gets the same system of record; only records that can be written compete.
 */
export function planWrites(links: readonly Link[], values: WriteValues, registry: SourceRegistry, sourcePriority: readonly string[]): PlannedTarget[] {
  const changed = Object.keys(values) as WriteField[];
  const rank = (source: string) => {
    const i = sourcePriority.indexOf(source);
    return i < 0 ? Number.POSITIVE_INFINITY : i;
  };
  const ordered = [...links].sort((a, b) => rank(a.source) - rank(b.source) || (recordKey(a) < recordKey(b) ? -1 : recordKey(a) > recordKey(b) ? 1 : 0));
  const holders = ordered.flatMap((link) => {
    const connector = registry.connectors.get(link.source);
    const reader = connector?.entities.get(link.entity);
    if (!connector || !reader) return [];
    const writer = connector.writers.get(link.entity);
    const held = changed.filter((field) => Object.hasOwn(reader.config.mapping, field) || writer?.fields.has(field) === true);
    return held.length > 0 ? [{ link, writer, held }] : [];
  });
  // Per field, the first writable holder in rank order: the system of record for fields whose policy asks for it.
  const systemOfRecord = new Map<WriteField, string>();
  for (const { link, writer, held } of holders) {
    for (const field of held) if (writer?.fields.has(field) && !systemOfRecord.has(field)) systemOfRecord.set(field, recordKey(link));
  }
  const targets = holders.map(({ link, writer, held }): PlannedTarget => {
    const fields: WriteField[] = [];
    const undeclared: WriteField[] = [];
    const notSystemOfRecord: WriteField[] = [];
    for (const field of held) {
      if (!writer?.fields.has(field)) undeclared.push(field);
      else if (writer.policy(field) === 'systemOfRecord' && systemOfRecord.get(field) !== recordKey(link)) notSystemOfRecord.push(field);
      else fields.push(field);
    }
    const recordValues: WriteValues = {};
    for (const field of fields) (recordValues as Record<string, unknown>)[field] = values[field];
    return {
      source: link.source,
      entity: link.entity,
      recordId: link.recordId,
      writer,
      fields,
      skippedFields: [...undeclared, ...notSystemOfRecord],
      undeclared,
      values: recordValues,
      skipCode: fields.length > 0 ? null : undeclared.length > 0 ? ErrorCode.NO_WRITE_OPERATION : ErrorCode.NOT_SYSTEM_OF_RECORD,
    };
  });
  return targets.sort((a, b) => (recordKey(a) < recordKey(b) ? -1 : recordKey(a) > recordKey(b) ? 1 : 0));
}
