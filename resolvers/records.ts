// Fields of source-backed records (orders, tickets, marketing, events), read from their mapped unified values.
import type { AnalyticsEventResolvers, MarketingResolvers, MarketingStatus, Money, OrderResolvers, TicketResolvers, TicketStatus } from '../src/generated/graphql.js';

const TICKET_STATUSES: ReadonlySet<string> = new Set<TicketStatus>(['NEW', 'OPEN', 'PENDING', 'SOLVED', 'CLOSED']);
const MARKETING_STATUSES: ReadonlySet<string> = new Set<MarketingStatus>(['SUBSCRIBED', 'UNSUBSCRIBED', 'CLEANED']);

const str = (value: unknown): string | null => (typeof value === 'string' ? value : typeof value === 'number' ? String(value) : null);
const int = (value: unknown): number | null => (typeof value === 'number' && Number.isInteger(value) ? value : null);

/** A status the schema does not know reads as null rather than failing the whole record. */
function oneOf<T extends string>(allowed: ReadonlySet<string>, value: unknown): T | null {
  return typeof value === 'string' && allowed.has(value) ? (value as T) : null;
}

export function money(amountMinor: unknown, currency: unknown): Money | null {
  const amount = int(amountMinor);
  const code = str(currency);
  if (amount === null || code === null) return null;
  const sign = amount < 0 ? '-' : '';
  const abs = Math.abs(amount);
  return { amountMinor: amount, currency: code, formatted: `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}` };
}

export const Order: OrderResolvers = {
  id: (order) => str(order.values.id) ?? order.recordId,
  number: (order) => str(order.values.number),
  status: (order) => str(order.values.status),
  placedAt: (order) => str(order.values.placedAt),
  total: (order) => money(order.values.totalMinor, order.values.currency),
  lineItems: (order) => {
    const items = Array.isArray(order.values.lineItems) ? (order.values.lineItems as Record<string, unknown>[]) : [];
    return items.map((item) => ({
      sku: str(item.sku),
      title: str(item.title),
      quantity: int(item.quantity) ?? 0,
      unitPrice: money(item.unitPriceMinor, order.values.currency),
    }));
  },
};

export const Ticket: TicketResolvers = {
  id: (ticket) => str(ticket.values.id) ?? ticket.recordId,
  subject: (ticket) => str(ticket.values.subject),
  status: (ticket) => oneOf<TicketStatus>(TICKET_STATUSES, ticket.values.status),
  priority: (ticket) => str(ticket.values.priority),
  createdAt: (ticket) => str(ticket.values.createdAt),
  updatedAt: (ticket) => str(ticket.values.updatedAt),
};

export const Marketing: MarketingResolvers = {
  id: (member) => member.customerId,
  status: (member) => oneOf<MarketingStatus>(MARKETING_STATUSES, member.values.status),
  emailConsent: (member) => (typeof member.values.emailConsent === 'boolean' ? member.values.emailConsent : null),
  consentedAt: (member) => str(member.values.consentedAt),
  lists: (member) => (Array.isArray(member.values.lists) ? (member.values.lists as string[]) : []),
};

export const AnalyticsEvent: AnalyticsEventResolvers = {
  id: (event) => str(event.values.id) ?? event.recordId,
  name: (event) => str(event.values.name) ?? 'unknown',
  occurredAt: (event) => str(event.values.occurredAt) ?? '',
  deviceId: (event) => str(event.values.deviceId) ?? '',
  properties: (event) => str(event.values.properties),
};
