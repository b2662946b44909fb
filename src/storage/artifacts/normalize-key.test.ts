import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CapstanError } from '../../core/errors.js';
import { directoryPrefix, isSafeKey, normalizeKey, normalizePrefix, normalizeRelativePath } from './normalize-key.js';

function refused(fn: () => unknown, code: string, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof CapstanError, 'a CapstanError');
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  });
}

describe('normalizeKey', () => {
  it('keeps ordinary relative keys as they are', () => {
    assert.equal(normalizeKey('models/ncf/3/model.onnx'), 'models/ncf/3/model.onnx');
    assert.equal(normalizeKey('a'), 'a');
    assert.equal(normalizeKey('data/2024-01-01/part-0001.parquet'), 'data/2024-01-01/part-0001.parquet');
    assert.equal(normalizeKey('...hidden/..x/x..'), '...hidden/..x/x..');
  });

  it('removes empty and "." segments', () => {
    assert.equal(normalizeKey('a//b'), 'a/b');
    assert.equal(normalizeKey('./a/./b'), 'a/b');
  });

  it('keeps percent-escapes literally instead of decoding them', () => {
    assert.equal(normalizeKey('a%41b'), 'a%41b');
    assert.equal(normalizeKey('100%'), '100%');
    assert.equal(normalizeKey('a%zz'), 'a%zz');
    assert.equal(normalizeKey('my%20file.txt'), 'my%20file.txt');
  });

  it('normalises Unicode to NFC so one name has one key', () => {
    assert.equal(normalizeKey('cafe\u0301.txt'), 'caf\u00e9.txt');
  });

  for (const [key, reason] of [
    ['..', /contains a "\.\." segment/],
    ['../x', /contains a "\.\." segment/],
    ['a/../../etc/passwd', /contains a "\.\." segment/],
    ['a/..', /contains a "\.\." segment/],
    ['/etc/passwd', /is an absolute path/],
    ['//server/share', /is an absolute path/],
    ['/', /is an absolute path/],
    ['C:\\Windows\\x', /backslash|absolute/],
    ['C:/Windows/x', /absolute path \(drive letter\)/],
    ['c:x', /absolute path \(drive letter\)/],
    ['%2e%2e%2fetc%2fpasswd', /contains a "\.\." segment/],
    ['%2E%2E/x', /contains a "\.\." segment/],
    ['a/%2e%2e', /contains a "\.\." segment/],
    ['%252e%252e%252fetc', /contains a "\.\." segment/],
    ['%25252e%25252e%25252f', /contains a "\.\." segment/],
    ['%2fetc%2fpasswd', /is an absolute path/],
    ['..%5cx', /backslash/],
    ['a\\b', /contains a backslash/],
    ['..\\..\\x', /backslash/],
    ['a\0b', /contains a NUL byte/],
    ['a%00b', /contains a NUL byte/],
    ['a%2500b', /contains a NUL byte/],
    ['\uff0e\uff0e/x', /contains a "\.\." segment/],
    ['.staging/abc', /reserved area "\.staging\/"/],
    ['./.staging/abc', /reserved area/],
    ['.meta/x.json', /reserved area "\.meta\/"/],
  ] as const) {
    it(`refuses ${JSON.stringify(key)} as an unsafe path`, () => {
      refused(() => normalizeKey(key), 'CAPSTAN_ARTIFACT_UNSAFE_PATH', reason);
    });
  }

  it('names the refused key in the message', () => {
    refused(() => normalizeKey('a/../../x'), 'CAPSTAN_ARTIFACT_UNSAFE_PATH', /^artifact key "a\/\.\.\/\.\.\/x" contains a "\.\." segment$/);
  });

  it('refuses keys that are encoded again and again', () => {
    let key = '..';
    for (let i = 0; i < 12; i++) key = encodeURIComponent(key).replace(/\./g, '%2e');
    refused(() => normalizeKey(`${key}x`), 'CAPSTAN_ARTIFACT_UNSAFE_PATH', /percent-encoded too many times/);
  });

  for (const [key, reason] of [
    ['', /must not be empty/],
    ['a/', /must not end with "\/"/],
    ['.', /has no name in it/],
    ['./', /must not end with/],
    ['a\u0001b', /control character/],
    ['a\nb', /control character/],
    ['%c0%ae%c0%ae/x', /not valid UTF-8/],
    ['%ff', /not valid UTF-8/],
    [Array(6).fill('x'.repeat(200)).join('/'), /longer than 1024 bytes/],
  ] as const) {
    it(`refuses ${JSON.stringify(key.slice(0, 20))} as an invalid key`, () => {
      refused(() => normalizeKey(key), 'CAPSTAN_ARTIFACT_KEY_INVALID', reason);
    });
  }

  it('accepts letters, digits, marks, punctuation, symbols and spaces of any script', () => {
    for (const key of ['日本.txt', 'données/été.csv', 'עברית/קובץ', 'emoji/🚀.json', 'a b/c-d_e(1)[2]{3}.txt', `max/${'日'.repeat(85)}`]) {
      assert.equal(normalizeKey(key), key.normalize('NFC'));
    }
  });

  for (const [key, reason] of [
    ['a\u202Ab', /not printable \(U\+202A\)/],
    ['a\u202Bb', /U\+202B/],
    ['a\u202Cb', /U\+202C/],
    ['a\u202Db', /U\+202D/],
    ['a\u202Eb', /U\+202E/],
    ['a\u2066b', /U\+2066/],
    ['a\u2067b', /U\+2067/],
    ['a\u2068b', /U\+2068/],
    ['a\u2069b', /U\+2069/],
    ['a\u200Eb', /U\+200E/],
    ['a\u200Fb', /U\+200F/],
    ['a\u200Bb', /U\+200B/],
    ['a\u200Db', /U\+200D/],
    ['a\u00ADb', /U\+00AD/],
    ['a\uFEFFb', /U\+FEFF/],
    ['a\u2028b', /U\+2028/],
    ['a\u0378b', /U\+0378/],
    ['a\uE000b', /U\+E000/],
    ['a\uD800b', /U\+D800/],
    ['a\u0085b', /control character \(U\+0085\)/],
    ['a%E2%80%AEb', /U\+202E/],
    ['a%25E2%2580%25AEb', /U\+202E/],
    ['a%0Ab', /control character \(U\+000A\)/],
    [`${'s'.repeat(256)}`, /segment longer than 255 bytes/],
    [`a/${'日'.repeat(86)}/b`, /segment longer than 255 bytes/],
  ] as const) {
    it(`refuses ${JSON.stringify(key.slice(0, 20))} as unprintable or over-long`, () => {
      refused(() => normalizeKey(key), 'CAPSTAN_ARTIFACT_KEY_INVALID', reason);
    });
  }

  it('refuses values that are not strings', () => {
    refused(() => normalizeKey(undefined), 'CAPSTAN_ARTIFACT_KEY_INVALID', /must be a string/);
    refused(() => normalizeKey(42), 'CAPSTAN_ARTIFACT_KEY_INVALID', /must be a string/);
  });

  it('truncates very long keys in messages', () => {
    assert.throws(() => normalizeKey(`${'a'.repeat(300)}/..`), (err: CapstanError) => err.message.length < 200);
  });
});

describe('normalizePrefix and directoryPrefix', () => {
  it('accepts the empty prefix and a trailing slash', () => {
    assert.equal(normalizePrefix(''), '');
    assert.equal(normalizePrefix('models/'), 'models/');
    assert.equal(normalizePrefix('models//ncf'), 'models/ncf');
    assert.equal(normalizePrefix('./'), '');
  });

  it('applies the same safety rules as keys', () => {
    refused(() => normalizePrefix('../'), 'CAPSTAN_ARTIFACT_UNSAFE_PATH', /^artifact prefix "\.\.\/" contains a "\.\." segment$/);
    refused(() => normalizePrefix('%252e%252e%252f'), 'CAPSTAN_ARTIFACT_UNSAFE_PATH', /"\.\." segment/);
    refused(() => normalizePrefix('.staging/'), 'CAPSTAN_ARTIFACT_UNSAFE_PATH', /reserved area/);
  });

  it('reads a prefix as a directory', () => {
    assert.equal(directoryPrefix('models/ncf'), 'models/ncf/');
    assert.equal(directoryPrefix('models/ncf/'), 'models/ncf/');
    assert.equal(directoryPrefix(''), '');
  });
});

describe('normalizeRelativePath options and isSafeKey', () => {
  it('allows reserved names when asked (archive entries are not store keys)', () => {
    assert.equal(normalizeRelativePath('.staging/x', { allowReserved: true }), '.staging/x');
  });

  it('uses the given noun in messages', () => {
    refused(() => normalizeRelativePath('../x', { what: 'archive entry' }), 'CAPSTAN_ARTIFACT_UNSAFE_PATH', /^archive entry "\.\.\/x"/);
  });

  it('tells safe, normalised keys from others', () => {
    assert.equal(isSafeKey('a/b'), true);
    assert.equal(isSafeKey('a//b'), false);
    assert.equal(isSafeKey('../b'), false);
  });
});
