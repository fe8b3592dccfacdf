import { describe, expect, it } from 'vitest';
import { LOCAL_HEAP_GROWING_PERCENT, limitHeapGrowth } from '../../src/local/heap-growth.js';

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
