import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { pollUntil } from '../src/core/test-support/poll-until.js';
import { verifyWebhook } from '../src/core/webhook-signature.js';
import { openDecisionsTestPlatform, type DecisionsTestPlatform } from '../src/decisions/test-support/decisions-test-platform.js';
import { riskDefinition } from '../src/decisions/test-support/risk-definition.js';
import { testDatabases } from '../src/storage/test-support/test-databases.js';
import { abandonOnFinalAttempt } from '../src/storage/test-support/abandon-on-final-attempt.js';
import { Worker } from '../src/storage/queue/worker.js';
import { silentLogger } from '../src/core/logger.js';

for (const factory of await testDatabases()) {
  describe(`a queued decision whose job died, on ${factory.name}`, { skip: factory.skip }, () => {
    let t: DecisionsTestPlatform;
    let receiver: Server;
    const received: { headers: Record<string, string>; body: string }[] = [];
    let callbackUrl: string;

    before(async () => {
      t = await openDecisionsTestPlatform(factory, { 'outbound.allowPrivate': true });
      await t.decisions.apply(riskDefinition(), { activate: true });
      receiver = createServer((req, res) => {
        let body = '';
        req.on('data', (c) => (body += c));
        req.on('end', () => {
          received.push({ headers: req.headers as Record<string, string>, body });
          res.writeHead(204).end();
        });
      });
      await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
      callbackUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    });
    after(async () => {
      receiver?.close();
      await t?.dispose();
    });

    it('ends failed, naming how the job ended, and tells the callback, when its worker was lost on the final attempt', async () => {
      const { id, callbackSecret } = await t.decisions.decideAsync('risk', { customer: 'c1', amount: 100 }, { url: callbackUrl });
      // No worker runs here: the job is left as a worker SIGKILLed on its final attempt leaves it.
      const job = (await t.platform.queue.list({ type: 'decisions.decide' })).jobs.find((j) => (j.payload as { requestId: string }).requestId === id)!;
      await abandonOnFinalAttempt(t.platform.db, job.id);
      await t.platform.queue.lease('another-worker', { types: ['nothing-to-run'] });
      assert.equal((await t.decisions.request(id)).status, 'queued', 'nothing ends it before the event is delivered');

      await pollUntil('the failure callback', async () => {
        await t.platform.outbox.drain();
        return received.length > 0 ? true : undefined;
      });
      const request = await t.decisions.request(id);
      assert.equal(request.status, 'failed');
      assert.match(request.error ?? '', /^the decision job died after \d+ attempts: the lease expired on the final attempt/);
      const hook = received[0];
      assert.equal(verifyWebhook(callbackSecret!, { id: hook.headers['webhook-id'], timestamp: hook.headers['webhook-timestamp'], signature: hook.headers['webhook-signature'] }, hook.body).valid, true);
      const body = JSON.parse(hook.body);
      assert.deepEqual({ requestId: body.requestId, status: body.status, error: body.error, record: body.record }, { requestId: id, status: 'failed', error: request.error, record: undefined });
    });

    it('is decided when an operator retries its dead job, and the callback hears the decision', async () => {
      const { id } = await t.decisions.decideAsync('risk', { customer: 'c2', amount: 100 }, { url: callbackUrl });
      const job = (await t.platform.queue.list({ type: 'decisions.decide' })).jobs.find((j) => (j.payload as { requestId: string }).requestId === id)!;
      await abandonOnFinalAttempt(t.platform.db, job.id);
      await t.platform.queue.lease('another-worker', { types: ['nothing-to-run'] });
      await t.platform.outbox.drain();
      assert.equal((await t.decisions.request(id)).status, 'failed');
      const heard = received.length;

      await t.platform.queue.retry(job.id);
      const worker = new Worker({ queue: t.platform.queue, handlers: t.platform.jobHandlers, logger: silentLogger(), pollMs: 20 });
      await worker.start();
      try {
        const done = await pollUntil('the retried decision', async () => {
          const r = await t.decisions.request(id);
          return r.status === 'done' ? r : undefined;
        });
        assert.equal(done.error, null);
        assert.ok(done.recordId, 'the decision is stored as a record');
        const hook = await pollUntil('the decision callback', async () => {
          await t.platform.outbox.drain();
          return received.slice(heard).find((h) => JSON.parse(h.body).record?.id === done.recordId);
        });
        assert.equal(JSON.parse(hook.body).record.status, 'ok');
      } finally {
        await worker.stop();
      }
    });
  });
}
