import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { triggerLabel } from './pipeline-command.js';

describe('triggerLabel', () => {
  it('names a trigger once (artifact:new-interactions, not artifact:artifact:new-interactions) and keeps who ran a manual execution', () => {
    assert.equal(triggerLabel({ type: 'artifact', by: 'artifact:new-interactions' }), 'artifact:new-interactions');
    assert.equal(triggerLabel({ type: 'cron', by: 'cron:nightly' }), 'cron:nightly');
    assert.equal(triggerLabel({ type: 'manual', by: 'local:ana' }), 'manual:local:ana');
  });
});
