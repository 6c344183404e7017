// Reports sources that failed under a field that still returned what the healthy sources had.
import type { GraphQLResolveInfo } from 'graphql';
import type { RequestContext } from '../src/request/context.js';
import { partialSourceError } from '../src/request/errors.js';

export function reportPartial(errors: readonly Error[], context: RequestContext, info: GraphQLResolveInfo): void {
  if (errors.length === 0) return;
  const path: (string | number)[] = [];
  for (let p: GraphQLResolveInfo['path'] | undefined = info.path; p; p = p.prev) path.unshift(p.key);
  // Two records of one customer in the same failing source fail alike: report the source once per path.
  const seen = new Set<string>();
  for (const error of errors) {
    const reported = partialSourceError(error, path);
    const key = `${reported.message}\u0000${String(reported.extensions.code)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    context.partialErrors.push(reported);
  }
}
