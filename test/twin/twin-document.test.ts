import { describe, expect, it } from 'vitest';
import { applyMergePatch, computeDelta, MAX_TWIN_DEPTH, MAX_TWIN_LEAVES, toMetadataTree } from '../../src/twin/twin-document.js';
import { parsePatch } from '../../src/twin/twin-service.js';

const empty = { document: {}, metadata: {} };

describe('applyMergePatch', () => {
  it('follows RFC 7396: null removes, objects merge, arrays and scalars replace', () => {
    // Prepare
    const side = applyMergePatch(empty, { a: { b: 1, c: [1, 2] }, d: 'x', e: 1 }, 1, 1000, 'desired')!;

    // Act
    const next = applyMergePatch(side, { a: { b: null, c: [3] }, d: { nested: true }, e: null }, 2, 2000, 'desired')!;

    // Assess
    expect(next.document).toEqual({ a: { c: [3] }, d: { nested: true } });
    expect(toMetadataTree(next.metadata)).toEqual({
      a: { c: { version: 2, updatedAt: new Date(2000).toISOString() } },
      d: { nested: { version: 2, updatedAt: new Date(2000).toISOString() } },
    });
  });

  it('keeps the metadata of keys the patch did not change and returns undefined for a patch that changes nothing', () => {
    // Prepare
    const side = applyMergePatch(empty, { a: 1, b: 2 }, 1, 1000, 'reported')!;

    // Act
    const next = applyMergePatch(side, { b: 3 }, 2, 2000, 'reported')!;
    const same = applyMergePatch(next, { a: 1, b: 3, gone: null }, 3, 3000, 'reported');

    // Assess
    expect(next.metadata).toEqual({ a: [1, 1000], b: [2, 2000] });
    expect(same).toBeUndefined();
  });

  it('keeps a key named __proto__ as an ordinary key', () => {
    // Act
    const side = applyMergePatch(empty, parsePatch('{"__proto__":{"polluted":true}}'), 1, 1, 'desired')!;

    // Assess
    expect(Object.keys(side.document)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses a result nested deeper than the limit and one with too many values, naming the side', () => {
    // Prepare
    let deep: Record<string, unknown> = { leaf: 1 };
    for (let i = 1; i < MAX_TWIN_DEPTH; i++) deep = { n: deep };
    const wide = Object.fromEntries(Array.from({ length: MAX_TWIN_LEAVES + 1 }, (_, i) => [`k${i}`, i]));

    // Act
    const atLimit = applyMergePatch(empty, deep as never, 1, 1, 'desired');
    const tooDeep = () => parsePatch({ n: deep });
    const tooWide = () => applyMergePatch(empty, wide, 1, 1, 'reported');

    // Assess
    expect(atLimit).toBeDefined();
    expect(tooDeep).toThrow(/nested at most 8 levels/);
    expect(tooWide).toThrow(/reported would hold 2001 values; at most 2000/);
  });
});

describe('computeDelta', () => {
  it('holds the desired keys that differ from reported, recursing into objects present on both sides', () => {
    // Act
    const delta = computeDelta(
      { mode: 'eco', light: { on: true, level: 80 }, list: [1, 2], same: { x: 1 } },
      { mode: 'eco', light: { on: true, level: 50 }, list: [1], same: { x: 1 }, extra: 1 },
    );

    // Assess
    expect(delta).toEqual({ light: { level: 80 }, list: [1, 2] });
  });
});

describe('parsePatch', () => {
  it('refuses what is not a JSON object with a field-named error', () => {
    expect(() => parsePatch('[1]')).toThrow(/patch must be a JSON object/);
    expect(() => parsePatch('{nope')).toThrow(/patch must be valid JSON text/);
    expect(() => parsePatch(null)).toThrow(/patch is required/);
    expect(() => parsePatch({ n: Number.NaN })).toThrow(/NaN or Infinity/);
  });
});
