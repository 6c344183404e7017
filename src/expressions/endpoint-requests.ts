// Which variables each declared operation's request template may use, and the templates of an entity compiled once.
// Below the config: its schema reports template mistakes with the same compiler the connectors run, so an entity is
// described here by the parts its templates need (EntityTemplates), which the config's EntityConfig satisfies.
import { compileRequest, TemplateError, WRITE_FIELDS, type CompiledRequest, type RequestTemplateConfig, type TemplateRules, type TemplateVariable } from './request-template.js';

/**
 * How a list moves from page to page, as far as its template's variables go. A style the config adds and this misses
 * makes EntityConfig no longer an EntityTemplates, so the compiler points here.
 */
type PaginationStyle = 'cursor' | 'lastItemId' | 'nextUrl' | 'linkHeader' | 'page' | 'offset';

/** The request templates an entity declares (`batch`, `single`, `list`, `search.<kind>`, `lookup`, `write`). */
export interface EntityTemplates {
  batch?: RequestTemplateConfig & { idType: 'string' | 'integer' };
  single?: RequestTemplateConfig;
  list?: RequestTemplateConfig & { pagination: { style: PaginationStyle } };
  search?: Partial<Record<string, RequestTemplateConfig>>;
  lookup?: RequestTemplateConfig;
  write?: RequestTemplateConfig;
}

/**
 * What a list template fills, per pagination style: URL-following styles take the next page's URL as it comes.
 * Every style may send `{since}`, an incremental sync's modified-since filter (left out on a full pass).
 */
function listVariables(pagination: { style: PaginationStyle }): Pick<TemplateRules, 'variables' | 'required'> {
  switch (pagination.style) {
    case 'cursor':
    case 'lastItemId':
      return { variables: ['cursor', 'limit', 'since'], required: [['cursor']] };
    case 'nextUrl':
    case 'linkHeader':
      return { variables: ['limit', 'since'] };
    case 'page':
      return { variables: ['page', 'limit', 'since'], required: [['page']] };
    case 'offset':
      return { variables: ['offset', 'limit', 'since'], required: [['offset']] };
  }
}

const ONE_ID: TemplateRules = { variables: ['id'], required: [['id']] };
const SEARCH: TemplateRules = { variables: ['value'], required: [['value']] };
/** A write names its record and at least one field it changes. */
const WRITE: TemplateRules = { variables: ['id', ...WRITE_FIELDS], required: [['id'], WRITE_FIELDS] };

/** An entity's request templates, each compiled once at start. */
export interface EntityRequests {
  batch?: CompiledRequest;
  single?: CompiledRequest;
  list?: CompiledRequest;
  /** By identifier kind (the config's SearchKind). */
  search: ReadonlyMap<string, CompiledRequest>;
  lookup?: CompiledRequest;
  write?: CompiledRequest;
}

interface Compiling {
  /** The operation's key path inside the entity: `['batch']`, `['search', 'email']`. */
  at: (string | number)[];
  compile: () => CompiledRequest;
}

function templatesOf(entity: EntityTemplates): Compiling[] {
  const jobs: Compiling[] = [];
  const { batch, single, list, search, lookup, write } = entity;
  if (batch) {
    const rules: TemplateRules = { variables: ['ids', 'id'] satisfies TemplateVariable[], required: [['ids', 'id']], idType: batch.idType, perIdArrays: true };
    jobs.push({ at: ['batch'], compile: () => compileRequest(batch, rules) });
  }
  if (single) jobs.push({ at: ['single'], compile: () => compileRequest(single, ONE_ID) });
  if (list) jobs.push({ at: ['list'], compile: () => compileRequest(list, listVariables(list.pagination)) });
  for (const [kind, endpoint] of Object.entries(search ?? {})) {
    if (endpoint) jobs.push({ at: ['search', kind], compile: () => compileRequest(endpoint, SEARCH) });
  }
  if (lookup) jobs.push({ at: ['lookup'], compile: () => compileRequest(lookup, ONE_ID) });
  if (write) jobs.push({ at: ['write'], compile: () => compileRequest(write, WRITE) });
  return jobs;
}

/** Every template mistake of an entity, with the key path inside the entity (for the config schema's issues). */
export function endpointTemplateProblems(entity: EntityTemplates): { at: (string | number)[]; message: string }[] {
  const problems: { at: (string | number)[]; message: string }[] = [];
  for (const job of templatesOf(entity)) {
    try {
      job.compile();
    } catch (error) {
      if (!(error instanceof TemplateError)) throw error;
      problems.push({ at: [...job.at, ...error.at], message: error.message });
    }
  }
  return problems;
}

/** An entity's templates compiled; the config was validated at load, so a mistake here is a bug and throws. */
export function compileEntityRequests(entity: EntityTemplates): EntityRequests {
  const search = new Map<string, CompiledRequest>();
  const requests: Omit<EntityRequests, 'search'> = {};
  for (const { at, compile } of templatesOf(entity)) {
    const [operation, kind] = at as [keyof Omit<EntityRequests, 'search'> | 'search', string | undefined];
    if (operation === 'search') search.set(kind!, compile());
    else requests[operation] = compile();
  }
  return { ...requests, search };
}
