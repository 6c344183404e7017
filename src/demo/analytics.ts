// Simulated product analytics (Amplitude/Segment-like): devices with page tokens and a POST query for recent events.
import type { Dataset } from './dataset.js';
import {
  HttpApp, badRequest, bodyArray, bodyField, decodeCursor, encodeCursor, intQuery, isString, listQuery, stringQuery,
} from './http-app.js';
import type { SimulatedSource, SourceOptions } from './http-app.js';
import { indexMany, indexUnique, newestFirst, pickExisting, toWire } from './record-index.js';

const ANALYTICS_MAX_BATCH_IDS = 100;
const ANALYTICS_MAX_PAGE_SIZE = 1000;
const ANALYTICS_DEFAULT_EVENTS_PER_DEVICE = 50;
const ANALYTICS_MAX_EVENTS_PER_DEVICE = 200;
const PAGE_TOKEN_KIND = 'devices_offset';

function eventLimit(body: unknown): number {
  const raw = bodyField(body, 'limit_per_device');
  if (raw === undefined) return ANALYTICS_DEFAULT_EVENTS_PER_DEVICE;
  if (!Number.isInteger(raw) || (raw as number) < 1 || (raw as number) > ANALYTICS_MAX_EVENTS_PER_DEVICE) {
    throw badRequest(`limit_per_device must be an integer between 1 and ${ANALYTICS_MAX_EVENTS_PER_DEVICE}`);
  }
  return raw as number;
}

export function createAnalyticsServer(data: Dataset, options: SourceOptions = {}): SimulatedSource {
  const devices = data.analytics.devices;
  const byId = indexUnique(devices, (d) => d.device_id);
  const byEmailMd5 = indexMany(devices, (d) => d.email_md5);
  const byUserId = indexMany(devices, (d) => d.user_id);
  const eventsByDevice = indexMany(data.analytics.events, (e) => e.device_id);
  for (const events of eventsByDevice.values()) events.sort((a, b) => newestFirst(a.timestamp, b.timestamp));

  return new HttpApp('analytics', options)
    .get('/devices', ({ query }) => {
      const ids = listQuery(query, 'ids', { max: ANALYTICS_MAX_BATCH_IDS });
      if (ids) return { devices: pickExisting(ids, byId).map(toWire) };

      const size = intQuery(query, 'page_size', { fallback: 100, min: 1, max: ANALYTICS_MAX_PAGE_SIZE });
      const token = stringQuery(query, 'page_token');
      const offset = token === undefined ? 0 : decodeCursor(token, PAGE_TOKEN_KIND, 'page_token');
      const end = offset + size;
      return {
        devices: devices.slice(offset, end).map(toWire),
        next_page_token: end < devices.length ? encodeCursor(PAGE_TOKEN_KIND, end) : null,
      };
    })
    .get('/devices/search', ({ query }) => {
      const md5 = stringQuery(query, 'email_md5');
      const userId = stringQuery(query, 'user_id');
      if (md5 !== undefined) return { devices: (byEmailMd5.get(md5.toLowerCase()) ?? []).map(toWire) };
      if (userId !== undefined) return { devices: (byUserId.get(userId) ?? []).map(toWire) };
      throw badRequest('search needs an email_md5 or user_id parameter');
    })
    .post('/events/query', ({ body }) => {
      const deviceIds = bodyArray(body, 'device_ids', { max: ANALYTICS_MAX_BATCH_IDS, isItem: isString, itemKind: 'strings' });
      const limit = eventLimit(body);
      // One result per requested device, unknown ones with no events, so callers can zip results with their keys.
      return {
        results: [...new Set(deviceIds)].map((device_id) => ({
          device_id,
          events: (eventsByDevice.get(device_id) ?? []).slice(0, limit).map(toWire),
        })),
      };
    });
}
