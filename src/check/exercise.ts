// Exercises every read a config declares against the live sources, read-only: lists to their end, read-backs, child lists, searches, path coverage.
import type { EntityConfig, HubConfig, SearchKind } from '../config/schema.js';
import { IdentityRules } from '../identity/identifiers.js';
import { searchValues } from '../identity/link-service.js';
import type { EntityReader, MappedRecord } from '../sources/connector.js';
import { SourceError } from '../sources/errors.js';
import type { UpstreamCall } from '../sources/http-client.js';
import { compileSingularPath } from '../expressions/json-path.js';
import { SourceRegistry } from '../sources/registry.js';
import { moreAfterLastPage, sourceTotal } from './continuation.js';
import { Findings, type Finding } from './findings.js';

export interface CheckOptions {
  /** Pages to read per list; undefined reads every page to the end (and only then compares counts and proves the end). */
  samplePages?: number;
  /** Listed records read back, searched for and measured per entity (default 50). */
  sampleRecords?: number;
}

interface ListRow {
  source: string;
  entity: string;
  pages: number;
  records: number;
  /** The list's size as the source counts it, when a page says. */
  sourceTotal: number | null;
  /** `end` (the source said no more), `sampled` (stopped at --sample), `failed`. */
  ended: 'end' | 'sampled' | 'failed';
  calls: number;
}

interface ReadRow {
  source: string;
  entity: string;
  /** `batch` or `single`: the read the hub uses for this entity. */
  operation: string;
  asked: number;
  found: number;
  calls: number;
  /** The fewest calls the endpoint allows for these keys: ceil(keys / maxBatchSize), or one per key. */
  ideal: number;
}

interface ChildRow {
  source: string;
  entity: string;
  parents: number;
  withChildren: number;
  children: number;
  calls: number;
}

interface SearchRow {
  source: string;
  entity: string;
  kind: SearchKind;
  /** The record whose identifier was searched for. */
  recordId: string;
  found: boolean;
  calls: number;
}

interface LookupRow {
  source: string;
  entity: string;
  /** The child record read by its own id, and the parent it was listed under. */
  recordId: string;
  parentId: string;
  found: boolean;
  calls: number;
}

interface PathRow {
  source: string;
  entity: string;
  /** `id`, `identifier email`, `mapping name`… */
  what: string;
  path: string;
  resolved: number;
  sampled: number;
}

export interface CheckReport {
  lists: ListRow[];
  reads: ReadRow[];
  children: ChildRow[];
  searches: SearchRow[];
  lookups: LookupRow[];
  paths: PathRow[];
  findings: Finding[];
}

/** A path resolving in fewer sampled records than this share is worth a look; in none, it is an error. */
const RARE_SHARE = 0.1;
/** With at least this many sampled parents and no child among them, the child read is taken to be wrong. */
const CHILDLESS_PARENTS = 10;

/** Counts one source's upstream calls per operation name (`contact.batch`…), for exact figures in the report. */
class CallCounter {
  private readonly counts = new Map<string, number>();
  readonly observe = (call: UpstreamCall) => this.counts.set(call.operation, (this.counts.get(call.operation) ?? 0) + 1);
  take(operation: string): number {
    const n = this.counts.get(operation) ?? 0;
    this.counts.delete(operation);
    return n;
  }
}

/** Keeps `size` items spread over a stream of unknown length (reservoir sampling, seeded: the same list gives the same sample). */
class Reservoir<T> {
  readonly items: T[] = [];
  private seen = 0;
  private state = 1;
  constructor(private readonly size: number) {}
  add(item: T): void {
    this.seen += 1;
    if (this.items.length < this.size) this.items.push(item);
    else {
      const j = Math.floor(this.random() * this.seen);
      if (j < this.size) this.items[j] = item;
    }
  }
  private random(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}

const present = (value: unknown) => value !== undefined && value !== null && value !== '' && !(Array.isArray(value) && value.length === 0);
const describe = (error: unknown) => (error instanceof SourceError ? `${error.code}: ${error.detail}` : error instanceof Error ? error.message : String(error));

interface Entity {
  source: string;
  entity: string;
  reader: EntityReader;
  config: EntityConfig;
}

/** Everything one linked entity's check needs from its list: a sample of raw records. */
interface Listed {
  sample: unknown[];
}

class SourceExercise {
  readonly report: CheckReport = { lists: [], reads: [], children: [], searches: [], lookups: [], paths: [], findings: [] };
  private readonly findings = new Findings();
  /** Sources are exercised at once, each with its own counter: entity names repeat across sources. */
  private readonly counters = new Map<string, CallCounter>();
  private readonly sampleRecords: number;
  private readonly rules: IdentityRules;

  constructor(
    private readonly config: HubConfig,
    private readonly registry: SourceRegistry,
    private readonly options: CheckOptions,
  ) {
    this.sampleRecords = options.sampleRecords ?? 50;
    this.rules = new IdentityRules(config.identity);
  }

  /** Every source at once, each source's entities one after another (a source's rate limit is shared by them). */
  async run(): Promise<CheckReport> {
    const sources = Object.keys(this.config.sources);
    await Promise.all(sources.map((source) => this.runSource(source)));
    // Reported in config order, whichever source finished first.
    const rank = (row: { source: string; entity: string }) => sources.indexOf(row.source) * 1000 + Object.keys(this.config.sources[row.source]!.entities).indexOf(row.entity);
    const inOrder = <T extends { source: string; entity: string }>(rows: T[]) => rows.map((row, i) => ({ row, i })).sort((a, b) => rank(a.row) - rank(b.row) || a.i - b.i).map(({ row }) => row);
    const { lists, reads, children, searches, lookups, paths } = this.report;
    Object.assign(this.report, { lists: inOrder(lists), reads: inOrder(reads), children: inOrder(children), searches: inOrder(searches), lookups: inOrder(lookups), paths: inOrder(paths), findings: inOrder(this.findings.all) });
    return this.report;
  }

  private calls(source: string): CallCounter {
    let counter = this.counters.get(source);
    if (!counter) this.counters.set(source, (counter = new CallCounter()));
    return counter;
  }

  private async runSource(source: string): Promise<void> {
    const entities = Object.entries(this.config.sources[source]!.entities);
    for (const [entity, config] of entities) {
      if (config.parent) continue;
      const at: Entity = { source, entity, reader: this.registry.reader(source, entity), config };
      const listed = await this.list(at);
      if (listed.sample.length === 0) continue;
      const records = await this.readBack(at, listed.sample);
      this.paths(at, listed.sample, records);
      for (const [childName, child] of entities) {
        if (child.parent === entity) await this.children({ source, entity: childName, reader: this.registry.reader(source, childName), config: child }, listed.sample.map((raw) => at.reader.recordIdOf(raw)).filter((id): id is string => id !== null));
      }
      for (const kind of Object.keys(config.search ?? {}) as SearchKind[]) await this.search(at, kind, listed.sample);
    }
  }

  /** Pages through the list (to its end, or --sample pages), proving it advances and ends, and comparing the count with the source's. */
  private async list(at: Entity): Promise<Listed> {
    const list = at.config.list;
    if (!list) {
      this.findings.add('warning', at, 'list', 'list', 'no list endpoint: sync cannot link this entity and check has no records to read back');
      return { sample: [] };
    }
    const reservoir = new Reservoir<unknown>(this.sampleRecords);
    const ids = new Set<string>();
    const row: ListRow = { source: at.source, entity: at.entity, pages: 0, records: 0, sourceTotal: null, ended: 'failed', calls: 0 };
    let duplicates = 0;
    let withoutId = 0;
    let last: { body: unknown; link: string | undefined; items: number } | undefined;
    const declaredTotal = list.pagination.style === 'offset' || list.pagination.style === 'page' ? list.pagination.totalPath : undefined;
    try {
      for await (const page of at.reader.listPages({ observe: this.calls(at.source).observe })) {
        row.pages += 1;
        if (row.pages === 1) row.sourceTotal = sourceTotal(page.body, declaredTotal)?.total ?? null;
        for (const item of page.items) {
          row.records += 1;
          const id = at.reader.recordIdOf(item);
          if (id === null) withoutId += 1;
          else if (ids.has(id)) duplicates += 1;
          else ids.add(id);
          reservoir.add(item);
        }
        last = { body: page.body, link: page.link, items: page.items.length };
        if (page.next === null) {
          row.ended = 'end';
          break;
        }
        if (this.options.samplePages !== undefined && row.pages >= this.options.samplePages) {
          row.ended = 'sampled';
          break;
        }
      }
    } catch (error) {
      this.findings.add('error', at, 'list', 'list.pagination', `the list failed after ${row.pages} pages and ${row.records} records: ${describe(error)}`);
    }
    row.calls = this.calls(at.source).take(`${at.entity}.list`);
    this.report.lists.push(row);
    if (withoutId > 0) this.findings.add('error', at, 'list', 'idPath', `${withoutId} of ${row.records} listed records have no id at "${at.config.idPath}"`);
    if (duplicates > 0) this.findings.add('error', at, 'list', 'list.pagination', `${duplicates} records were listed twice: pages overlap, so others may be skipped`);
    if (row.ended === 'end' && last) {
      const more = moreAfterLastPage(last.body, last.link);
      if (more !== null) {
        this.findings.add('error', at, 'list', 'list.pagination', `the list stopped after ${row.pages} pages and ${row.records} records, but its last page says more follow (${more}): check the cursor or next-page path`);
      } else if (row.sourceTotal !== null && row.sourceTotal !== ids.size) {
        this.findings.add('error', at, 'list', 'list.pagination', `the list ended with ${ids.size} records, but the source counts ${row.sourceTotal}`);
      } else if (row.sourceTotal === null && last.items === list.pageSize && row.pages === 1) {
        this.findings.add('warning', at, 'list', 'list.pagination', `the list ended after one full page of ${list.pageSize} records, and the source gives no total to confirm it`);
      }
    }
    return { sample: reservoir.items };
  }

  /** Reads the sampled records back by id through the hub's read (batch, else per key) and compares them with the listed ones. */
  private async readBack(at: Entity, sample: unknown[]): Promise<(MappedRecord | null)[]> {
    const operation = at.config.batch ? 'batch' : at.config.single ? 'single' : null;
    if (operation === null) return [];
    const ids = sample.map((raw) => at.reader.recordIdOf(raw)).filter((id): id is string => id !== null);
    const results: (MappedRecord | Error | null)[] = [];
    for (let i = 0; i < ids.length; i += at.reader.chunkSize) {
      const chunk = ids.slice(i, i + at.reader.chunkSize);
      // A whole request failing fails each of its keys: the check goes on with the next chunk and the other reads.
      results.push(...(await at.reader.fetchRecords(chunk, { observe: this.calls(at.source).observe }).catch((error: Error) => chunk.map(() => error))));
    }
    const calls = this.calls(at.source).take(`${at.entity}.${operation === 'batch' ? 'batch' : 'get'}`);
    const keysPerCall = at.config.batch?.maxBatchSize ?? 1;
    const row: ReadRow = { source: at.source, entity: at.entity, operation, asked: ids.length, found: 0, calls, ideal: Math.ceil(ids.length / keysPerCall) };
    const missing: string[] = [];
    const failed = new Map<string, string>();
    const disagreeing = new Map<string, number>();
    const records: (MappedRecord | null)[] = [];
    const fetchedAt = new Date().toISOString();
    results.forEach((result, i) => {
      const id = ids[i]!;
      if (result instanceof Error) {
        failed.set(id, describe(result));
        records.push(null);
        return;
      }
      if (result === null) {
        missing.push(id);
        records.push(null);
        return;
      }
      row.found += 1;
      records.push(result);
      let listedValues: Record<string, unknown>;
      try {
        listedValues = at.reader.toRecord(sample[i], fetchedAt).values;
      } catch {
        // The listed record's own mapping failure is reported by the path coverage below.
        return;
      }
      for (const [target, value] of Object.entries(result.values)) {
        if (JSON.stringify(value) !== JSON.stringify(listedValues[target])) disagreeing.set(target, (disagreeing.get(target) ?? 0) + 1);
      }
    });
    this.report.reads.push(row);
    if (missing.length > 0) this.findings.add('error', at, operation, operation, `${missing.length} of ${ids.length} listed records were not found by the ${operation} read, e.g. ${missing.slice(0, 3).join(', ')}`);
    if (failed.size > 0) {
      const [firstId, firstMessage] = [...failed][0]!;
      const kinds = new Set(failed.values()).size;
      this.findings.add('error', at, operation, operation, `${failed.size} of ${ids.length} listed records could not be read back${operation === 'batch' ? ' (partial batch)' : ''}: record ${firstId}: ${firstMessage}${kinds > 1 ? ` (and ${kinds - 1} other errors)` : ''}`);
    }
    for (const [target, n] of disagreeing) {
      this.findings.add('warning', at, operation, `mapping.${target}`, `"${target}" differs between the list and the ${operation} read for ${n} of ${row.found} records`);
    }
    if (calls > row.ideal) this.findings.add('warning', at, operation, operation, `${calls} calls read ${ids.length} records; the endpoint allows ${row.ideal}`);
    return records;
  }

  /** Reads the children of sampled parents, expecting some parent to have them. */
  private async children(at: Entity, parentIds: string[]): Promise<void> {
    const reader = at.reader;
    const results: (MappedRecord[] | Error)[] = [];
    for (let i = 0; i < parentIds.length; i += reader.chunkSize) {
      const chunk = parentIds.slice(i, i + reader.chunkSize);
      results.push(...(await reader.fetchChildren(chunk, { observe: this.calls(at.source).observe }).catch((error: Error) => chunk.map(() => error))));
    }
    const calls = this.calls(at.source).take(`${at.entity}.batch`) + this.calls(at.source).take(`${at.entity}.list`);
    const row: ChildRow = { source: at.source, entity: at.entity, parents: parentIds.length, withChildren: 0, children: 0, calls };
    const mapped: MappedRecord[] = [];
    const failed: string[] = [];
    let firstChild: { recordId: string; parentId: string; keys: string[] } | undefined;
    results.forEach((result, i) => {
      if (result instanceof Error) {
        failed.push(`${parentIds[i]}: ${describe(result)}`);
        return;
      }
      if (result.length > 0) row.withChildren += 1;
      const child = result[0];
      // A lookup takes the id a user holds: the record's own id, or the number people quote (an order's "#1001").
      firstChild ??= child && { recordId: child.recordId, parentId: parentIds[i]!, keys: [child.recordId, ...(typeof child.values.number === 'string' && child.values.number !== child.recordId ? [child.values.number] : [])] };
      row.children += result.length;
      mapped.push(...result);
    });
    this.report.children.push(row);
    const key = at.config.batch ? 'batch' : 'single';
    if (failed.length > 0) this.findings.add('error', at, 'children', key, `the children of ${failed.length} of ${parentIds.length} sampled parents could not be read: parent ${failed[0]}`);
    if (failed.length === 0 && row.children === 0 && row.parents >= CHILDLESS_PARENTS) {
      this.findings.add('error', at, 'children', key, `none of ${row.parents} sampled parents has a child: the request probably does not select by parent (check its path and query)`);
    }
    const cap = childReadCap(at.config);
    const full = cap ? results.filter((result) => Array.isArray(result) && result.length >= cap.size).length : 0;
    if (cap && full > 0) {
      // A child read that does not page returns at most one page: a parent with that many children may have more.
      this.findings.add(
        'warning',
        at,
        'children',
        cap.key,
        `${full} of ${parentIds.length} sampled parents have ${cap.size} children, as many as one read returns (${cap.param}=${cap.size}): any beyond are not read, since the child read does not page`,
      );
    }
    this.mappedCoverage(at, mapped);
    if (at.config.lookup && firstChild) await this.lookup(at, firstChild);
  }

  /** Reads a child record by the id a user holds (`lookup`: its own id, else its number), as customerByIdentity(SOURCE_RECORD) does, expecting the parent it was listed under. */
  private async lookup(at: Entity, child: { recordId: string; parentId: string; keys: string[] }): Promise<void> {
    let found = false;
    const answers: string[] = [];
    try {
      for (const key of child.keys) {
        const result = await at.reader.lookup(key, { observe: this.calls(at.source).observe });
        found = result?.parentId === child.parentId;
        if (found) break;
        answers.push(result === null ? `"${key}" was not found` : `"${key}" names parent ${result.parentId}`);
      }
      if (!found) this.findings.add('error', at, 'lookup', 'lookup', `child ${child.recordId}, listed under parent ${child.parentId}, cannot be looked up: ${answers.join('; ')}`);
    } catch (error) {
      this.findings.add('error', at, 'lookup', 'lookup', `looking up child ${child.recordId} failed: ${describe(error)}`);
    }
    this.report.lookups.push({ source: at.source, entity: at.entity, recordId: child.recordId, parentId: child.parentId, found, calls: this.calls(at.source).take(`${at.entity}.lookup`) });
  }

  /** Searches for a sampled record by its own identifier, as on-demand lookup would, expecting it back. */
  private async search(at: Entity, kind: SearchKind, sample: unknown[]): Promise<void> {
    const identifier = at.config.identifiers.find((i) => (kind === 'email_md5' ? i.kind === 'email_md5' || i.kind === 'email' : i.kind === kind));
    const operation = `search.${kind}`;
    if (!identifier) {
      this.findings.add('warning', at, operation, `search.${kind}`, `no ${kind} identifier is declared, so no listed value can be searched for`);
      return;
    }
    const read = compileSingularPath(identifier.path);
    const valueCase = at.config.search![kind]!.valueCase;
    // The values on-demand lookup would send for this record's identifier as typed: one code path with the hub's own.
    const valuesFor = (typed: string): string[] => {
      if (kind === 'email_md5' && identifier.kind === 'email_md5') return [typed.toLowerCase()];
      const [token] = this.rules.lookupTokens(kind === 'phone' ? 'phone' : 'email', typed);
      return token ? searchValues(kind, valueCase, token, typed) : [];
    };
    const candidates = sample.flatMap((raw) => {
      const value = read(raw);
      const recordId = at.reader.recordIdOf(raw);
      const values = typeof value === 'string' ? valuesFor(value.trim()) : [];
      return values.length > 0 && recordId !== null ? [{ typed: (value as string).trim(), values, recordId }] : [];
    });
    // A value typed unlike its normal form (capitals, punctuation) shows whether the search sends what the source matches on.
    const pick = candidates.find((c) => !c.values.includes(c.typed)) ?? candidates[0];
    if (!pick) {
      this.findings.add('warning', at, operation, 'identifiers', `no sampled record has a ${kind} to search for`);
      return;
    }
    let found = false;
    try {
      const hits = (await Promise.all(pick.values.map((value) => at.reader.search(kind, value, { observe: this.calls(at.source).observe })))).flat();
      found = hits.some((hit) => at.reader.recordIdOf(hit) === pick.recordId);
      if (!found) {
        this.findings.add('error', at, operation, `search.${kind}`, `searching for record ${pick.recordId}'s own ${kind} (valueCase ${valueCase}) did not return it (${hits.length} results): is the source's match case-sensitive, or the request template wrong?`);
      }
    } catch (error) {
      this.findings.add('error', at, operation, `search.${kind}`, `searching for record ${pick.recordId}'s ${kind} failed: ${describe(error)}`);
    }
    this.report.searches.push({ source: at.source, entity: at.entity, kind, recordId: pick.recordId, found, calls: this.calls(at.source).take(`${at.entity}.search`) });
  }

  /** Per identifier and id path over the listed sample, per mapped target over the records read: the share where it resolves. */
  private paths(at: Entity, sample: unknown[], records: (MappedRecord | null)[]): void {
    const measure = (what: string, path: string, key: string, values: unknown[]) => {
      const resolved = values.filter(present).length;
      this.report.paths.push({ source: at.source, entity: at.entity, what, path, resolved, sampled: values.length });
      this.judge(at, what, path, key, resolved, values.length);
    };
    const readId = compileSingularPath(at.config.idPath);
    measure('id', at.config.idPath, 'idPath', sample.map(readId));
    at.config.identifiers.forEach((identifier, i) => {
      const read = compileSingularPath(identifier.path);
      measure(`identifier ${identifier.kind}`, identifier.path, `identifiers.${i}.path`, sample.map(read));
    });
    // Mapped values as the hub serves them: from the read the hub uses, else from the list.
    const fetchedAt = new Date().toISOString();
    const mapped = records.some((r) => r !== null)
      ? records.filter((r): r is MappedRecord => r !== null)
      : sample.flatMap((raw) => {
          try {
            return [at.reader.toRecord(raw, fetchedAt)];
          } catch (error) {
            this.findings.add('error', at, 'paths', 'mapping', describe(error));
            return [];
          }
        });
    this.mappedCoverage(at, mapped);
  }

  private mappedCoverage(at: Entity, records: MappedRecord[]): void {
    if (records.length === 0) return;
    for (const [target, mapping] of Object.entries(at.config.mapping)) {
      const path = typeof mapping === 'string' ? mapping : mapping.path;
      const resolved = records.filter((r) => present(r.values[target])).length;
      this.report.paths.push({ source: at.source, entity: at.entity, what: `mapping ${target}`, path, resolved, sampled: records.length });
      this.judge(at, `mapping ${target}`, path, `mapping.${target}`, resolved, records.length);
    }
  }

  private judge(at: Entity, what: string, path: string, key: string, resolved: number, sampled: number): void {
    if (sampled === 0) return;
    if (resolved === 0) this.findings.add('error', at, 'paths', key, `${what} "${path}" resolves in none of ${sampled} sampled records`);
    else if (resolved / sampled < RARE_SHARE) this.findings.add('warning', at, 'paths', key, `${what} "${path}" resolves in only ${resolved} of ${sampled} sampled records`);
  }
}

/** Runs the whole check against live sources; the registry is closed afterwards. */
export async function exerciseSources(config: HubConfig, options: CheckOptions = {}): Promise<CheckReport> {
  const registry = new SourceRegistry(config);
  try {
    return await new SourceExercise(config, registry, options).run();
  } finally {
    await registry.close();
  }
}

/** Query parameters that cap how many items one read returns, as APIs name them. */
const PAGE_SIZE_PARAMS = new Set(['limit', 'per_page', 'perpage', 'page_size', 'pagesize', 'page[size]', 'size', 'count', 'max_results', 'maxresults', 'top', '$top']);

/**
 * The page size a per-parent child read asks for as a constant (`limit: "100"`, `?per_page=100` in its path), and
 * the key that sets it; undefined for batch reads and reads that name no size.
 */
function childReadCap(entity: EntityConfig): { param: string; size: number; key: string } | undefined {
  const single = entity.single;
  if (!single || entity.batch) return undefined;
  const q = single.path.indexOf('?');
  const fromPath = q < 0 ? [] : [...new URLSearchParams(single.path.slice(q + 1))].map(([name, value]) => ({ name, value, key: 'single.path' }));
  const fromQuery = Object.entries(single.query).map(([name, value]) => ({ name, value, key: `single.query.${name}` }));
  for (const { name, value, key } of [...fromQuery, ...fromPath]) {
    if (PAGE_SIZE_PARAMS.has(name.toLowerCase()) && /^\d+$/.test(value.trim())) return { param: name, size: Number(value), key };
  }
  return undefined;
}
