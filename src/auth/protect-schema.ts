// Enforces the schema's access directives in one place, by wrapping field resolvers: resolvers and codegen never see auth.
//
//   @pii(permission, mask)   personal data: without the permission the caller gets the masked form, and the path is
//                            reported in `extensions.masked`; with it, the read is audited against the data subject.
//   @restricted(permission)  the field fails with FORBIDDEN without the permission.
//   @consented(via)          for callers whose roles require consent, the field is withheld (null) unless the
//                            Boolean at `via` is true; a non-null field is returned with its @pii fields masked.
//   @audited(action, customerArg, customerFrom, detailFrom, detailArg)  a successful call is written to the audit log at
//                            once (forget, link changes, lookups by personal data).
//   @recordId(permission)    a source record ID: masked (`***`) for callers without the permission where the entity's
//                            config declares its IDs personal (idIsPersonal), audited like @pii for callers with it.
//   @dataSubject(idField)    on a type: personal data beneath it belongs to the object with this ID (a customer).
import { getDirective, MapperKind, mapSchema } from '@graphql-tools/utils';
import {
  defaultFieldResolver,
  getNamedType,
  GraphQLError,
  isNonNullType,
  isObjectType,
  responsePathAsArray,
  type GraphQLField,
  type GraphQLFieldResolver,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLResolveInfo,
  type GraphQLSchema,
} from 'graphql';
import type { AuditAction } from '../identity/store.js';
import { ErrorCode } from '../errors/catalogue.js';
import type { Caller } from './caller.js';
import { applyMask, maskNeedsValue, type MaskName } from './masks.js';
import type { ConsentCheck, RequestAccess } from './request-access.js';

/** The part of the request context this transform needs. */
export interface ProtectedContext {
  caller: Caller;
  access: RequestAccess;
}

type Resolver = GraphQLFieldResolver<unknown, ProtectedContext>;
/** One rule around the next resolver, composed like undici interceptors: each testable and removable alone. */
type Wrapper = (next: Resolver) => Resolver;

class SchemaDirectiveError extends Error {
  readonly code = ErrorCode.SCHEMA_DIRECTIVE_INVALID;
  constructor(coordinate: string, message: string) {
    super(`${coordinate}: ${message}`);
    this.name = 'SchemaDirectiveError';
  }
}

const isPromiseLike = (value: unknown): value is PromiseLike<unknown> => typeof (value as { then?: unknown } | null)?.then === 'function';

/** Applies `f` now to a plain value, or later to a promised one, so synchronous resolvers stay synchronous. */
function andThen(value: unknown, f: (resolved: unknown) => unknown): unknown {
  return isPromiseLike(value) ? Promise.resolve(value).then(f) : f(value);
}

const responsePath = (info: GraphQLResolveInfo): string => responsePathAsArray(info.path).join('.');

/** Calls a field's own (unwrapped) resolver with the field's default arguments. */
function resolveOwn(type: GraphQLObjectType, fieldName: string, source: unknown, context: ProtectedContext, info: GraphQLResolveInfo): unknown {
  const field = type.getFields()[fieldName]!;
  const args = Object.fromEntries(field.args.filter((arg) => arg.defaultValue !== undefined).map((arg) => [arg.name, arg.defaultValue]));
  // The default resolver reads `info.fieldName`, so the hop must not see the asking field's name.
  return (field.resolve ?? defaultFieldResolver)(source, args, context, { ...info, fieldName });
}

const restrict =
  (permission: string): Wrapper =>
  (next) =>
  (parent, args, context, info) => {
    if (!context.caller.permissions.has(permission)) {
      throw new GraphQLError(`${responsePath(info)} requires the "${permission}" permission`, { extensions: { code: ErrorCode.FORBIDDEN, permission } });
    }
    return next(parent, args, context, info);
  };

const personalData =
  (coordinate: string, permission: string, mask: MaskName, ownSubject: { type: GraphQLObjectType; idField: string } | null): Wrapper =>
  (next) =>
  (parent, args, context, info) => {
    const { caller, access } = context;
    const requires = access.isWithoutConsent(parent) ? 'consent' : caller.permissions.has(permission) ? null : permission;
    if (requires === null) {
      // A @pii field of a data subject itself (LinkConflict.identifierValue) belongs to the subject the object names.
      const subject = access.subjectOf(parent) ?? (ownSubject && access.auditsReads ? resolveOwn(ownSubject.type, ownSubject.idField, parent, context, info) : undefined);
      return andThen(subject, (id) => {
        access.recordRead(id === undefined || id === null ? undefined : String(id), coordinate);
        return next(parent, args, context, info);
      });
    }
    access.mask(responsePath(info), requires);
    return maskNeedsValue(mask) ? andThen(next(parent, args, context, info), (value) => applyMask(mask, value)) : null;
  };

interface AuditedArgs {
  action: AuditAction;
  customerArg?: string;
  customerFrom?: string;
  detailFrom?: string;
  detailArg?: string;
}

const audited =
  ({ action, customerArg, customerFrom, detailFrom, detailArg }: AuditedArgs): Wrapper =>
  (next) =>
  (parent, args, context, info) =>
    andThen(next(parent, args, context, info), async (value) => {
      const result = value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : null;
      const customerId =
        customerArg !== undefined && args[customerArg] != null ? String(args[customerArg]) : customerFrom !== undefined && result?.[customerFrom] != null ? String(result[customerFrom]) : null;
      // e.g. which source records a forget removed (IDs only, as the result holds them), or the kind of a lookup.
      const detail =
        detailFrom !== undefined && result ? `${info.fieldName} ${JSON.stringify(result[detailFrom] ?? null)}` : detailArg !== undefined ? `${info.fieldName} ${String(args[detailArg])}` : info.fieldName;
      await context.access.recordAction(action, customerId, detail);
      return value;
    });

/** What `***` stands for where a record ID is itself personal data. */
const MASKED_RECORD_ID = '***';

const personalRecordId =
  (coordinate: string, type: GraphQLObjectType, permission: string, personal: ReadonlySet<string>): Wrapper =>
  (next) =>
  (parent, args, context, info) => {
    const entityOf = (source: unknown, entity: unknown) => `${String(source)}.${String(entity)}`;
    const owner = andThen(resolveOwn(type, 'source', parent, context, info), (source) => andThen(resolveOwn(type, 'entity', parent, context, info), (entity) => entityOf(source, entity)));
    return andThen(owner, (entity) => {
      if (!personal.has(entity as string)) return next(parent, args, context, info);
      const { caller, access } = context;
      if (caller.permissions.has(permission)) {
        access.recordRead(access.subjectOf(parent), coordinate);
        return next(parent, args, context, info);
      }
      access.mask(responsePath(info), permission);
      return MASKED_RECORD_ID;
    });
  };

/** Remembers which data subject each returned object belongs to, so @pii reads beneath it name the customer. */
const carrySubject =
  (subject: { type: GraphQLObjectType; idField: string } | null): Wrapper =>
  (next) =>
  (parent, args, context, info) => {
    const result = next(parent, args, context, info);
    const { access } = context;
    if (!access.auditsReads) return result;
    const subjectId = subject ? resolveOwn(subject.type, subject.idField, parent, context, info) : access.subjectOf(parent);
    return andThen(result, (value) =>
      andThen(subjectId, (id) => {
        if (id !== undefined && id !== null) register(access, value, String(id));
        return value;
      }),
    );
  };

function register(access: RequestAccess, value: unknown, subjectId: string): void {
  if (Array.isArray(value)) for (const item of value) register(access, item, subjectId);
  else if (typeof value === 'object' && value !== null) access.setSubject(value, subjectId);
}

async function checkConsent(subjectType: GraphQLObjectType, hops: readonly string[], subject: unknown, context: ProtectedContext, info: GraphQLResolveInfo): Promise<ConsentCheck> {
  let type = subjectType;
  let value = subject;
  let firstHop: unknown = null;
  try {
    for (const [i, hop] of hops.entries()) {
      if (value === null || value === undefined) return { consented: false, firstHop };
      value = await resolveOwn(type, hop, value, context, info);
      if (i === 0) firstHop = value;
      const next = getNamedType(type.getFields()[hop]!.type);
      if (isObjectType(next)) type = next;
    }
  } catch (error) {
    // Consent that cannot be read is not consent; the field that owns the failing hop still reports the error.
    return { consented: false, firstHop, error };
  }
  return { consented: value === true, firstHop };
}

const consentGate =
  (field: GraphQLField<unknown, unknown>, subjectType: GraphQLObjectType, via: string): Wrapper =>
  (next) => {
    const hops = via.split('.');
    // When the field is the first hop of its own consent path (Customer.marketing via marketing.emailConsent), the
    // value read for the check is the answer: reusing it keeps the upstream call and its partial errors single.
    const reuseFirstHop = hops[0] === field.name && field.args.length === 0;
    const nullable = !isNonNullType(field.type);
    return (parent, args, context, info) => {
      if (!context.caller.consentRequired || typeof parent !== 'object' || parent === null) return next(parent, args, context, info);
      return context.access.consentOf(parent, via, () => checkConsent(subjectType, hops, parent, context, info)).then((check) => {
        if (reuseFirstHop && check.error !== undefined) throw check.error;
        if (check.consented) return reuseFirstHop ? check.firstHop : next(parent, args, context, info);
        if (nullable) {
          context.access.mask(responsePath(info), 'consent');
          return null;
        }
        return andThen(next(parent, args, context, info), (value) => {
          context.access.markWithoutConsent(value);
          return value;
        });
      });
    };
  };

function objectTypes(schema: GraphQLSchema): GraphQLObjectType[] {
  return Object.values(schema.getTypeMap()).filter((type): type is GraphQLObjectType => isObjectType(type) && !type.name.startsWith('__'));
}

/** Types with a @pii (or @recordId) field somewhere beneath them (a fixpoint over the type graph, so cycles are fine). */
function typesLeadingToPii(schema: GraphQLSchema, types: readonly GraphQLObjectType[]): Set<string> {
  const leads = new Set(types.filter((type) => Object.values(type.getFields()).some((f) => getDirective(schema, f, 'pii') || getDirective(schema, f, 'recordId'))).map((t) => t.name));
  for (let changed = true; changed; ) {
    changed = false;
    for (const type of types) {
      if (leads.has(type.name)) continue;
      if (Object.values(type.getFields()).some((f) => leads.has(getNamedType(f.type).name))) {
        leads.add(type.name);
        changed = true;
      }
    }
  }
  return leads;
}

/** Types reachable from a data subject: where objects can carry their subject's ID down to @pii fields. */
function typesBeneath(subjects: readonly GraphQLObjectType[]): Set<string> {
  const seen = new Set(subjects.map((t) => t.name));
  const queue = [...subjects];
  for (let type = queue.shift(); type; type = queue.shift()) {
    for (const field of Object.values(type.getFields())) {
      const named = getNamedType(field.type);
      if (isObjectType(named) && !seen.has(named.name)) {
        seen.add(named.name);
        queue.push(named);
      }
    }
  }
  return seen;
}

function validatePii(coordinate: string, field: GraphQLField<unknown, unknown>, mask: MaskName): void {
  if (isNonNullType(field.type)) throw new SchemaDirectiveError(coordinate, '@pii fields must be nullable, or they could not be masked');
  if (mask === 'EMAIL' && getNamedType(field.type).name !== 'String') throw new SchemaDirectiveError(coordinate, 'mask EMAIL needs a String field');
}

function validateVia(coordinate: string, subjectType: GraphQLObjectType, via: string): void {
  let type: GraphQLObjectType | null = subjectType;
  const hops = via.split('.');
  for (const [i, hop] of hops.entries()) {
    const field: GraphQLField<unknown, unknown> | undefined = type?.getFields()[hop];
    if (!field) throw new SchemaDirectiveError(coordinate, `@consented(via: "${via}"): no field "${hop}"`);
    const named: GraphQLNamedType = getNamedType(field.type);
    if (i === hops.length - 1 && named.name !== 'Boolean') throw new SchemaDirectiveError(coordinate, `@consented(via: "${via}") must end at a Boolean`);
    type = isObjectType(named) ? named : null;
  }
}

export interface ProtectOptions {
  /** `source.entity` pairs whose record IDs are personal data (config `idIsPersonal`): @recordId fields mask them. */
  personalRecordIds?: ReadonlySet<string>;
}

/** The resolver wrappers of every protected field, outermost first, keyed by schema coordinate. */
function accessPlan(schema: GraphQLSchema, options: ProtectOptions): Map<string, Wrapper[]> {
  const types = objectTypes(schema);
  const subjects = new Map(types.flatMap((type) => {
    const directive = getDirective(schema, type, 'dataSubject')?.[0];
    return directive ? [[type.name, { type, idField: String(directive.idField) }] as const] : [];
  }));
  for (const { type, idField } of subjects.values()) {
    if (!type.getFields()[idField]) throw new SchemaDirectiveError(type.name, `@dataSubject(idField: "${idField}"): no such field`);
  }
  const leadsToPii = typesLeadingToPii(schema, types);
  const beneathSubject = typesBeneath([...subjects.values()].map((s) => s.type));

  const plan = new Map<string, Wrapper[]>();
  for (const type of types) {
    for (const field of Object.values(type.getFields())) {
      const coordinate = `${type.name}.${field.name}`;
      const wrappers: Wrapper[] = [];
      const restricted = getDirective(schema, field, 'restricted')?.[0];
      if (restricted) wrappers.push(restrict(String(restricted.permission)));
      const pii = getDirective(schema, field, 'pii')?.[0];
      if (pii) {
        const mask = (pii.mask ?? 'NULL') as MaskName;
        validatePii(coordinate, field, mask);
        wrappers.push(personalData(coordinate, String(pii.permission), mask, subjects.get(type.name) ?? null));
      }
      const recordId = getDirective(schema, field, 'recordId')?.[0];
      if (recordId) {
        if (!type.getFields().source || !type.getFields().entity) throw new SchemaDirectiveError(coordinate, '@recordId needs its type to have source and entity fields');
        if (getNamedType(field.type).name !== 'String') throw new SchemaDirectiveError(coordinate, '@recordId needs a String field');
        wrappers.push(personalRecordId(coordinate, type, String(recordId.permission), options.personalRecordIds ?? new Set()));
      }
      const audit = getDirective(schema, field, 'audited')?.[0];
      if (audit) wrappers.push(audited(audit as unknown as AuditedArgs));
      const named = getNamedType(field.type);
      if (beneathSubject.has(type.name) && isObjectType(named) && leadsToPii.has(named.name)) wrappers.push(carrySubject(subjects.get(type.name) ?? null));
      const consented = getDirective(schema, field, 'consented')?.[0];
      if (consented) {
        const subject = subjects.get(type.name);
        if (!subject) throw new SchemaDirectiveError(coordinate, '@consented needs its type to be a @dataSubject');
        validateVia(coordinate, subject.type, String(consented.via));
        wrappers.push(consentGate(field, subject.type, String(consented.via)));
      }
      if (wrappers.length > 0) plan.set(coordinate, wrappers);
    }
  }
  return plan;
}

/** The executable schema with every access directive enforced; the input schema is left as it was. */
export function protectSchema(schema: GraphQLSchema, options: ProtectOptions = {}): GraphQLSchema {
  const plan = accessPlan(schema, options);
  return mapSchema(schema, {
    [MapperKind.OBJECT_FIELD]: (fieldConfig, fieldName, typeName) => {
      const wrappers = plan.get(`${typeName}.${fieldName}`);
      if (!wrappers) return fieldConfig;
      const own = (fieldConfig.resolve ?? defaultFieldResolver) as Resolver;
      return { ...fieldConfig, resolve: wrappers.reduceRight<Resolver>((next, wrap) => wrap(next), own) };
    },
  });
}
