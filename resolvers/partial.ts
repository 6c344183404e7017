// Reports sources that failed under a field that still returned what the healthy sources had.
import type { GraphQLResolveInfo } from 'graphql';
import type { RequestContext } from '../src/server/context.js';
import { partialSourceError } from '../src/server/errors.js';

export function reportPartial(errors: readonly Error[], context: RequestContext, info: GraphQLResolveInfo): void {
  if (errors.length === 0) return;
  const path: (string | number)[] = [];
  for (let p: GraphQLResolveInfo['path'] | undefined = info.path; p; p = p.prev) path.unshift(p.key);
  for (const error of errors) context.partialErrors.push(partialSourceError(error, path));
}
