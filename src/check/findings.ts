// What `rosetta check` found wrong with a source: typed findings, each naming the operation and the config key it concerns.

export type Severity = 'error' | 'warning';

export interface Finding {
  severity: Severity;
  source: string;
  entity: string;
  /** `list`, `batch`, `single`, `children`, `search.email`, `paths`… */
  operation: string;
  /** The config key to look at, e.g. `sources.stripe.entities.customer.list.pagination`. */
  key: string;
  message: string;
}

/** Collects findings for one entity, filling in where they come from. */
export class Findings {
  readonly all: Finding[] = [];

  add(severity: Severity, at: { source: string; entity: string }, operation: string, key: string, message: string): void {
    this.all.push({ severity, source: at.source, entity: at.entity, operation, key: `sources.${at.source}.entities.${at.entity}${key ? `.${key}` : ''}`, message });
  }

  get errors(): Finding[] {
    return this.all.filter((f) => f.severity === 'error');
  }
}
