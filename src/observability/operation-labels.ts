// The operation-name label of the hub's metrics, bounded by construction: a client names its operations, so a
// label taken as given would let one client create a series per request (5,000 names made 75,000 series).
import type { MetricsSection } from '../config/schema.js';

/** The label of operations whose name is not admitted. */
const OTHER_OPERATIONS = 'other';
/** The label of operations with no name. */
const ANONYMOUS_OPERATION = 'anonymous';

export class OperationLabels {
  private readonly admitted: Set<string>;
  /** With an allow-list the set is fixed; without one it fills up to `maxOperationNames`, first come, then stays fixed. */
  private readonly growing: boolean;

  constructor(private readonly options: Pick<MetricsSection, 'operationNames' | 'maxOperationNames'>) {
    this.admitted = new Set(options.operationNames ?? []);
    this.growing = options.operationNames === undefined;
  }

  labelOf(name: string | null | undefined): string {
    if (!name) return ANONYMOUS_OPERATION;
    if (this.admitted.has(name)) return name;
    if (this.growing && this.admitted.size < this.options.maxOperationNames && name !== OTHER_OPERATIONS) {
      this.admitted.add(name);
      return name;
    }
    return OTHER_OPERATIONS;
  }
}
