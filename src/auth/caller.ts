// Who is asking and what their roles let them do: the caller every request carries in its context.
import type { RoleConfig } from '../config/schema.js';
import { ForbiddenError } from './errors.js';

/** Granted permissions, matched exactly, by a `prefix:*` wildcard, or by `*`. */
export class PermissionSet {
  private readonly exact: ReadonlySet<string>;
  private readonly prefixes: readonly string[];
  readonly all: boolean;

  constructor(granted: Iterable<string>) {
    const exact = new Set<string>();
    const prefixes: string[] = [];
    let all = false;
    for (const permission of granted) {
      if (permission === '*') all = true;
      else if (permission.endsWith(':*')) prefixes.push(permission.slice(0, -1));
      else exact.add(permission);
    }
    this.exact = exact;
    this.prefixes = prefixes;
    this.all = all;
  }

  has(permission: string): boolean {
    return this.all || this.exact.has(permission) || this.prefixes.some((prefix) => permission.startsWith(prefix));
  }
}

export interface Caller {
  /** Stable name for the audit log: `api-key:<name>`, `jwt:<sub>`, or `anonymous` on an open hub. */
  id: string;
  via: 'open' | 'api-key' | 'jwt';
  roles: readonly string[];
  permissions: PermissionSet;
  /** Sees @consented fields only for customers who consented (true only when every role of the caller says so). */
  consentRequired: boolean;
}

/** The caller of a hub configured without auth (the embedded demo): everything is allowed, nothing is audited. */
export const OPEN_CALLER: Caller = Object.freeze({
  id: 'anonymous',
  via: 'open',
  roles: Object.freeze(['open']),
  permissions: new PermissionSet(['*']),
  consentRequired: false,
});

/** The caller an authenticated identity becomes; role names the config does not declare grant nothing. */
export function callerWithRoles(id: string, via: Caller['via'], roleNames: readonly string[], roles: Readonly<Record<string, RoleConfig>>): Caller {
  const known = [...new Set(roleNames)].filter((name) => Object.hasOwn(roles, name)).sort();
  if (known.length === 0) throw new ForbiddenError('the credentials grant no role of this hub');
  const configs = known.map((name) => roles[name]!);
  return {
    id,
    via,
    roles: known,
    permissions: new PermissionSet(configs.flatMap((r) => r.permissions)),
    // A caller holding a role that is not bound by consent (support, say) is not held back by another role that is.
    consentRequired: configs.every((r) => r.consentRequired),
  };
}
