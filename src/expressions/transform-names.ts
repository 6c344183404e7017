// The names of the value transforms a field mapping may apply (`transform: date`): part of the config's language, so
// the config schema accepts exactly these; sources/transforms.ts implements each one.
export const TRANSFORM_NAMES = ['string', 'email', 'phone', 'date', 'money', 'moneyMajor', 'integer', 'boolean', 'upper', 'lower', 'json', 'stringList'] as const;
export type TransformName = (typeof TRANSFORM_NAMES)[number];
