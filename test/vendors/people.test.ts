// The vendor datasets: deterministic per seed, overlapping across vendors so identity matching has work to do.
import { describe, expect, test } from 'vitest';
import { VENDOR_NAMES, generateVendorData } from '../../src/demo/vendors/people.js';
import { vendorData } from './helpers.js';

describe('vendor people', () => {
  test('the same seed gives the same records at every vendor', () => {
    const again = generateVendorData({ people: 250, seed: 7 });
    for (const vendor of VENDOR_NAMES) {
      expect(again.holders[vendor].map((h) => [h.person.personId, h.email, h.phone])).toEqual(vendorData.holders[vendor].map((h) => [h.person.personId, h.email, h.phone]));
    }
  });

  test.each(VENDOR_NAMES.flatMap((a, i) => VENDOR_NAMES.slice(i + 1).map((b) => [a, b] as const)))('%s and %s share people, and hold some the other does not', (a, b) => {
    const inA = new Set(vendorData.holders[a].map((h) => h.person.personId));
    const inB = new Set(vendorData.holders[b].map((h) => h.person.personId));
    const shared = [...inA].filter((p) => inB.has(p));
    expect(shared.length).toBeGreaterThan(50);
    expect(inA.size - shared.length).toBeGreaterThan(0);
    expect(inB.size - shared.length).toBeGreaterThan(0);
  });

  test('every record carries an email or a phone whose normal form is its person’s', () => {
    for (const vendor of VENDOR_NAMES) {
      for (const h of vendorData.holders[vendor]) {
        expect(h.email !== null || h.phone !== null).toBe(true);
        if (h.email !== null) expect(h.email.trim().toLowerCase()).toBe(h.person.email);
        if (h.phone !== null) expect(h.phone.replace(/\D/g, '').replace(/^1(?=\d{10}$)/, '')).toBe(h.person.phone.slice(2));
      }
    }
  });
});
