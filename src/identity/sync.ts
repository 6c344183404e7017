// Builds the identity-link table: pages through every linked entity's list endpoint and links the records.
import type { HubConfig } from '../config/schema.js';
import type { SourceRegistry } from '../sources/registry.js';
import { BlockedValues, compileIdentifierExtractor } from './identifiers.js';
import { linkRecords, type LinkableRecord } from './linker.js';
import type { LinkStore, ReplaceSummary } from './store.js';

export interface SyncSummary extends ReplaceSummary {
  recordsBySource: Record<string, number>;
  pages: number;
  ms: number;
}

export async function syncLinks(config: HubConfig, registry: SourceRegistry, store: LinkStore): Promise<SyncSummary> {
  const started = performance.now();
  const rules = { defaultPhoneRegion: config.identity.defaultPhoneRegion, blocked: new BlockedValues(config.identity) };
  const recordsBySource: Record<string, number> = {};
  let pages = 0;
  const perEntity = await Promise.all(
    registry.linkedEntities().map(async ({ source, entity, reader }) => {
      const records: LinkableRecord[] = [];
      if (!reader.config.list) return records;
      const extract = compileIdentifierExtractor(reader.config, rules);
      for await (const page of reader.listPages()) {
        pages += 1;
        for (const raw of page) {
          const recordId = reader.recordIdOf(raw);
          if (recordId === null) continue;
          const record: LinkableRecord = { source, entity, recordId, identifiers: [], references: [] };
          extract(raw, record);
          records.push(record);
        }
      }
      recordsBySource[source] = (recordsBySource[source] ?? 0) + records.length;
      return records;
    }),
  );
  const snapshot = linkRecords(perEntity.flat(), await store.currentAssignments());
  const summary = await store.replaceAll(snapshot);
  return { ...summary, recordsBySource, pages, ms: Math.round(performance.now() - started) };
}
