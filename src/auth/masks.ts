// The masked forms a schema may ask for in `@pii(mask: ...)`: what a caller without the permission sees instead.

export type MaskName = 'NULL' | 'EMAIL';

/** `jane.doe@example.com` → `j***@example.com`: enough to recognise a mailbox, not to write to it. */
export function maskEmail(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const at = value.lastIndexOf('@');
  if (at < 1) return null;
  return `${value[0]}***${value.slice(at)}`;
}

export function applyMask(mask: MaskName, value: unknown): unknown {
  switch (mask) {
    case 'NULL':
      return null;
    case 'EMAIL':
      return maskEmail(value);
  }
}

/** Masks whose output is computed from the value, so the value must be resolved before it is masked. */
export function maskNeedsValue(mask: MaskName): boolean {
  return mask !== 'NULL';
}
