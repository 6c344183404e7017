// What one request was shown and withheld: masked paths for the response, PII reads and actions for the audit log.
import type { AuditAction, AuditEntry, AuditLog } from '../identity/store.js';
import type { Caller } from './caller.js';

export interface MaskedPath {
  /** The response path of the masked field, e.g. `customer.profile.phone`. */
  path: string;
  /** The permission the caller lacks, or `consent` when the customer has not consented. */
  requires: string;
}

export interface ConsentCheck {
  consented: boolean;
  /** The value of the first field on the consent path (e.g. the customer's `marketing`), resolved once per request. */
  firstHop: unknown;
  /** Why consent could not be read, when it could not. */
  error?: unknown;
}

export class RequestAccess {
  readonly masked: MaskedPath[] = [];
  /** Settles once the audit plugin has finished with the response (it may replace it): what telemetry reports. */
  responseFinal: Promise<void> = Promise.resolve();
  /** Objects beneath a data subject → that subject's ID (e.g. a Profile → its customer), so reads name the customer. */
  private readonly subjects = new WeakMap<object, string>();
  private readonly withoutConsent = new WeakSet<object>();
  private readonly consent = new WeakMap<object, Map<string, Promise<ConsentCheck>>>();
  /** Customer ID ('' when the data has no subject) → schema coordinates of the PII fields read. */
  private readonly reads = new Map<string, Set<string>>();

  constructor(
    readonly caller: Caller,
    readonly requestId: string,
    private readonly log: AuditLog,
    /** False on an open hub: the demo cannot say who read what, so it records only actions. */
    readonly auditsReads: boolean,
    private readonly now: () => Date = () => new Date(),
  ) {}

  mask(path: string, requires: string): void {
    this.masked.push({ path, requires });
  }

  setSubject(value: object, subjectId: string): void {
    this.subjects.set(value, subjectId);
  }

  subjectOf(value: unknown): string | undefined {
    return typeof value === 'object' && value !== null ? this.subjects.get(value) : undefined;
  }

  markWithoutConsent(value: unknown): void {
    if (typeof value === 'object' && value !== null) this.withoutConsent.add(value);
  }

  isWithoutConsent(value: unknown): boolean {
    return typeof value === 'object' && value !== null && this.withoutConsent.has(value);
  }

  /** The consent of `subject` along `via`, computed once per request however many fields ask. */
  consentOf(subject: object, via: string, check: () => Promise<ConsentCheck>): Promise<ConsentCheck> {
    let bySubject = this.consent.get(subject);
    if (!bySubject) {
      bySubject = new Map();
      this.consent.set(subject, bySubject);
    }
    let found = bySubject.get(via);
    if (!found) {
      found = check();
      bySubject.set(via, found);
    }
    return found;
  }

  recordRead(subjectId: string | undefined, coordinate: string): void {
    if (!this.auditsReads) return;
    const key = subjectId ?? '';
    let fields = this.reads.get(key);
    if (!fields) {
      fields = new Set();
      this.reads.set(key, fields);
    }
    fields.add(coordinate);
  }

  private entry(action: AuditAction, customerId: string | null, fields: readonly string[], detail: string | null): AuditEntry {
    return { at: this.now().toISOString(), requestId: this.requestId, actor: this.caller.id, roles: this.caller.roles, action, customerId, fields, detail };
  }

  /** Written at once, not at the end of the request: an action that happened is on record even if the response fails. */
  async recordAction(action: AuditAction, customerId: string | null, detail: string | null, fields: readonly string[] = []): Promise<void> {
    await this.log.appendAudit([this.entry(action, customerId, fields, detail)]);
  }

  /** One PII_READ entry per customer whose personal data this request read; returns how many were written. */
  async flushReads(): Promise<number> {
    if (this.reads.size === 0) return 0;
    const entries = [...this.reads].map(([customerId, fields]) => this.entry('PII_READ', customerId || null, [...fields].sort(), null));
    this.reads.clear();
    await this.log.appendAudit(entries);
    return entries.length;
  }
}
