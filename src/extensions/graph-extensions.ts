// Loads the extension SDL files a config names (`schema.extensions`) and checks them against the core schema and the
// entities that provide their fields, so a graph extended by files alone either starts whole or not at all.
//
// An extension may `extend type Customer` with lists fed by child entities (`provides: Customer.<field>`), `extend
// type Profile` with fields fed through the profile mapping (merged by survivorship like the core ones), and declare
// the object types and enums those fields need. Every problem is a ConfigError naming the config key, the file, and
// the type and field it is about.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import {
  buildSchema,
  extendSchema,
  getNamedType,
  getNullableType,
  GraphQLError,
  isEnumType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  Kind,
  parse,
  Source,
  visit,
  type DefinitionNode,
  type DocumentNode,
  type FieldDefinitionNode,
  type GraphQLEnumType,
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLSchema,
} from 'graphql';
import { ConfigError, type ConfigProblem } from '../config/load.js';
import { UNIFIED_TARGETS, isExtensionTarget, type EntityConfig, type ExtensionTarget, type FieldMapping, type HubConfig } from '../config/schema.js';
import { loadTypeDefs } from '../sdl/type-defs.js';
import type { TransformName } from '../expressions/transform-names.js';
import type { ChildOrder } from '../customer/facets.js';

/** The most items a list field answers: the same bound as the core lists' `first`. */
export const MAX_LIST_ITEMS = 100;

/** `Customer.<name>`: a list of an extension object type, read from the children of linked records. */
interface ExtensionList {
  name: string;
  target: ExtensionTarget;
  itemType: string;
  /** Whether the field takes `first`; without it the list answers every item (at most MAX_LIST_ITEMS). */
  takesFirst: boolean;
  file: string;
  /** The providers' `sort` (they must agree: the list is merged across them before `first` applies). */
  order: ChildOrder;
}

/** What the extension files add to the graph, checked against the core schema and the config. */
export interface GraphExtensions {
  /** Each file's SDL in file-name order under a comment naming it; '' without extensions. */
  sdl: string;
  customerLists: readonly ExtensionList[];
  /** Profile fields the extensions add, merged by survivorship from the entities that provide `profile`. */
  profileFields: readonly string[];
  /** Object types the extensions declare: each field answers the mapped value of the same name. */
  objectTypes: ReadonlyMap<string, readonly string[]>;
}

const NO_EXTENSIONS: GraphExtensions = { sdl: '', customerLists: [], profileFields: [], objectTypes: new Map() };

/** Core types an extension may add fields to. */
const EXTENSIBLE = ['Customer', 'Profile'] as const;

interface ExtensionFile {
  name: string;
  text: string;
  document: DocumentNode;
}

const FOLDER_KEY = 'schema.extensions';

/** The `.graphql` files of the folder, parsed; syntax errors name the file, line and column. */
function readFiles(folder: string, problems: ConfigProblem[]): ExtensionFile[] {
  let names: string[];
  try {
    if (!statSync(folder).isDirectory()) throw new Error('not a folder');
    names = readdirSync(folder).filter((file) => file.endsWith('.graphql')).sort();
  } catch (error) {
    problems.push({ path: FOLDER_KEY, message: `cannot read the extension folder ${folder}: ${(error as Error).message}` });
    return [];
  }
  if (names.length === 0) problems.push({ path: FOLDER_KEY, message: `${folder} holds no .graphql files` });
  const files: ExtensionFile[] = [];
  for (const name of names) {
    const text = readFileSync(join(folder, name), 'utf8');
    try {
      files.push({ name, text, document: parse(new Source(text, name)) });
    } catch (error) {
      const where = error instanceof GraphQLError && error.locations?.[0] ? `:${error.locations[0].line}:${error.locations[0].column}` : '';
      problems.push({ path: FOLDER_KEY, message: `${name}${where}: ${error instanceof GraphQLError ? error.message : String(error)}` });
    }
  }
  return files;
}

const definedName = (definition: DefinitionNode): string | undefined => ('name' in definition && definition.name ? definition.name.value : undefined);

/** Conflicts with the core schema and with other files, and what extensions may not declare; by file. */
function checkDefinitions(files: readonly ExtensionFile[], core: GraphQLSchema, problems: ConfigProblem[]): void {
  const declared = new Map<string, string>();
  const addedFields = new Map<string, string>();
  for (const { name: file, document } of files) {
    for (const definition of document.definitions) {
      const name = definedName(definition);
      const at = (message: string) => problems.push({ path: FOLDER_KEY, message: `${file}: ${message}` });
      switch (definition.kind) {
        case Kind.OBJECT_TYPE_DEFINITION:
        case Kind.ENUM_TYPE_DEFINITION:
          if (core.getType(name!)) at(`type ${name} conflicts with the core type of that name: pick another name`);
          else if (declared.has(name!)) at(`type ${name} is also declared in ${declared.get(name!)}`);
          else declared.set(name!, file);
          break;
        case Kind.OBJECT_TYPE_EXTENSION:
          if (!(EXTENSIBLE as readonly string[]).includes(name!)) {
            at(`extend type ${name}: extensions add fields to ${EXTENSIBLE.join(' and ')} only${core.getType(name!) ? '' : ` (and ${name} is no core type)`}`);
            break;
          }
          for (const field of definition.fields ?? []) {
            const coordinate = `${name}.${field.name.value}`;
            if ((core.getType(name!) as GraphQLObjectType).getFields()[field.name.value]) at(`${coordinate} conflicts with the core field of that name`);
            else if (addedFields.has(coordinate)) at(`${coordinate} is also added in ${addedFields.get(coordinate)}`);
            else addedFields.set(coordinate, file);
          }
          break;
        default:
          at(`${definition.kind}${name ? ` ${name}` : ''} is not supported in an extension: declare object types and enums, and extend ${EXTENSIBLE.join(' and ')}`);
      }
    }
  }
  // A type no file and no core declares, named by file, type and field (graphql-js would name neither file nor field).
  for (const { name: file, document } of files) {
    let type = '';
    let field = '';
    visit(document, {
      ObjectTypeDefinition: (node) => void (type = node.name.value),
      ObjectTypeExtension: (node) => void (type = node.name.value),
      FieldDefinition: (node) => void (field = node.name.value),
      NamedType: (node) => {
        const name = node.name.value;
        if (!core.getType(name) && !declared.has(name)) problems.push({ path: FOLDER_KEY, message: `${file}: ${type}.${field} uses type ${name}, which neither the core schema nor an extension declares` });
      },
    });
  }
}

/** What a transform's output can be answered as. */
type ValueKind = 'text' | 'date' | 'integer' | 'boolean' | 'json' | 'textList';
const TRANSFORM_KINDS: Record<TransformName, ValueKind> = {
  string: 'text',
  email: 'text',
  phone: 'text',
  upper: 'text',
  lower: 'text',
  date: 'date',
  money: 'integer',
  moneyMajor: 'integer',
  integer: 'integer',
  boolean: 'boolean',
  json: 'json',
  stringList: 'textList',
};
/** Which value kinds each scalar accepts without losing or inventing anything. */
const SCALAR_ACCEPTS: Record<string, readonly ValueKind[]> = {
  String: ['text', 'date', 'integer'],
  ID: ['text', 'integer'],
  Int: ['integer'],
  Float: ['integer'],
  Boolean: ['boolean'],
  DateTime: ['date'],
  JSON: ['text', 'date', 'integer', 'boolean', 'json', 'textList'],
};
const TRANSFORM_FOR: Record<ValueKind, TransformName> = { text: 'string', date: 'date', integer: 'integer', boolean: 'boolean', json: 'json', textList: 'stringList' };

/** Why `mapping` cannot feed a field of `type`, or null when it can. */
function incompatibility(type: GraphQLOutputType, mapping: FieldMapping | { each: unknown }): string | null {
  if (typeof mapping === 'object' && 'each' in mapping) return 'takes a path or { path, transform, values }: nested `each` mappings feed Order.lineItems only';
  const { transform = 'string', values } = typeof mapping === 'string' ? { transform: undefined, values: undefined } : mapping;
  const kind = TRANSFORM_KINDS[transform];
  const nullable = getNullableType(type);
  const named = getNamedType(type);
  if (isListType(nullable)) {
    if (isListType(getNullableType(nullable.ofType))) return 'is a list of lists, which no mapping feeds';
    if (kind !== 'textList' && kind !== 'json') return `is a list: map it with transform: stringList (got ${transform})`;
    if (!isEnumType(named) && !(named.name === 'String' || named.name === 'ID')) return `is a list of ${named.name}: only lists of text or enum values are mapped (stringList)`;
  } else if (isEnumType(named)) {
    if (kind !== 'text') return `is the enum ${named.name}: map it as text (string, upper, lower), got ${transform}`;
  } else if (isScalarType(named)) {
    const accepts = SCALAR_ACCEPTS[named.name] ?? [];
    if (!accepts.includes(kind)) return `is ${named.name}: map it with transform: ${TRANSFORM_FOR[accepts[0] ?? 'json']} (got ${transform})`;
  } else {
    return `is the object type ${named.name}: only scalar and enum fields are mapped`;
  }
  if (values) {
    if (!isEnumType(named)) return `is not an enum: \`values\` maps a source's text onto enum values`;
    const wrong = Object.values(values).filter((value) => !(named as GraphQLEnumType).getValue(value));
    if (wrong.length > 0) return `\`values\` names ${wrong.map((v) => `"${v}"`).join(', ')}, not a value of ${named.name} (${(named as GraphQLEnumType).getValues().map((v) => v.name).join(', ')})`;
  }
  return null;
}

/** Fields a profile entity may map: the core profile targets and the fields extensions add to Profile. */
function checkProfileEntity(key: string, entity: EntityConfig, profile: GraphQLObjectType, added: ReadonlyMap<string, string>, problems: ConfigProblem[]): void {
  const core: readonly string[] = UNIFIED_TARGETS.profile;
  for (const [field, mapping] of Object.entries(entity.mapping)) {
    if (core.includes(field)) continue;
    const file = added.get(field);
    if (file === undefined) {
      problems.push({ path: `${key}.mapping.${field}`, message: `unknown profile field "${field}"; expected one of: ${core.join(', ')}, or a field an extension adds to Profile${added.size > 0 ? ` (${[...added.keys()].join(', ')})` : ''}` });
      continue;
    }
    const why = incompatibility(profile.getFields()[field]!.type, mapping);
    if (why) problems.push({ path: `${key}.mapping.${field}`, message: `${file}: Profile.${field} ${why}` });
  }
}

/** An entity feeding `Customer.<field>`: its mapping against the list's item type. */
function checkListEntity(key: string, entity: EntityConfig, list: ExtensionList, itemType: GraphQLObjectType, problems: ConfigProblem[]): void {
  const fields = itemType.getFields();
  for (const [field, mapping] of Object.entries(entity.mapping)) {
    const declared = fields[field];
    if (!declared) {
      problems.push({ path: `${key}.mapping.${field}`, message: `${list.file}: ${itemType.name} has no field "${field}" (it has ${Object.keys(fields).join(', ')})` });
      continue;
    }
    const why = incompatibility(declared.type, mapping);
    if (why) problems.push({ path: `${key}.mapping.${field}`, message: `${list.file}: ${itemType.name}.${field} ${why}` });
  }
  for (const field of Object.values(fields)) {
    if (isNonNullType(field.type) && !(field.name in entity.mapping)) {
      problems.push({ path: `${key}.mapping`, message: `${list.file}: ${itemType.name}.${field.name} is non-null (${String(field.type)}) but not mapped: map it, or declare it nullable` });
    }
  }
  if (entity.sort && !(entity.sort.field in entity.mapping)) {
    problems.push({ path: `${key}.sort.field`, message: `${list.file}: sort by "${entity.sort.field}", which is not a mapped field of ${itemType.name}` });
  }
}

/** The declaration of `Customer.<name>` as a list the hub can answer, or the reason it is not one. */
function listShape(field: GraphQLField<unknown, unknown>, declaredTypes: ReadonlyMap<string, string>): { itemType: string; takesFirst: boolean } | string {
  if (isNonNullType(field.type)) return `is ${String(field.type)}: declare the list nullable (${String(field.type.ofType)}), so a failing source answers null with an error instead of failing the whole customer`;
  if (!isListType(field.type)) return `is ${String(field.type)}: a Customer field an extension adds is a list of an extension object type, e.g. [Subscription!]`;
  const item = getNamedType(field.type);
  if (!isObjectType(item) || !declaredTypes.has(item.name) || isListType(getNullableType(field.type.ofType))) return `is ${String(field.type)}: a Customer field an extension adds is a list of an object type an extension declares`;
  let takesFirst = false;
  for (const arg of field.args) {
    if (arg.name !== 'first') return `takes argument "${arg.name}", which the hub cannot honour: extension lists take \`first: Int = <default>\` only`;
    if (String(arg.type) !== 'Int' || typeof arg.defaultValue !== 'number') return `first: ${String(arg.type)}${arg.defaultValue === undefined ? '' : ` = ${String(arg.defaultValue)}`}: declare it \`first: Int = 20\` (a default between 0 and ${MAX_LIST_ITEMS})`;
    if (arg.defaultValue < 0 || arg.defaultValue > MAX_LIST_ITEMS) return `first defaults to ${arg.defaultValue}: between 0 and ${MAX_LIST_ITEMS}`;
    takesFirst = true;
  }
  return { itemType: item.name, takesFirst };
}

function fileOf(node: FieldDefinitionNode | undefined | null): string {
  return node?.loc?.source.name ?? '(extension)';
}

/** Reads, checks and describes the extensions of `config`; throws ConfigError listing every problem. */
function loadGraphExtensions(config: HubConfig, coreSdl: string = loadTypeDefs(), configFile?: string): GraphExtensions {
  const folder = config.schema.extensions;
  if (!folder) return NO_EXTENSIONS;
  const problems: ConfigProblem[] = [];
  const fail = () => new ConfigError(problems, configFile);
  const core = buildSchema(coreSdl);
  const files = readFiles(folder, problems);
  if (problems.length > 0) throw fail();
  checkDefinitions(files, core, problems);
  if (problems.length > 0) throw fail();

  const combined: DocumentNode = { kind: Kind.DOCUMENT, definitions: files.flatMap((f) => f.document.definitions) };
  let schema: GraphQLSchema;
  try {
    schema = extendSchema(core, combined);
  } catch (error) {
    throw new ConfigError([{ path: FOLDER_KEY, message: (error as Error).message }], configFile);
  }

  const declaredTypes = new Map<string, string>();
  for (const file of files) for (const d of file.document.definitions) if (d.kind === Kind.OBJECT_TYPE_DEFINITION || d.kind === Kind.ENUM_TYPE_DEFINITION) declaredTypes.set(d.name.value, file.name);
  const customer = schema.getType('Customer') as GraphQLObjectType;
  const profile = schema.getType('Profile') as GraphQLObjectType;
  const coreCustomer = (core.getType('Customer') as GraphQLObjectType).getFields();
  const coreProfile = (core.getType('Profile') as GraphQLObjectType).getFields();

  const customerLists: ExtensionList[] = [];
  for (const field of Object.values(customer.getFields())) {
    if (coreCustomer[field.name]) continue;
    const file = fileOf(field.astNode);
    const shape = listShape(field, declaredTypes);
    if (typeof shape === 'string') problems.push({ path: FOLDER_KEY, message: `${file}: Customer.${field.name} ${shape}` });
    else customerLists.push({ name: field.name, target: `Customer.${field.name}`, ...shape, file, order: null });
  }
  const addedProfile = new Map<string, string>();
  for (const field of Object.values(profile.getFields())) {
    if (coreProfile[field.name]) continue;
    const file = fileOf(field.astNode);
    addedProfile.set(field.name, file);
    if (field.args.length > 0) problems.push({ path: FOLDER_KEY, message: `${file}: Profile.${field.name} takes arguments, which a merged profile value cannot honour` });
    if (isNonNullType(field.type)) problems.push({ path: FOLDER_KEY, message: `${file}: Profile.${field.name} is ${String(field.type)}: declare it nullable, since no linked record may hold it` });
    if (isObjectType(getNamedType(field.type))) problems.push({ path: FOLDER_KEY, message: `${file}: Profile.${field.name} is the object type ${getNamedType(field.type).name}: profile fields an extension adds are scalars or enums` });
  }

  // Each entity against the fields it provides, and each added field against the entities that provide it.
  const provided = new Map<string, number>();
  for (const [sourceName, source] of Object.entries(config.sources)) {
    for (const [entityName, entity] of Object.entries(source.entities)) {
      const key = `sources.${sourceName}.entities.${entityName}`;
      if (entity.provides === 'profile') {
        checkProfileEntity(key, entity, profile, addedProfile, problems);
        for (const field of Object.keys(entity.mapping)) if (addedProfile.has(field)) provided.set(`Profile.${field}`, (provided.get(`Profile.${field}`) ?? 0) + 1);
      } else if (isExtensionTarget(entity.provides)) {
        const name = entity.provides.slice('Customer.'.length);
        const list = customerLists.find((l) => l.name === name);
        if (!list) {
          const why = coreCustomer[name] ? `Customer.${name} is a core field: provide it with \`provides: ${name}\`` : `no extension adds Customer.${name}${customerLists.length > 0 ? ` (they add ${customerLists.map((l) => l.target).join(', ')})` : ''}`;
          problems.push({ path: `${key}.provides`, message: why });
          continue;
        }
        checkListEntity(key, entity, list, schema.getType(list.itemType) as GraphQLObjectType, problems);
        const order: ChildOrder = entity.sort ?? null;
        if (provided.has(list.target) && JSON.stringify(order) !== JSON.stringify(list.order)) {
          problems.push({ path: `${key}.sort`, message: `${list.file}: the entities providing ${list.target} sort it differently: one list has one order, so give them the same sort` });
        }
        list.order = order;
        provided.set(list.target, (provided.get(list.target) ?? 0) + 1);
      }
    }
  }
  for (const list of customerLists) {
    if (!provided.has(list.target)) problems.push({ path: 'sources', message: `${list.file}: no entity provides ${list.target}: add \`provides: ${list.target}\` to a child entity` });
  }
  for (const [field, file] of addedProfile) {
    if (!provided.has(`Profile.${field}`)) problems.push({ path: 'sources', message: `${file}: no profile entity maps Profile.${field}: add \`${field}: <path>\` to the mapping of an entity that provides profile` });
  }
  if (problems.length > 0) throw fail();

  const objectTypes = new Map<string, string[]>();
  for (const name of declaredTypes.keys()) {
    const type = schema.getType(name);
    if (isObjectType(type)) objectTypes.set(name, Object.keys(type.getFields()));
  }
  return {
    sdl: files.map((f) => `# ${basename(f.name)} (extension)\n${f.text.trimEnd()}\n`).join('\n'),
    customerLists,
    profileFields: [...addedProfile.keys()],
    objectTypes,
  };
}

/** Loaded once per config: the hub's schema, its survivorship rule and `rosetta schema` all ask. */
const loaded = new WeakMap<HubConfig, GraphExtensions>();

export function graphExtensions(config: HubConfig, configFile?: string): GraphExtensions {
  let extensions = loaded.get(config);
  if (!extensions) loaded.set(config, (extensions = loadGraphExtensions(config, undefined, configFile)));
  return extensions;
}

/** The SDL the hub serves: the core schema and, after it, the extension files. */
export function hubTypeDefs(extensions: GraphExtensions, coreSdl: string = loadTypeDefs()): string {
  return extensions.sdl ? `${coreSdl.trimEnd()}\n\n${extensions.sdl}` : coreSdl;
}
