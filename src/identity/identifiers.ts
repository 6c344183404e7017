// Extracts a raw source record's normalised identifiers, dropping blocked junk so it can never link anyone.
import type { EntityConfig, HubConfig } from '../config/schema.js';
import { compilePath } from '../sources/mapping.js';
import type { LinkableRecord } from './linker.js';
import { recordKeyString, type Identifier } from './model.js';
import { emailMd5, normalizeEmail, normalizeMd5, normalizePhone } from './normalize.js';

/** Placeholder and junk values from config: exact values (compared normalised) and regular expressions. */
export class BlockedValues {
  private readonly exact = new Set<string>();
  private readonly patterns: RegExp[];

  constructor(config: HubConfig['identity']) {
    for (const value of config.blocked.values) {
      const email = normalizeEmail(value);
      if (email) {
        this.exact.add(email);
        // Analytics tools hold only the hash: a blocked email must be blocked as a hash too.
        this.exact.add(emailMd5(email));
      }
      const phone = normalizePhone(value, config.defaultPhoneRegion);
      if (phone) this.exact.add(phone);
      this.exact.add(value.trim().toLowerCase());
    }
    this.patterns = config.blocked.patterns.map((p) => new RegExp(p, 'i'));
  }

  has(normalised: string): boolean {
    return this.exact.has(normalised) || this.patterns.some((p) => p.test(normalised));
  }
}

export interface IdentifierRules {
  defaultPhoneRegion: string;
  blocked: BlockedValues;
}

type Extractor = (raw: unknown, into: LinkableRecord) => void;

/** Compiles an entity's identifier declarations once; the result runs per record during sync. */
export function compileIdentifierExtractor(entity: EntityConfig, rules: IdentifierRules): Extractor {
  const extractors: Extractor[] = entity.identifiers.map((declared) => {
    const read = compilePath(declared.path);
    const add = (into: LinkableRecord, kind: Identifier['kind'], value: string | null) => {
      if (value !== null && !rules.blocked.has(value)) into.identifiers.push({ kind, value });
    };
    switch (declared.kind) {
      case 'email':
        return (raw, into) => {
          const email = normalizeEmail(read(raw));
          if (email === null || rules.blocked.has(email)) return;
          add(into, 'email', email);
          add(into, 'email_md5', emailMd5(email));
        };
      case 'phone':
        return (raw, into) => add(into, 'phone', normalizePhone(read(raw), rules.defaultPhoneRegion));
      case 'email_md5':
        return (raw, into) => add(into, 'email_md5', normalizeMd5(read(raw)));
      case 'reference': {
        const [source = '', targetEntity = ''] = declared.refersTo.split('.');
        return (raw, into) => {
          const value = read(raw);
          if ((typeof value === 'string' && value.trim() !== '') || typeof value === 'number') {
            into.references.push(recordKeyString({ source, entity: targetEntity, recordId: String(value).trim() }));
          }
        };
      }
    }
  });
  return (raw, into) => {
    for (const extract of extractors) extract(raw, into);
  };
}
