import { describe, expect, it } from 'vitest';
import { LOCAL_HEAP_GROWING_PERCENT, limitHeapGrowth, youngGenerationFlag } from '../../src/local/heap-growth.js';

describe('limitHeapGrowth', () => {
  it('sets the local growth factor when node was given none', () => {
    // Prepare
    const set: string[] = [];

    // Act
    const flag = limitHeapGrowth({ execArgv: ['--enable-source-maps'], nodeOptions: '--max-old-space-size=2048', setFlag: (f) => set.push(f) });

    // Assess
    expect(flag).toBe(`--heap-growing-percent=${LOCAL_HEAP_GROWING_PERCENT}`);
    expect(set).toEqual([flag]);
  });

  it.each([
    ['the command line', ['--heap-growing-percent=80'], undefined, '--heap-growing-percent=80'],
    ['NODE_OPTIONS', [], '--inspect --heap_growing_percent=10', '--heap_growing_percent=10'],
  ])('leaves a value given on %s alone', (_where, execArgv, nodeOptions, expected) => {
    // Prepare
    const set: string[] = [];

    // Act
    const flag = limitHeapGrowth({ execArgv, nodeOptions, setFlag: (f) => set.push(f) });

    // Assess
    expect(flag).toBe(expected);
    expect(set).toEqual([]);
  });
});

describe('youngGenerationFlag', () => {
  it.each([
    ['the command line', ['--max-semi-space-size=4'], undefined, '--max-semi-space-size=4'],
    ['NODE_OPTIONS', [], '--import x.mjs --max_semi_space_size=8', '--max_semi_space_size=8'],
    ['nowhere', ['--enable-source-maps'], '--max-old-space-size=2048', undefined],
  ])('reads the cap given on %s', (_where, execArgv, nodeOptions, expected) => {
    // Act
    const flag = youngGenerationFlag({ execArgv, nodeOptions });

    // Assess
    expect(flag).toBe(expected);
  });
});
