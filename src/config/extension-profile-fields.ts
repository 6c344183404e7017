// The Profile fields the extension folder's SDL files add, read leniently. The config layer needs only this much of
// the extensions (whose full check, extensions/graph-extensions.ts, reads the config's types and so sits above it):
// enough to judge profile mapping keys in a config that is invalid for other reasons, and report all at once.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kind, parse } from 'graphql';

/**
 * The names of the fields the folder's files add to Profile, read as far as the files parse: for reporting unknown
 * profile mapping keys beside a config's other errors, before the config is valid enough to check whole.
 */
export function profileFieldsDeclaredIn(folder: string): Set<string> {
  const fields = new Set<string>();
  try {
    for (const name of readdirSync(folder).filter((file) => file.endsWith('.graphql'))) {
      try {
        for (const d of parse(readFileSync(join(folder, name), 'utf8')).definitions) {
          if (d.kind === Kind.OBJECT_TYPE_EXTENSION && d.name.value === 'Profile') for (const f of d.fields ?? []) fields.add(f.name.value);
        }
      } catch {
        // A file that does not parse is reported, with its line, once the config is otherwise valid.
      }
    }
  } catch {
    // So is a folder that cannot be read.
  }
  return fields;
}
