// The link sync with a progress view: a bar on a terminal, one line per page where output is a log or a pipe.
import cliProgress from 'cli-progress';
import type { HubConfig } from '../config/schema.js';
import type { LinkStore } from '../identity/store.js';
import { syncLinks, type SyncSummary } from '../identity/sync.js';
import { createServices } from '../server/hub.js';
import { formatTable } from './table.js';

interface PageProgress {
  source: string;
  entity: string;
  records: number;
  pages: number;
}

/** What the sync reports as it goes: a bar on a terminal, one line per page where output is a log or a pipe. */
export interface ProgressView {
  page(progress: PageProgress, entityDone: boolean): void;
  stop(): void;
}

function terminalView(entities: number): ProgressView {
  const bar = new cliProgress.SingleBar(
    { format: 'syncing {bar} {value}/{total} entities | {records} records | {pages} pages', hideCursor: true, stream: process.stdout },
    cliProgress.Presets.shades_classic,
  );
  const records = new Map<string, number>();
  const pages = new Map<string, number>();
  let done = 0;
  bar.start(entities, 0, { records: 0, pages: 0 });
  const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  return {
    page(p, entityDone) {
      const key = `${p.source}.${p.entity}`;
      records.set(key, p.records);
      pages.set(key, p.pages);
      if (entityDone) done += 1;
      bar.update(done, { records: sum(records).toLocaleString('en-US'), pages: sum(pages) });
    },
    stop: () => bar.stop(),
  };
}

function lineView(): ProgressView {
  return {
    page(p, entityDone) {
      console.log(`  ${p.source}.${p.entity}: ${p.records} records in ${p.pages} pages${entityDone ? ', done' : ''}`);
    },
    stop() {},
  };
}

/** Entities the sync pages through: linked ones (no parent) with a list endpoint. */
function listedEntities(config: HubConfig): number {
  return Object.values(config.sources).reduce((n, s) => n + Object.values(s.entities).filter((e) => !e.parent && e.list).length, 0);
}

/** A bar when a person watches the terminal; plain lines when output goes to a log or a pipe, where a redrawn bar is noise. */
export function progressViewFor(config: HubConfig): ProgressView {
  return process.stdout.isTTY ? terminalView(listedEntities(config)) : lineView();
}

/**
 * Runs the sync with a progress view. Each page says whether it was its entity's last: the view cannot read that
 * back from the saved cursor, since a first sync writes its pages' rows and cursors in batches, after the page.
 */
export async function syncWithProgress(config: HubConfig, store: LinkStore, view: ProgressView, options: { full?: boolean } = {}): Promise<SyncSummary> {
  const services = createServices(config, store);
  try {
    return await syncLinks(
      { registry: services.registry, links: services.links, store },
      { full: options.full ?? false, onPage: (p) => view.page(p, p.last) },
    );
  } finally {
    view.stop();
    await services.registry.close();
  }
}

export function printSummary(summary: SyncSummary): void {
  console.log(`read ${summary.records} records: ${summary.customers} customers, ${summary.customersChanged} changed, ${summary.merges} merges, ${summary.conflicts} conflicts to review, in ${summary.ms} ms`);
  console.log(
    formatTable(
      ['entity', 'pass', 'records', 'pages', 'resumed', 'reconciled'],
      summary.entities.map((e) => [`${e.source}.${e.entity}`, e.mode === 'full' ? 'full' : `changed since ${e.since}`, e.records, e.pages, e.resumed ? 'yes' : 'no', e.reconciled]),
    ),
  );
}
