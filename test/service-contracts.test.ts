import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe } from 'node:test';
import type { ServiceAccess } from '../src/cli/cli-context.js';
import { registryAccess } from '../src/cli/commands/models-command.js';
import { localPipelinesApi, type PipelinesApi } from '../src/pipelines/pipelines-api.js';
import { openTestPlatform, type TestPlatform } from '../src/platform/test-support/test-platform.js';
import { assertVersionFilesWritable } from '../src/registry/version-immutability.js';
import { ArtifactsClient } from '../src/sdk/artifacts-client.js';
import { EndpointsClient } from '../src/sdk/endpoints-client.js';
import { HttpClient } from '../src/sdk/http-client.js';
import { JobsClient } from '../src/sdk/jobs-client.js';
import { KeysClient } from '../src/sdk/keys-client.js';
import { PipelinesClient } from '../src/sdk/pipelines-client.js';
import { startServer, type RunningServer } from '../src/server/server.js';
import { LocalArtifactsService, type ArtifactsService } from '../src/storage/artifacts/artifacts-service.js';
import type { JobsService } from '../src/storage/queue/jobs-service.js';
import type { ApiKeyAdmin } from '../src/auth/index.js';
import type { EndpointService } from '../src/serving/endpoint-service.js';
import { testDatabases, type TestDatabase } from '../src/storage/test-support/test-databases.js';
import { describeApiKeysContract } from './contracts/api-keys.contract.js';
import { describeArtifactsContract } from './contracts/artifacts.contract.js';
import type { MakeTarget } from './contracts/contract-target.js';
import { describeEndpointsContract } from './contracts/endpoints.contract.js';
import { describeJobsContract } from './contracts/jobs.contract.js';
import { describePipelinesContract } from './contracts/pipelines.contract.js';
import { describeRegistryContract } from './contracts/registry.contract.js';

// Every service the CLI reaches through `withService` runs the same contract embedded and through
// its SDK client on a live server, on SQLite and PostgreSQL. The accesses are the CLI's own wiring.
const pipelines: ServiceAccess<PipelinesApi> = { local: (p) => localPipelinesApi(p.pipelines), remote: (http) => new PipelinesClient(http) };
const endpoints: ServiceAccess<EndpointService> = { local: (p) => p.serving, remote: (http) => new EndpointsClient(http) };
const jobs: ServiceAccess<JobsService> = { local: (p) => p.queue, remote: (http) => new JobsClient(http) };
const artifacts: ServiceAccess<ArtifactsService> = { local: (p) => new LocalArtifactsService(p.artifacts, assertVersionFilesWritable), remote: (http) => new ArtifactsClient(http) };
const keys: ServiceAccess<ApiKeyAdmin> = { local: (p) => p.apiKeys, remote: (http) => new KeysClient(http) };

for (const factory of await testDatabases()) {
  describe(`service contracts on ${factory.name}`, { skip: factory.skip }, () => {
    let database: TestDatabase;
    let t: TestPlatform;
    let server: RunningServer;
    let http: HttpClient;
    let scratch: string;

    before(async () => {
      database = await factory.create();
      scratch = mkdtempSync(path.join(os.tmpdir(), 'capstan-contracts-'));
      // One platform and one server per database, shared by every suite: each transport names what it creates apart.
      t = await openTestPlatform({ databaseUrl: database.url, 'server.auth': true, 'server.port': 0 });
      const admin = await t.platform.apiKeys.create('contract-admin', 'admin');
      server = await startServer(t.platform, { logRequests: false });
      http = new HttpClient({ baseUrl: server.url, apiKey: admin.key });
    });
    after(async () => {
      await server?.shutdown();
      await t?.dispose();
      await database?.dispose();
      if (scratch) rmSync(scratch, { recursive: true, force: true });
    });

    for (const transport of ['local', 'http'] as const) {
      const target =
        <S>(a: ServiceAccess<S>): MakeTarget<S> =>
        () => ({
          service: transport === 'local' ? a.local(t.platform) : a.remote(http),
          platform: t.platform,
          scratch,
          name: (base) => `${transport}-${base}`,
        });
      describeRegistryContract(transport, target(registryAccess));
      describePipelinesContract(transport, target(pipelines));
      describeEndpointsContract(transport, target(endpoints));
      describeJobsContract(transport, target(jobs));
      describeArtifactsContract(transport, target(artifacts));
      describeApiKeysContract(transport, target(keys));
    }
  });
}
