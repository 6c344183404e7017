// Write-back mutations: the caller's permissions and input are checked before anything is sent (src/writes/).
import { ErrorCode } from '../src/errors/catalogue.js';
import { fieldError } from '../src/request/errors.js';
import { getDirective } from '@graphql-tools/utils';
import { isObjectType, type GraphQLSchema } from 'graphql';
import type { MutationResolvers, ProfileInput, WriteReceiptResolvers } from '../src/generated/graphql.js';
import { customerRef } from '../src/customer/model.js';
import type { RequestContext } from '../src/request/context.js';
import type { WriteValues } from '../src/sources/entity-writer.js';
import type { WriteField } from '../src/expressions/request-template.js';
import { checkIdempotencyKey, PROFILE_FIELD_OF, profileValues } from '../src/writes/input.js';
import { runWrite } from '../src/writes/write-back.js';

/** The @pii permission the schema gives `type.field` (one source of truth for reading and writing it); null when none. */
function piiPermission(schema: GraphQLSchema, type: string, field: string): string | null {
  const object = schema.getType(type);
  const definition = isObjectType(object) ? object.getFields()[field] : undefined;
  const pii = definition ? getDirective(schema, definition, 'pii')?.[0] : undefined;
  return pii ? String(pii.permission) : null;
}

/** The schema coordinates a write of these fields touches (`Profile.email`, `Profile.address`), for permissions and the audit log. */
function coordinatesOf(values: WriteValues): string[] {
  return [...new Set((Object.keys(values) as WriteField[]).map((field) => (field === 'emailConsent' ? 'Marketing.emailConsent' : `Profile.${PROFILE_FIELD_OF[field]}`)))].sort();
}

/** The unified fields an input names (non-null), before any check. */
function inputFields(input: ProfileInput): WriteField[] {
  const named: WriteField[] = (['firstName', 'lastName', 'name', 'email', 'phone'] as const).filter((f) => input[f] != null);
  if (input.address) named.push(...(['line1', 'city', 'postalCode', 'country'] as const).filter((f) => input.address![f] != null));
  return named;
}

/** Writing a field needs the permission to read it: a caller may not set what it could not see. */
function checkFieldPermissions(context: RequestContext, schema: GraphQLSchema, coordinates: readonly string[]): void {
  for (const coordinate of coordinates) {
    const [type, field] = coordinate.split('.') as [string, string];
    const permission = piiPermission(schema, type, field);
    if (permission !== null && !context.caller.permissions.has(permission)) {
      throw fieldError(ErrorCode.FORBIDDEN, `writing ${coordinate} requires the "${permission}" permission; nothing was sent`, { permission });
    }
  }
}

export const writeMutations: Pick<MutationResolvers, 'updateCustomerProfile' | 'setMarketingConsent'> = {
  updateCustomerProfile: async (_parent, { id, input, idempotencyKey, dryRun }, context, info) => {
    // Permissions first, from what the input names: a caller without them learns nothing of how its values would fare.
    checkFieldPermissions(context, info.schema, coordinatesOf(Object.fromEntries(inputFields(input).map((f) => [f, '']))));
    const values = profileValues(input, context.config.identity.defaultPhoneRegion);
    const auditFields = coordinatesOf(values);
    return runWrite(context, { operation: 'updateCustomerProfile', id, values, idempotencyKey: checkIdempotencyKey(idempotencyKey), dryRun: dryRun === true, auditFields });
  },

  setMarketingConsent: async (_parent, { id, consent, idempotencyKey }, context, info) => {
    const values: WriteValues = { emailConsent: consent };
    const auditFields = coordinatesOf(values);
    checkFieldPermissions(context, info.schema, auditFields);
    return runWrite(context, { operation: 'setMarketingConsent', id, values, idempotencyKey: checkIdempotencyKey(idempotencyKey), dryRun: false, auditFields });
  },
};

export const WriteReceipt: WriteReceiptResolvers = {
  customer: async (receipt, _args, context) => customerRef(await context.directory.customer(receipt.customerId)),
};
