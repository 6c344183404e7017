// The demo shop's subscriptions (subscribe-and-save boxes), derived from its customers alone: no draw from the
// dataset's random stream, so adding them changed no other record of the seeded data.
import type { ShopCustomer } from './dataset.js';

type ShopSubscriptionStatus = 'active' | 'paused' | 'cancelled' | 'expired' | 'pending_payment';

export interface ShopSubscription {
  /** Integer from 7000001, in customer order. */
  id: number;
  customer_id: number;
  plan: { code: string; name: string; interval: 'week' | 'month' | 'year' };
  status: ShopSubscriptionStatus;
  price_cents: number;
  currency: 'USD' | 'EUR';
  started_at: string;
  /** Null once the subscription ended. */
  next_billing_at: string | null;
  cancelled_at: string | null;
}

const PLANS = [
  { code: 'coffee-weekly', name: 'Coffee of the week', interval: 'week', price_cents: 1450 },
  { code: 'pantry-monthly', name: 'Pantry box', interval: 'month', price_cents: 3900 },
  { code: 'club-yearly', name: 'Members club', interval: 'year', price_cents: 9900 },
] as const;
/** `pending_payment` is a status the demo config's value map names on purpose; the rest go by their upper-case form. */
const STATUSES: readonly ShopSubscriptionStatus[] = ['active', 'active', 'paused', 'active', 'cancelled', 'pending_payment', 'active', 'expired'];
const DAY_MS = 86_400_000;
const INTERVAL_MS = { week: 7 * DAY_MS, month: 30 * DAY_MS, year: 365 * DAY_MS } as const;

/** Two customers in three subscribe, every fifth of those twice (the older one usually ended). */
export function shopSubscriptions(customers: readonly ShopCustomer[]): ShopSubscription[] {
  const subscriptions: ShopSubscription[] = [];
  for (const customer of customers) {
    const n = customer.id;
    if (n % 3 === 0) continue;
    const count = n % 5 === 0 ? 2 : 1;
    for (let k = 0; k < count; k++) {
      const plan = PLANS[(n + k) % PLANS.length]!;
      const status = STATUSES[(n * 7 + k * 3) % STATUSES.length]!;
      const started = Date.parse(customer.created_at) + (5 + k * 45 + (n % 17)) * DAY_MS;
      const ended = status === 'cancelled' || status === 'expired';
      subscriptions.push({
        id: 7_000_001 + subscriptions.length,
        customer_id: n,
        plan: { code: plan.code, name: plan.name, interval: plan.interval },
        status,
        price_cents: plan.price_cents,
        currency: n % 4 === 0 ? 'EUR' : 'USD',
        started_at: new Date(started).toISOString(),
        next_billing_at: ended ? null : new Date(started + INTERVAL_MS[plan.interval] * (1 + (n % 4))).toISOString(),
        cancelled_at: ended ? new Date(started + INTERVAL_MS[plan.interval] * 2).toISOString() : null,
      });
    }
  }
  return subscriptions;
}
