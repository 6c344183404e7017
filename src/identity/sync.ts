// Builds and refreshes the link table by paging through every linked entity, resumably, through the LinkService.
import type { SyncSchedule } from '../config/schema.js';
import { outcomeOf, valueOf, withSuppressed } from '../errors/secondary-failure.js';
import { compileSingularPath } from '../expressions/json-path.js';
import type { SourceRegistry } from '../sources/registry.js';
import { FirstSync, type PageApplier } from './first-sync.js';
import type { LinkService, VersionedChange } from './link-service.js';
import type { LinkStore, SyncCursor } from './store.js';

interface EntitySyncSummary {
  source: string;
  entity: string;
  records: number;
  pages: number;
  /** True when this run continued a pass an earlier run left unfinished. */
  resumed: boolean;
  /** `full` reads every record (and, unless resumed, reconciles deletions); `incremental` only those changed since `since`. */
  mode: 'full' | 'incremental';
  /** The modified-since value an incremental pass sent; null on a full pass. */
  since: string | null;
  /** Records of an entity with `sync.modifiedSince` holding no readable change time: linked, but they cannot move the next pass's `since`. */
  undated: number;
  /** Links removed because this complete pass no longer listed their records (0 after a resumed pass: it saw only part). */
  reconciled: number;
}

export interface SyncSummary {
  entities: EntitySyncSummary[];
  records: number;
  customersChanged: number;
  merges: number;
  splits: number;
  conflicts: number;
  /** Records ignored because the table already held that version or a newer one (a webhook was faster). */
  stale: number;
  reconciled: number;
  customers: number;
  ms: number;
}

export interface SyncOptions {
  /** Reads every record of every entity and reconciles deletions, whatever `sync.fullEvery` says (`rosetta sync --full`). */
  full?: boolean;
  /** The clock `sync.fullEvery` is measured on (tests move it). */
  now?: () => Date;
  /**
   * Called after each page is linked (and, page by page, its cursor saved; a first sync saves it with the bulk write
   * that follows, which a failure makes at once); throwing here stops the sync like a crash would.
   */
  /** false: page by page even into an empty table (the first-sync bulk path off). */
  bulk?: boolean;
  /** Records a first sync plans between two bulk writes (first-sync.ts FIRST_SYNC_WRITE_RECORDS; tests make it small). */
  bulkWriteEvery?: number;
  onPage?: (progress: { source: string; entity: string; records: number; pages: number; last: boolean }) => void;
}

/**
 * One pass over every linked entity, in config order, each page applied in order while the next is fetched.
 * Applying in a fixed order makes a fresh build deterministic: the same data gives the same customer IDs,
 * evidence and merges on every machine (in parallel, whichever source answered first would seed customers).
 * Each page's links and the cursor after it are written in one transaction (a first sync writes several pages' in
 * one, first-sync.ts), so a crash loses no written page and the next run resumes after the last one. A completed pass leaves the cursor empty: the next run starts
 * over, and records that did not change change nothing.
 */
export function syncLinks(services: { registry: SourceRegistry; links: LinkService; store: LinkStore }, options: SyncOptions = {}): Promise<SyncSummary> {
  // One sync at a time across every process sharing the store: two passes would each reconcile against half a view.
  return services.store.withSyncLock(() => syncPass(services, options));
}

/**
 * A sync into a table holding nothing plans read (a first sync) plans on a copy in memory and writes in bulk
 * (first-sync.ts); `bulk: false` makes it go page by page, as every other sync does (tests compare the two).
 * Whatever was planned is written before the pass returns or throws.
 */
async function syncPass(services: { registry: SourceRegistry; links: LinkService; store: LinkStore }, options: SyncOptions): Promise<SyncSummary> {
  const firstSync = options.bulk === false ? null : await FirstSync.begin(services.links, services.store, options.bulkWriteEvery);
  if (!firstSync) return passOver(services, services.links, options);
  let summary: SyncSummary;
  try {
    summary = await passOver(services, firstSync, options);
  } catch (error) {
    const ended = await outcomeOf(firstSync.end());
    throw ended.ok ? error : withSuppressed(error, ended.error);
  }
  await firstSync.end();
  return summary;
}

/**
 * A complete pass (every page read without error, from the first) also reconciles: records the source no longer
 * lists lose their links through the planner. A resumed pass saw only its tail, so it deletes nothing.
 */
async function passOver({ registry, links, store }: { registry: SourceRegistry; links: LinkService; store: LinkStore }, applier: PageApplier, options: SyncOptions): Promise<SyncSummary> {
  const started = performance.now();
  const totals = { customersChanged: 0, merges: 0, splits: 0, conflicts: 0, stale: 0 };
  const entities: EntitySyncSummary[] = [];
  const now = options.now ?? (() => new Date());
  /** Complete passes of a first sync still in its bulk phase at their end: reconciled only if it is given up. */
  const unreconciled: { summary: EntitySyncSummary; listed: ReadonlySet<string>; passStartedAt: string }[] = [];
  for (const { source, entity, reader } of registry.linkedEntities()) {
    const summary: EntitySyncSummary = { source, entity, records: 0, pages: 0, resumed: false, reconciled: 0, mode: 'full', since: null, undated: 0 };
    const listed = new Set<string>();
    entities.push(summary);
    if (!reader.config.list) continue;
    const saved = await store.getSyncCursor(source, entity);
    const pass = passOf(saved, reader.config.sync, options.full === true, now());
    summary.resumed = pass.resumed;
    summary.mode = pass.since === null ? 'full' : 'incremental';
    summary.since = pass.since;
    const changedAt = reader.config.sync?.modifiedSince ? changeTimeReader(reader.config.sync.modifiedSince) : null;
    let watermark = pass.watermark;
    const passStartedAt = pass.resumed ? saved!.passStartedAt : now().toISOString();
    const pages = reader.listPages({ resumeFrom: pass.resumed ? saved!.cursor : null, ...(pass.since === null ? {} : { since: pass.since }) });
    // Pages arrive as outcomes, so the page fetched ahead never goes unhandled while this one is linked; reading
    // its value still throws its error.
    let next = outcomeOf(pages.next());
    try {
      for (;;) {
        const result = valueOf(await next);
        if (result.done) break;
        const page = result.value;
        // Fetch the following page while this one is linked: the source's latency hides behind our CPU.
        if (page.next !== null) next = outcomeOf(pages.next());
        const changes: VersionedChange[] = [];
        for (const raw of page.items) {
          if (changedAt) {
            const at = changedAt(raw);
            if (at === null) summary.undated += 1;
            else if (watermark === null || at > watermark) watermark = at;
          }
          const change = links.upsertOf(source, entity, raw);
          if (!change) continue;
          changes.push(change);
          if ('upsert' in change) listed.add(change.upsert.recordId);
        }
        const completedAt = page.next === null ? now().toISOString() : null;
        // Only a full pass that saw every record from the first page reconciles: it alone restarts the `fullEvery` clock.
        const reconciles = pass.since === null && !pass.resumed;
        const cursor: SyncCursor = {
          source, entity, cursor: page.next, passStartedAt, completedAt, since: pass.since, watermark,
          fullCompletedAt: completedAt !== null && reconciles ? completedAt : pass.fullCompletedAt,
        };
        const applied = await applier.apply(changes, cursor, { actor: 'sync', requestId: `sync:${source}.${entity}:${passStartedAt}` });
        totals.customersChanged += applied.customersChanged;
        totals.merges += applied.merges;
        totals.splits += applied.splits;
        totals.conflicts += applied.conflicts;
        totals.stale += applied.stale;
        summary.records += changes.length;
        summary.pages += 1;
        options.onPage?.({ source, entity, records: summary.records, pages: summary.pages, last: page.next === null });
        if (page.next === null) break;
      }
    } catch (error) {
      // Nothing of this sync may still be running once it has failed: wait for the page fetched ahead, and keep its
      // own failure (if it is another one) on the error thrown.
      const ahead = await next;
      throw ahead.ok ? error : withSuppressed(error, ahead.error);
    }
    // Lets the generator finish (and release its request state) when the loop left it at its last page.
    await pages.return(undefined);
    // An incremental pass lists only what changed: the records it did not list are not gone, so it deletes nothing.
    if (summary.resumed || summary.mode !== 'full') continue;
    // While a first sync's copy is the table, every link of this entity came from this pass (linked after it began):
    // nothing to reconcile, and no need to wait for the write under way. Should the copy be given up before the end
    // (another writer), it is reconciled then, as it would have been here.
    if (applier instanceof FirstSync && applier.bulk) unreconciled.push({ summary, listed, passStartedAt });
    else summary.reconciled = await links.reconcile(source, entity, listed, passStartedAt, applier);
  }
  if (applier instanceof FirstSync) {
    await applier.write();
    if (!applier.bulk) for (const { summary, listed, passStartedAt } of unreconciled) summary.reconciled = await links.reconcile(summary.source, summary.entity, listed, passStartedAt, applier);
  }
  return {
    entities,
    records: entities.reduce((n, e) => n + e.records, 0),
    ...totals,
    reconciled: entities.reduce((n, e) => n + e.reconciled, 0),
    customers: await store.countCustomers(),
    ms: Math.round(performance.now() - started),
  };
}

/** What a pass of one entity does: resume the unfinished one, or start a full or an incremental one. */
interface PassPlan {
  resumed: boolean;
  /** The modified-since value sent; null: a full pass. */
  since: string | null;
  /** The latest change time read so far (ISO), carried on to the cursor. */
  watermark: string | null;
  fullCompletedAt: string | null;
}

/**
 * An unfinished pass is resumed as it began (a `--full` run abandons an unfinished incremental one). A new pass is
 * incremental only when the entity declares `sync.modifiedSince`, an earlier pass completed with a change time to
 * start from, a full pass has reconciled within `fullEvery`, and `--full` was not asked for.
 */
function passOf(saved: SyncCursor | null, schedule: SyncSchedule | undefined, forceFull: boolean, now: Date): PassPlan {
  const unfinished = saved !== null && saved.completedAt === null && saved.cursor !== null;
  if (unfinished && !(forceFull && saved.since != null)) {
    return { resumed: true, since: saved.since ?? null, watermark: saved.watermark ?? null, fullCompletedAt: saved.fullCompletedAt ?? null };
  }
  const fullCompletedAt = saved?.fullCompletedAt ?? null;
  const filter = schedule?.modifiedSince;
  const lastCompleted = saved !== null && saved.completedAt !== null ? saved : null;
  const fullDue = (every: number) => fullCompletedAt === null || now.getTime() - Date.parse(fullCompletedAt) >= every;
  if (!filter || forceFull || !lastCompleted?.watermark || fullDue(schedule!.fullEvery)) return { resumed: false, since: null, watermark: null, fullCompletedAt };
  const since = filter.format === 'unix' ? String(Math.floor(Date.parse(lastCompleted.watermark) / 1000)) : lastCompleted.watermark;
  return { resumed: false, since, watermark: lastCompleted.watermark, fullCompletedAt };
}

/** Reads a record's change time (`sync.modifiedSince.field`) as ISO text; null when it holds none the format reads. */
function changeTimeReader(filter: NonNullable<SyncSchedule['modifiedSince']>): (raw: unknown) => string | null {
  const read = compileSingularPath(filter.field);
  return (raw) => {
    const value = read(raw);
    let ms: number;
    if (filter.format === 'unix') ms = (typeof value === 'number' || (typeof value === 'string' && value.trim() !== '') ? Number(value) : NaN) * 1000;
    else ms = typeof value === 'string' ? Date.parse(value) : NaN;
    return Number.isFinite(ms) ? new Date(ms).toISOString() : null;
  };
}
