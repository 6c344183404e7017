// Resolves a source record a user holds (`crm:c_1`, `analytics:device:d_9`, `support:ticket:9742`) to its customer.
import type { SourceConnector } from '../sources/connector.js';
import type { UpstreamScope } from '../sources/upstream-scope.js';
import type { CustomerDirectory } from './directory.js';
import type { CustomerLinks } from './model.js';

/** The value names a child entity that declares no `lookup`: the hub cannot read it by that id. */
export class RecordLookupUnsupportedError extends Error {
  constructor(
    readonly source: string,
    readonly entity: string,
  ) {
    super(`"${source}.${entity}" declares no lookup: its records cannot be found by their own id`);
    this.name = 'RecordLookupUnsupportedError';
  }
}

/**
 * `rest` is what follows `source:`: a linked record's id (`c_1`), or `entity:id`. A linked entity's record answers from
 * the link table; a child record (a ticket, an order) is read at its source through the entity's `lookup`, and its
 * parent reference leads to the parent record's customer. A prefix that names no entity is part of the record id.
 */
export async function customerBySourceRecord(connector: SourceConnector, directory: CustomerDirectory, rest: string, scope: UpstreamScope): Promise<CustomerLinks | null> {
  const separator = rest.indexOf(':');
  const reader = separator > 0 ? connector.entities.get(rest.slice(0, separator)) : undefined;
  if (!reader || separator === rest.length - 1) return directory.customerByRecord(connector.name, rest);
  const id = rest.slice(separator + 1);
  if (!reader.config.parent) return directory.customerByRecord(connector.name, id);
  if (!reader.config.lookup) throw new RecordLookupUnsupportedError(connector.name, reader.name);
  scope.budget?.spend(connector.name, 1);
  const found = await reader.lookup(id, scope);
  return found === null ? null : directory.customerByRecord(connector.name, found.parentId);
}
