// Fields of source-backed records (orders, tickets, marketing, events), read from their mapped unified values.
import type { GraphQLResolveInfo } from 'graphql';
import type { AnalyticsEventResolvers, MarketingResolvers, Money, OrderResolvers, TicketResolvers } from '../src/generated/graphql.js';
import { rawText, reportUnreadable, typedValue } from '../src/customer/typed-values.js';
import type { MappedRecord } from '../src/sources/connector.js';
import type { RequestContext } from '../src/request/context.js';

const str = (value: unknown): string | null => (typeof value === 'string' ? value : typeof value === 'number' ? String(value) : null);
const int = (value: unknown): number | null => (typeof value === 'number' && Number.isInteger(value) ? value : null);

/**
 * A mapped field fitted to the type its GraphQL field declares (enums through the source's value map, UNKNOWN for
 * values a source adds later; DateTime, JSON): a value that does not fit fails alone (src/customer/typed-values.ts).
 * The cast is the one place codegen's types meet the schema's runtime check: `typedValue` answers the field's type.
 */
const typed =
  <T>(field: string) =>
  (record: MappedRecord, _args: unknown, context: RequestContext, info: GraphQLResolveInfo): T =>
    typedValue(record.values[field], record, field, context, info) as T;

function money(amountMinor: unknown, currency: unknown): Money | null {
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
  status: typed('status'),
  statusRaw: (order) => rawText(order.values.status),
  placedAt: typed('placedAt'),
  total: (order, _args, context, info) => (reportUnreadable(order, ['totalMinor', 'currency'], context, info) ? null : money(order.values.totalMinor, order.values.currency)),
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
  status: typed('status'),
  statusRaw: (ticket) => rawText(ticket.values.status),
  priority: typed('priority'),
  priorityRaw: (ticket) => rawText(ticket.values.priority),
  createdAt: typed('createdAt'),
  updatedAt: typed('updatedAt'),
};

export const Marketing: MarketingResolvers = {
  id: (member) => member.customerId,
  status: typed('status'),
  statusRaw: (member) => rawText(member.values.status),
  emailConsent: typed('emailConsent'),
  consentedAt: typed('consentedAt'),
  lists: (member, _args, context, info) => (reportUnreadable(member, ['lists'], context, info) || !Array.isArray(member.values.lists) ? [] : (member.values.lists as string[])),
};

export const AnalyticsEvent: AnalyticsEventResolvers = {
  id: (event) => str(event.values.id) ?? event.recordId,
  name: (event) => str(event.values.name) ?? 'unknown',
  occurredAt: typed('occurredAt'),
  deviceId: (event) => str(event.values.deviceId) ?? '',
  properties: (event) => event.values.properties ?? null,
};
