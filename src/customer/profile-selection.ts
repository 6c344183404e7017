// Which of a profile's mapped values a query's selection reads, so only the sources that map one of them are asked.
//
// `profile { firstName lastName }` needs the CRM alone when only the CRM maps first and last names: asking the shop
// and the help desk too would cost two upstream calls whose values the merge then drops. Survivorship picks each
// field's winner among the records that hold it, so leaving out a source that holds none of the selected values
// changes no answer.
import { Kind, type FieldNode, type FragmentDefinitionNode, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';
import type { EntityRef } from '../sources/registry.js';

/** The mapped values each Profile field is merged from (src/customer/survivorship.ts). */
const VALUES_OF_FIELD: Readonly<Record<string, readonly string[]>> = {
  id: [],
  __typename: [],
  firstName: ['firstName'],
  lastName: ['lastName'],
  // A source holding only first and last names still has a name.
  name: ['name', 'firstName', 'lastName'],
  email: ['email'],
  phone: ['phone'],
  address: ['line1', 'city', 'postalCode', 'country'],
};

/** Every selection of the field nodes' sub-selections, fragments included; null when one names a field not listed. */
function collect(selectionSet: SelectionSetNode | undefined, fragments: Record<string, FragmentDefinitionNode>, into: Set<string>): boolean {
  for (const selection of selectionSet?.selections ?? []) {
    if (selection.kind === Kind.FIELD) {
      const values = VALUES_OF_FIELD[selection.name.value];
      // provenance explains every field, and a field this table does not know may read anything: ask every source.
      if (!values) return false;
      for (const value of values) into.add(value);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      if (!collect(selection.selectionSet, fragments, into)) return false;
    } else {
      const fragment = fragments[selection.name.value];
      if (!fragment || !collect(fragment.selectionSet, fragments, into)) return false;
    }
  }
  return true;
}

/** Per parsed operation: a page of 50 customers resolves `profile` 50 times over the same field nodes. */
const selectedByNodes = new WeakMap<readonly FieldNode[], ReadonlySet<string> | null>();

/** The mapped profile values `info`'s selection reads; null when it may read any of them. */
export function profileValuesSelected(info: Pick<GraphQLResolveInfo, 'fieldNodes' | 'fragments'>): ReadonlySet<string> | null {
  const cached = selectedByNodes.get(info.fieldNodes);
  if (cached !== undefined) return cached;
  const values = new Set<string>();
  const known = info.fieldNodes.every((node) => collect(node.selectionSet, info.fragments, values));
  const selected = known ? values : null;
  selectedByNodes.set(info.fieldNodes, selected);
  return selected;
}

/** The providers whose mapping holds at least one of `values` (all of them when `values` is null). */
export function providersFor(providers: readonly EntityRef[], values: ReadonlySet<string> | null): readonly EntityRef[] {
  if (values === null) return providers;
  return providers.filter(({ reader }) => Object.keys(reader.config.mapping).some((target) => values.has(target)));
}
