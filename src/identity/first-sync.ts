// A first sync (into a link table holding nothing plans read) plans on a copy in memory and writes it in bulk.
import { outcomeOf, withSuppressed, type Outcome } from '../errors/secondary-failure.js';
import type { ApplySummary, LinkService, VersionedChange } from './link-service.js';
import type { LinkOrigin } from './link-audit.js';
import { LinkTableMirror } from './link-table-mirror.js';
import type { BulkLinkWriter, LinkStore, SyncCursor } from './store.js';

/**
 * Records planned before the first bulk write. Later writes wait until as many records are planned as were written
 * (up to FIRST_SYNC_WRITE_MAX): a write's rows, in key order, land all over each B-tree whatever their number, so
 * writes of a fixed size would each rewrite most of a growing table (SQLite: 161 CPU-seconds at 100,000 people with
 * writes of 20,000 records). A crash loses the records planned since the last write (the cursor written is the
 * last written page's, and the next run resumes after it).
 */
const FIRST_SYNC_WRITE_RECORDS = 20_000;
/** At most this many records planned between two writes: what the pages kept for them hold in memory. */
const FIRST_SYNC_WRITE_MAX = 250_000;

/** What a sync pass applies its pages through: the link service, or a first sync. */
export interface PageApplier {
  apply(changes: readonly VersionedChange[], cursor: SyncCursor | undefined, origin: LinkOrigin): Promise<ApplySummary>;
}

interface PendingPage {
  changes: readonly VersionedChange[];
  summary: ApplySummary;
  cursor: SyncCursor | undefined;
  origin: LinkOrigin;
  announce: () => void;
}

/**
 * Pages applied through the same planner as always (`LinkService.planAndWrite`), in the same order, but against a
 * copy of the table in memory: the neighbourhood reads cost nothing, and the rows the plans leave are written in a
 * few large transactions (FIRST_SYNC_WRITE_RECORDS), a statement per table, instead of one per page. The table after each
 * write is the one the per-page path would have left after the same page (test/identity/first-sync.test.ts compares
 * them row by row). Caches are invalidated and subscribers told once a page's rows are written.
 *
 * The copy is true only while no one else writes the table: another write in this process (LinkService.writes) or,
 * on SQLite, another process's (its `data_version`) ends the bulk phase: the pages planned since the last write
 * are planned again on the table, and the pass goes on page by page. On PostgreSQL the writer holds the link lock
 * until the bulk phase ends, so other replicas' writes wait for it instead.
 */
export class FirstSync implements PageApplier {
  private mirror: LinkTableMirror | null = new LinkTableMirror();
  /** Pages planned on the copy and not yet handed to a write. */
  private pending: PendingPage[] = [];
  /**
   * The write under way, with its pages: the next pages are planned meanwhile (PostgreSQL works on its own core;
   * 20 of a 100,000-person sync's 71 s were spent waiting for it). At most one: the next write waits for it.
   */
  private inFlight: { pages: PendingPage[]; written: Promise<Outcome<boolean>> } | null = null;
  private writesSeen: number;
  /** Records handed to writes so far: the next write waits for as many more. */
  private recordsWritten = 0;

  private constructor(
    private readonly links: LinkService,
    private readonly writer: BulkLinkWriter,
    private readonly writeEvery: number,
  ) {
    this.writesSeen = links.writes;
  }

  /** A first sync of `store`, or null when it holds something plans read already (or has no bulk writer). */
  static async begin(links: LinkService, store: LinkStore, writeEvery = FIRST_SYNC_WRITE_RECORDS): Promise<FirstSync | null> {
    const writer = (await store.bulkWriter?.()) ?? null;
    return writer ? new FirstSync(links, writer, writeEvery) : null;
  }

  /** True while pages are planned on the copy in memory. */
  get bulk(): boolean {
    return this.mirror !== null;
  }

  async apply(changes: readonly VersionedChange[], cursor: SyncCursor | undefined, origin: LinkOrigin): Promise<ApplySummary> {
    if (this.mirror && this.links.writes !== this.writesSeen) await this.abandon();
    if (!this.mirror) return this.links.apply(changes, cursor, origin);
    const { summary, announce } = await this.links.planAndWrite(this.mirror, changes, cursor, origin, { uncounted: true });
    this.pending.push({ changes, summary, cursor, origin, announce });
    if (this.mirror.recordsPending >= Math.min(Math.max(this.writeEvery, this.recordsWritten), FIRST_SYNC_WRITE_MAX)) await this.startWrite();
    return summary;
  }

  /** Writes what was planned since the last write, and waits until it is in the table. */
  async write(): Promise<void> {
    await this.startWrite();
    await this.settle();
  }

  /** Writes what is planned and ends the bulk phase; the sync goes on through the link service. */
  async end(): Promise<void> {
    try {
      if (this.mirror) await this.write();
    } finally {
      if (this.mirror) {
        this.mirror = null;
        await this.writer.close();
      }
    }
  }

  /** Hands the pages planned since the last write to a write of their own, once the one under way is in. */
  private async startWrite(): Promise<void> {
    await this.settle();
    if (!this.mirror || this.pending.length === 0) return;
    if (this.links.writes !== this.writesSeen) {
      await this.abandon();
      return;
    }
    this.recordsWritten += this.mirror.recordsPending;
    // As an outcome: it waits unawaited until the next settle, which throws its error.
    this.inFlight = { pages: this.pending, written: outcomeOf(this.writer.write(this.mirror.takeRows())) };
    this.pending = [];
  }

  /**
   * Waits for the write under way: its pages are counted and announced once their rows are in the table. Refused
   * (the table moved under the copy), they and every page planned since are planned again on the table. Failed, the
   * bulk phase is over without another write (the copy holds rows the table lacks): the error is the sync's, and the
   * next run resumes after the last page written.
   */
  private async settle(): Promise<void> {
    const inFlight = this.inFlight;
    if (!inFlight) return;
    this.inFlight = null;
    const written = await inFlight.written;
    if (!written.ok) {
      this.pending = [];
      this.mirror = null;
      const closed = await outcomeOf(this.writer.close());
      throw closed.ok ? written.error : withSuppressed(written.error, closed.error);
    }
    if (!written.value) {
      this.pending = [...inFlight.pages, ...this.pending];
      await this.abandon();
      return;
    }
    for (const page of inFlight.pages) {
      this.links.countApplied(page.changes.length - page.summary.stale, page.summary.stale);
      page.announce();
    }
  }

  /**
   * The table moved under the copy: the pages planned on it and not written are planned again on the table, in
   * order, after the other write (as if they had come after it). The link counters count them then, once: pages
   * on the copy are counted only when written. (Their summaries, as the sync pass added them up, stay the copy's.)
   */
  private async abandon(): Promise<void> {
    // The write under way goes first: written, its pages stand; refused, settle abandons with them in front.
    if (this.inFlight) {
      await this.settle();
      if (!this.mirror) return;
    }
    const replay = this.pending;
    this.pending = [];
    this.mirror = null;
    await this.writer.close();
    for (const page of replay) await this.links.apply(page.changes, page.cursor, page.origin);
  }
}
