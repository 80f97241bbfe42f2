// Numeric and size flags: what a user may type, what is refused, and how sizes read in the banner.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from 'commander';
import { anyNumber, byteSize, formatBytes, positiveInteger } from '../../src/cli/number-options.js';

describe('size flags', () => {
  it('take bytes, IEC and short units, with or without a space, in powers of 1024', () => {
    for (const [typed, bytes] of [
      ['4194304', 4194304],
      ['4MiB', 4194304],
      ['4 MiB', 4194304],
      ['4mb', 4194304],
      ['4 MB', 4194304],
      ['512k', 524288],
      ['512 KB', 524288],
      ['1.5g', 1610612736],
      ['100b', 100],
    ] as const) {
      assert.equal(byteSize(typed), bytes, typed);
    }
  });

  it('refuse what is not a size, as commander reports a bad flag value', () => {
    for (const typed of ['lots', '', '0', '-1', '4 MiBs', '4 parsecs']) assert.throws(() => byteSize(typed), InvalidArgumentError, typed);
  });

  it('print as people write them', () => {
    assert.equal(formatBytes(2048), '2 KiB');
    assert.equal(formatBytes(4 * 2 ** 20), '4 MiB');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(100), '100 B');
  });
});

describe('number flags', () => {
  it('refuse words and empty values, and fractions where a count is meant', () => {
    assert.equal(anyNumber('2.5'), 2.5);
    assert.throws(() => anyNumber('abc'), InvalidArgumentError);
    assert.throws(() => anyNumber(' '), InvalidArgumentError);
    assert.equal(positiveInteger('5'), 5);
    assert.throws(() => positiveInteger('2.5'), InvalidArgumentError);
    assert.throws(() => positiveInteger('0'), InvalidArgumentError);
  });
});
