// The per-request explain report: resolved fields as a tree, the upstream calls each caused, cache use and timings.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { GraphQLResolveInfo } from 'graphql';
import type { UpstreamCall } from '../sources/http-client.js';
import type { CacheLookup } from '../sources/record-cache.js';

/**
 * The field whose resolver is running. DataLoader runs a batch in a job queued by the first `load()` of a
 * tick, so an upstream call inherits the async context of the field that first asked for one of its keys.
 */
const currentField = new AsyncLocalStorage<string>();

export interface ExplainedCall extends UpstreamCall {
  /** The field path (list indexes dropped) that caused the call, e.g. `customers.edges.node.orders`. */
  field: string | null;
}

/** What one loader batch found in the record cache, and the field that asked. */
export interface ExplainedCacheLookup extends CacheLookup {
  field: string | null;
}

interface FieldStats {
  resolutions: number;
  totalMs: number;
  maxMs: number;
}

export interface PlanNode {
  field: string;
  path: string;
  resolutions: number;
  totalMs: number;
  maxMs: number;
  upstream: { source: string; operation: string; calls: number; keys: number; ms: number }[];
  /** Keys the record cache answered (or missed) for this field: why a field made fewer upstream calls, or none. */
  recordCache?: CacheLookup[];
  children: PlanNode[];
}

const round = (ms: number) => Math.round(ms * 100) / 100;

/** `customers.edges.0.node.profile` → `customers.edges.node.profile`. */
function fieldPathOf(info: Pick<GraphQLResolveInfo, 'path'>): string {
  const keys: string[] = [];
  for (let p: GraphQLResolveInfo['path'] | undefined = info.path; p; p = p.prev) if (typeof p.key === 'string') keys.push(p.key);
  return keys.reverse().join('.');
}

export class ExplainPlan {
  readonly upstream: ExplainedCall[] = [];
  readonly cacheLookups: ExplainedCacheLookup[] = [];
  private readonly fields = new Map<string, FieldStats>();
  private readonly started = performance.now();

  /** Called just before a resolver runs; returns the callback for when its value is ready. */
  enterField(info: GraphQLResolveInfo): () => void {
    const path = fieldPathOf(info);
    // Binds the resolver that runs next in this synchronous frame (and the async work it starts) to its field.
    currentField.enterWith(path);
    const started = performance.now();
    return () => {
      const ms = performance.now() - started;
      const stats = this.fields.get(path) ?? { resolutions: 0, totalMs: 0, maxMs: 0 };
      stats.resolutions += 1;
      stats.totalMs += ms;
      stats.maxMs = Math.max(stats.maxMs, ms);
      this.fields.set(path, stats);
    };
  }

  recordCall(call: UpstreamCall): void {
    this.upstream.push({ ...call, field: currentField.getStore() ?? null });
  }

  /** Attributed like an upstream call: a loader batch runs in the context of the field that first asked. */
  recordCacheLookup(lookup: CacheLookup): void {
    this.cacheLookups.push({ ...lookup, field: currentField.getStore() ?? null });
  }

  /** Fields that took no time and caused no call are left out, so the tree shows where the work was. */
  tree(): PlanNode[] {
    const roots: PlanNode[] = [];
    const nodes = new Map<string, PlanNode>();
    const nodeFor = (path: string): PlanNode => {
      let node = nodes.get(path);
      if (node) return node;
      const cut = path.lastIndexOf('.');
      const stats = this.fields.get(path) ?? { resolutions: 0, totalMs: 0, maxMs: 0 };
      node = { field: path.slice(cut + 1), path, resolutions: stats.resolutions, totalMs: round(stats.totalMs), maxMs: round(stats.maxMs), upstream: [], children: [] };
      nodes.set(path, node);
      if (cut < 0) roots.push(node);
      else nodeFor(path.slice(0, cut)).children.push(node);
      return node;
    };
    const interesting = new Set<string>();
    for (const call of this.upstream) if (call.field) interesting.add(call.field);
    for (const lookup of this.cacheLookups) if (lookup.field) interesting.add(lookup.field);
    for (const [path, stats] of this.fields) if (stats.maxMs >= 1 || !path.includes('.')) interesting.add(path);
    for (const path of [...interesting].sort()) nodeFor(path);
    for (const call of this.upstream) {
      if (!call.field) continue;
      const node = nodeFor(call.field);
      let entry = node.upstream.find((u) => u.source === call.source && u.operation === call.operation);
      if (!entry) node.upstream.push((entry = { source: call.source, operation: call.operation, calls: 0, keys: 0, ms: 0 }));
      entry.calls += 1;
      entry.keys += call.keys;
      entry.ms = round(Math.max(entry.ms, call.ms));
    }
    for (const { field, ...lookup } of this.cacheLookups) {
      if (!field) continue;
      const node = nodeFor(field);
      const entries = (node.recordCache ??= []);
      const entry = entries.find((e) => e.source === lookup.source && e.entity === lookup.entity);
      if (!entry) entries.push(lookup);
      else {
        entry.fresh += lookup.fresh;
        entry.stale += lookup.stale;
        entry.misses += lookup.misses;
        entry.shared += lookup.shared;
      }
    }
    return roots;
  }

  report(linkCache: { hits: number; lookups: number }): Record<string, unknown> {
    return {
      totalMs: round(performance.now() - this.started),
      upstream: this.upstream,
      linkCache: { hits: linkCache.hits, misses: linkCache.lookups - linkCache.hits },
      // Only on hubs that cache records: keys answered fresh, stale (refreshed in the background), missed, or shared
      // (missed, but answered by a read another query already had in flight).
      ...(this.cacheLookups.length > 0 ? { recordCache: this.recordCacheTotals() } : {}),
      plan: this.tree(),
    };
  }

  private recordCacheTotals(): { fresh: number; stale: number; misses: number; shared: number } {
    const totals = { fresh: 0, stale: 0, misses: 0, shared: 0 };
    for (const lookup of this.cacheLookups) {
      totals.fresh += lookup.fresh;
      totals.stale += lookup.stale;
      totals.misses += lookup.misses;
      totals.shared += lookup.shared;
    }
    return totals;
  }
}
