// Counted facts of the link table's inputs: events applied, stale or replayed, and input refused as invalid.

/** Why an input never reached the link table. */
export type InvalidInput = 'record_id' | 'email' | 'phone';

export class LinkCounters {
  /** Record changes (from webhooks, syncs and lookups) that reached the planner. */
  applied = 0;
  /** Record changes ignored because the table already holds that version of the record or a newer one. */
  stale = 0;
  /** Webhook deliveries refused as replays: signed too long ago (or in the future), or an event ID already applied. */
  replays = 0;
  /** Inputs refused as invalid, by what was wrong: never linked, never stored. */
  readonly invalid: Record<InvalidInput, number> = { record_id: 0, email: 0, phone: 0 };
}
