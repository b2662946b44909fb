import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileBatchJobOptions } from './batch-options.js';
import { csvLine, recordCodec, splitCsvLine } from './record-codec.js';

describe('record codec', () => {
  it('splits and joins CSV with RFC 4180 quoting', () => {
    assert.deepEqual(splitCsvLine('a,"b,c","d""e",'), ['a', 'b,c', 'd"e', '']);
    assert.equal(splitCsvLine('"open,1'), undefined);
    assert.equal(splitCsvLine('a"b,1'), undefined);
    assert.equal(csvLine(['a', 'b,c', 'd"e', 3]), 'a,"b,c","d""e",3');
  });
  it('joins a JSON record with its prediction and filters the result', () => {
    const codec = recordCodec(compileBatchJobOptions({ model: 'm', input: 'file:///x.jsonl', output: 'file:///o', joinSource: 'Input', inputFilter: '$.features', outputFilter: "$['id','SageMakerOutput']" }));
    const rec = codec.prepare('{"id":1,"features":[1,2],"other":0}');
    assert.ok(rec.ok);
    assert.equal(rec.body, '[1,2]');
    assert.equal(codec.render(rec, { body: '{"score":0.5}', contentType: 'application/json' }), '{"id":1,"SageMakerOutput":{"score":0.5}}');
    const broken = codec.prepare('{"id":');
    assert.equal(broken.ok, false);
  });
  it('passes the answer through untouched without a join or output filter', () => {
    const codec = recordCodec(compileBatchJobOptions({ model: 'm', input: 'file:///x.jsonl', output: 'file:///o' }));
    const rec = codec.prepare('{"a":1}');
    assert.ok(rec.ok);
    assert.equal(codec.render(rec, { body: '{"b": 2}\n', contentType: 'application/json' }), '{"b": 2}');
  });
});
