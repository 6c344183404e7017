// Turns identifiers as sources hold them into the tokens links are matched on, dropping blocked junk.
import { hash } from 'node:crypto';
import type { EntityConfig, HubConfig } from '../config/schema.js';
import { compileSingularPath } from '../expressions/json-path.js';
import type { IncomingRecord } from './link-planner.js';
import { recordKeyString, tokenString, type IdentifierKind, type IdentifierToken } from './model.js';
import type { LinkCounters } from './link-counters.js';
import { emailMd5, normalizeEmail, normalizeMd5, normalizePhone } from '../sources/normalize.js';

/**
 * Longest values accepted as identifiers (RFC 5321's 254 for an address; E.164 needs 15 digits, and 32 characters
 * leave room for the spaces, dashes and extension people type). Longer ones are junk or an attack: counted and
 * never linked or stored.
 */
export const MAX_IDENTIFIER_LENGTH = { email: 254, phone: 32 } as const;
/** Longest record ID accepted: anything longer (or empty) cannot be a key a source really uses. */
export const MAX_RECORD_ID_LENGTH = 256;

/** The matching rules from config: how identifiers are normalised and which values never link anyone. */
export class IdentityRules {
  private readonly blockedExact = new Set<string>();
  private readonly blockedPatterns: RegExp[];
  private readonly dotAndPlusDomains: ReadonlySet<string>;
  readonly defaultPhoneRegion: string;

  constructor(config: HubConfig['identity']) {
    this.defaultPhoneRegion = config.defaultPhoneRegion;
    this.dotAndPlusDomains = new Set(config.dotAndPlusInsensitiveDomains.map((d) => d.toLowerCase()));
    for (const value of config.blocked.values) {
      const email = this.email(value, { allowBlocked: true });
      if (email) {
        this.blockedExact.add(email);
        // Analytics tools hold only the hash: a blocked email must be blocked as a hash too.
        this.blockedExact.add(emailMd5(email));
      }
      const phone = normalizePhone(value, config.defaultPhoneRegion);
      if (phone) this.blockedExact.add(phone);
      this.blockedExact.add(value.trim().toLowerCase());
    }
    this.blockedPatterns = config.blocked.patterns.map((p) => new RegExp(p, 'i'));
  }

  isBlocked(normalised: string): boolean {
    return this.blockedExact.has(normalised) || this.blockedPatterns.some((p) => p.test(normalised));
  }

  /** The email as matched: trimmed, lower-cased, and for dot-and-plus-insensitive domains without either. */
  email(raw: unknown, options: { allowBlocked?: boolean } = {}): string | null {
    const email = normalizeEmail(raw);
    if (email === null) return null;
    const at = email.lastIndexOf('@');
    const domain = email.slice(at + 1);
    const canonical = this.dotAndPlusDomains.has(domain) ? `${email.slice(0, at).split('+')[0]!.replaceAll('.', '')}@${domain}` : email;
    return !options.allowBlocked && this.isBlocked(canonical) ? null : canonical;
  }

  phone(raw: unknown): string | null {
    const phone = normalizePhone(raw, this.defaultPhoneRegion);
    return phone === null || this.isBlocked(phone) ? null : phone;
  }

  md5(raw: unknown): string | null {
    const hash = normalizeMd5(raw);
    return hash === null || this.isBlocked(hash) ? null : hash;
  }

  /** Tokens a lookup by this identifier matches; [] when the value is unusable or blocked. */
  lookupTokens(kind: 'email' | 'phone', raw: string): IdentifierToken[] {
    const value = kind === 'email' ? this.email(raw) : this.phone(raw);
    return value === null ? [] : [{ kind, value }];
  }
}

type Extractor = (raw: unknown, into: IdentifierToken[]) => void;

/** Compiles an entity's identifier declarations once; the result runs per record. */
export function compileIdentifierExtractor(entity: Pick<EntityConfig, 'identifiers'>, rules: IdentityRules, counters?: LinkCounters): Extractor {
  const tooLong = (kind: 'email' | 'phone', value: unknown): boolean => {
    if ((typeof value === 'string' || typeof value === 'number') && String(value).length > MAX_IDENTIFIER_LENGTH[kind]) {
      if (counters) counters.invalid[kind] += 1;
      return true;
    }
    return false;
  };
  const extractors: Extractor[] = entity.identifiers.map((declared) => {
    const read = compileSingularPath(declared.path);
    const add = (into: IdentifierToken[], kind: IdentifierKind, value: string | null) => {
      if (value !== null) into.push({ kind, value });
    };
    switch (declared.kind) {
      case 'email':
        return (raw, into) => {
          const value = read(raw);
          if (tooLong('email', value)) return;
          const plain = normalizeEmail(value);
          const email = rules.email(plain);
          add(into, 'email', email);
          // Tools that key people by an email hash hash the address as typed (lower-cased), not our canonical form.
          if (email !== null) add(into, 'email_md5', emailMd5(plain!));
        };
      case 'phone':
        return (raw, into) => {
          const value = read(raw);
          if (!tooLong('phone', value)) add(into, 'phone', rules.phone(value));
        };
      case 'email_md5':
        return (raw, into) => add(into, 'email_md5', rules.md5(read(raw)));
      case 'reference': {
        const [source = '', targetEntity = ''] = declared.refersTo.split('.');
        return (raw, into) => {
          const value = read(raw);
          const id = typeof value === 'string' || typeof value === 'number' ? String(value).trim() : '';
          if (id !== '' && id.length <= MAX_RECORD_ID_LENGTH) {
            into.push({ kind: 'ref', value: recordKeyString({ source, entity: targetEntity, recordId: id }) });
          }
        };
      }
    }
  });
  return (raw, into) => {
    for (const extract of extractors) extract(raw, into);
  };
}

type NameKeyOf = (raw: unknown) => string | null;

/**
 * Compiles how to read the name a record holds, from the entity's profile mapping (`name`, else `firstName` and
 * `lastName`). Its key is a short hash of the name folded to lower-case letters: the store keeps it to tell records
 * of different people apart (shared-value detection), and needs no more than "same or different".
 */
export function compileNameKey(entity: Pick<EntityConfig, 'mapping'>): NameKeyOf {
  const pathOf = (field: string) => {
    const mapped = entity.mapping[field];
    if (mapped === undefined || (typeof mapped === 'object' && 'each' in mapped)) return null;
    return compileSingularPath(typeof mapped === 'string' ? mapped : mapped.path);
  };
  const readers = [pathOf('name') ?? null, pathOf('firstName'), pathOf('lastName')];
  const [full, first, last] = readers;
  if (!full && !first && !last) return () => null;
  return (raw) => {
    const text = (value: unknown) => (typeof value === 'string' ? value : '');
    const name = (full ? text(full(raw)) : '') || `${first ? text(first(raw)) : ''} ${last ? text(last(raw)) : ''}`;
    const folded = name.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase().replace(/[^\p{L}]+/gu, ' ').trim();
    return folded === '' ? null : hash('sha256', folded, 'base64url').slice(0, 12);
  };
}

/** A record ready for the planner: its own `ref` token first, then what its fields carry, each once. */
export function incomingRecord(key: { source: string; entity: string; recordId: string }, raw: unknown, extract: Extractor, nameKeyOf?: NameKeyOf): IncomingRecord {
  const tokens: IdentifierToken[] = [{ kind: 'ref', value: recordKeyString(key) }];
  extract(raw, tokens);
  const seen = new Set<string>();
  return { ...key, tokens: tokens.filter((t) => !seen.has(tokenString(t)) && !!seen.add(tokenString(t))), nameKey: nameKeyOf ? nameKeyOf(raw) : null };
}
