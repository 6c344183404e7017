// Faults a simulated source can be told to inject (latency, errors, resets, bad bodies, hangs), chosen deterministically.
import { z } from 'zod';

/** Which requests a fault hits. With neither `every` nor `rate`, it hits every matching request. */
const selector = {
  /** Only this route, keyed as in the stats (`GET /contacts`, `POST /orders/batch`). */
  route: z.string().optional(),
  /** Every Nth matching request: 1 = all, 3 = the 3rd, 6th, 9th… (exact, for counted tests). */
  every: z.number().int().positive().optional(),
  /** A share of matching requests drawn from a PRNG seeded with `seed`: the same seed hits the same requests. */
  rate: z.number().min(0).max(1).optional(),
  seed: z.number().int().default(1),
  /** Stop after hitting this many requests (e.g. "fail twice, then recover"). */
  times: z.number().int().positive().optional(),
};

const faultSchema = z.discriminatedUnion('kind', [
  /** Added delay (plus 0..jitterMs drawn from the seeded PRNG); combines with the other faults. */
  z.strictObject({ kind: z.literal('latency'), ms: z.number().int().min(0), jitterMs: z.number().int().min(0).default(0), ...selector }),
  /** An HTTP error status, e.g. 503 or 429, with `Retry-After` when given (seconds or an HTTP date). */
  z.strictObject({ kind: z.literal('status'), status: z.number().int().min(400).max(599), retryAfter: z.string().optional(), ...selector }),
  /** The connection is destroyed without a response. */
  z.strictObject({ kind: z.literal('reset'), ...selector }),
  /** 200 with a body that is not JSON. */
  z.strictObject({ kind: z.literal('malformed'), ...selector }),
  /** 200 announcing the whole body's length, then half of it and a closed connection. */
  z.strictObject({ kind: z.literal('truncate'), ...selector }),
  /** No response at all until the client gives up or the source closes. */
  z.strictObject({ kind: z.literal('hang'), ...selector }),
  /** 200 with this JSON instead of the real reply: the wrong shape. */
  z.strictObject({ kind: z.literal('body'), body: z.unknown(), ...selector }),
  /** The real reply with every value under a key named `field` replaced, e.g. a word where a number belongs. */
  z.strictObject({ kind: z.literal('field'), field: z.string().min(1), value: z.unknown(), ...selector }),
  /** The real reply without the list items whose `field` equals `value`: a batch that silently leaves a record out. */
  z.strictObject({ kind: z.literal('omit'), field: z.string().min(1), value: z.unknown(), ...selector }),
]);

export type Fault = z.input<typeof faultSchema>;
type ParsedFault = z.output<typeof faultSchema>;
export type OutcomeFault = Exclude<ParsedFault, { kind: 'latency' }>;

const faultListSchema = z.array(faultSchema);

/** mulberry32: a tiny seeded PRNG, so a fault with a rate hits the same requests on every run. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface ActiveFault {
  fault: ParsedFault;
  random: () => number;
  /** Matching requests seen, and those the fault hit. */
  seen: number;
  hits: number;
}

export interface FaultReport {
  fault: ParsedFault;
  seen: number;
  hits: number;
}

/** What to do to one request: extra delay, and at most one outcome replacing the normal reply. */
export interface InjectedFaults {
  delayMs: number;
  outcome: OutcomeFault | undefined;
}

export class FaultInjector {
  private active: ActiveFault[] = [];

  constructor(faults: readonly Fault[] = []) {
    this.set(faults);
  }

  /** Replaces the active faults; throws a ZodError naming the bad key when one is invalid. */
  set(faults: readonly Fault[]): void {
    this.active = faultListSchema.parse(faults).map((fault) => ({ fault, random: seeded(fault.seed), seen: 0, hits: 0 }));
  }

  clear(): void {
    this.active = [];
  }

  list(): FaultReport[] {
    return this.active.map(({ fault, seen, hits }) => ({ fault, seen, hits }));
  }

  /** Decides the faults of one request to `route`; the first outcome fault that hits wins, later ones are not consulted. */
  pick(route: string): InjectedFaults {
    let delayMs = 0;
    let outcome: OutcomeFault | undefined;
    for (const active of this.active) {
      if (active.fault.kind !== 'latency' && outcome) continue;
      if (!this.hits(active, route)) continue;
      if (active.fault.kind === 'latency') delayMs += active.fault.ms + Math.floor(active.random() * active.fault.jitterMs);
      else outcome = active.fault;
    }
    return { delayMs, outcome };
  }

  private hits(active: ActiveFault, route: string): boolean {
    const { fault } = active;
    if (fault.route !== undefined && fault.route !== route) return false;
    if (fault.times !== undefined && active.hits >= fault.times) return false;
    active.seen += 1;
    const hit = fault.every !== undefined ? active.seen % fault.every === 0 : fault.rate !== undefined ? active.random() < fault.rate : true;
    if (hit) active.hits += 1;
    return hit;
  }
}

/** `value` without the array items, at any depth, whose property `field` equals `match`. */
export function omitItems(value: unknown, field: string, match: unknown): unknown {
  if (Array.isArray(value)) {
    return value
      .filter((item) => !(item !== null && typeof item === 'object' && (item as Record<string, unknown>)[field] === match))
      .map((item) => omitItems(item, field, match));
  }
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, omitItems(inner, field, match)]));
}

/** `value` with every property named `field`, at any depth, set to `replacement`. */
export function replaceField(value: unknown, field: string, replacement: unknown): unknown {
  if (Array.isArray(value)) return value.map((item) => replaceField(item, field, replacement));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, key === field ? replacement : replaceField(inner, field, replacement)]));
}
