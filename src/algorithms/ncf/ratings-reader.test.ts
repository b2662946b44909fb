import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isCapstanError, type ErrorCode } from '../../core/errors.js';
import { inferRatingsFormat, parseRatings, parseRatingsFormat, readRatingsFile } from './ratings-reader.js';

function rejects(fn: () => unknown, code: ErrorCode, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isCapstanError(err, code), `expected ${code}, got ${String(err)}`);
    assert.match((err as Error).message, message);
    return true;
  });
}

describe('ratings readers', () => {
  it('reads MovieLens u.data (tab-separated, no header)', () => {
    const raw = parseRatings('196\t242\t3\t881250949\n186\t302\t3\t891717742\n196\t377\t1\t878887116\n', 'ml-100k');
    assert.equal(raw.count, 3);
    assert.deepEqual(raw.userKeys, ['196', '186']);
    assert.deepEqual(raw.itemKeys, ['242', '302', '377']);
    assert.deepEqual(Array.from(raw.user), [0, 1, 0]);
    assert.deepEqual(Array.from(raw.rating!), [3, 3, 1]);
    assert.equal(raw.timestamp![2], 878887116);
    assert.equal(raw.numericIds, true);
  });

  it('reads MovieLens ratings.csv with its header and ratings.dat with :: separators', () => {
    const csv = parseRatings('userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,3,4.5,964981247\n', 'movielens-csv');
    assert.equal(csv.count, 2);
    assert.equal(csv.rating![1], 4.5);
    const dat = parseRatings('1::1193::5::978300760\r\n2::661::3::978302109\r\n', 'ml-1m');
    assert.deepEqual(dat.itemKeys, ['1193', '661']);
    assert.equal(dat.timestamp![1], 978302109);
  });

  it('reads a generic CSV with named columns in any order, or positional user,item', () => {
    const named = parseRatings('item,user,timestamp\nsku-1,alice,10\nsku-2,bob,11\n', 'csv');
    assert.deepEqual(named.userKeys, ['alice', 'bob']);
    assert.deepEqual(named.itemKeys, ['sku-1', 'sku-2']);
    assert.equal(named.rating, null);
    assert.deepEqual(Array.from(named.timestamp!), [10, 11]);
    assert.equal(named.numericIds, false);
    const positional = parseRatings('7,8\n7,9\n', 'csv');
    assert.equal(positional.count, 2);
    assert.equal(positional.timestamp, null);
    assert.equal(positional.numericIds, true);
  });

  it('guesses the format from the file name', () => {
    assert.equal(inferRatingsFormat('/data/ml-100k/u.data'), 'ml-100k');
    assert.equal(inferRatingsFormat('ratings.dat'), 'ml-1m');
    assert.equal(inferRatingsFormat('ratings.csv'), 'movielens-csv');
    assert.equal(inferRatingsFormat('clicks.csv'), 'csv');
  });

  it('refuses an empty file', () => {
    rejects(() => parseRatings('', 'csv'), 'CAPSTAN_NCF_FILE_EMPTY', /empty/);
    rejects(() => parseRatings('\n  \n', 'ml-100k'), 'CAPSTAN_NCF_FILE_EMPTY', /empty/);
  });

  it('refuses an unknown format', () => {
    rejects(() => parseRatingsFormat('parquet-ish'), 'CAPSTAN_NCF_FORMAT_UNKNOWN', /unknown ratings format "parquet-ish"/);
    rejects(() => parseRatings('1,2\n', 'xml' as never), 'CAPSTAN_NCF_FORMAT_UNKNOWN', /unknown ratings format/);
  });

  it('refuses a header-only file', () => {
    rejects(() => parseRatings('userId,movieId,rating,timestamp\n', 'movielens-csv'), 'CAPSTAN_NCF_NO_ROWS', /header but no interactions/);
    rejects(() => parseRatings('user,item\n\n', 'csv'), 'CAPSTAN_NCF_NO_ROWS', /header but no interactions/);
  });

  it('refuses non-numeric ids in the MovieLens formats, naming the line', () => {
    rejects(() => parseRatings('1\t2\t3\t4\nabc\t2\t3\t4\n', 'ml-100k'), 'CAPSTAN_NCF_ID_NOT_NUMERIC', /line 2: id "abc" is not an integer/);
    rejects(() => parseRatings('1::x9::5::978300760\n', 'ml-1m'), 'CAPSTAN_NCF_ID_NOT_NUMERIC', /line 1: id "x9"/);
  });

  it('refuses short rows and non-numeric ratings', () => {
    rejects(() => parseRatings('1\t2\t3\n', 'ml-100k'), 'CAPSTAN_NCF_ROW_INVALID', /line 1: expected at least 4 columns/);
    rejects(() => parseRatings('user,item,rating\na,b,great\n', 'csv'), 'CAPSTAN_NCF_ROW_INVALID', /line 2: rating "great" is not a number/);
  });

  it('reports a missing file without its directory', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ncf-reader-'));
    try {
      rejects(() => readRatingsFile(path.join(dir, 'nope.csv'), 'csv'), 'CAPSTAN_NCF_FILE_NOT_FOUND', /^no ratings file "nope.csv"$/);
      writeFileSync(path.join(dir, 'ok.csv'), 'u,i\n');
      assert.equal(readRatingsFile(path.join(dir, 'ok.csv'), 'csv').count, 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
