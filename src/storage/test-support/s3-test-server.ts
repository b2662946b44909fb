import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import type { CapstanConfig } from '../../core/config.js';

/** An s3rver listening on a loopback port chosen by the OS, storing into a temporary directory. */
export interface S3TestServer {
  endpoint: string;
  /** `CapstanConfig.s3` settings that reach this server. */
  s3: CapstanConfig['s3'];
  /** A raw client for arranging and inspecting buckets directly. */
  client: S3Client;
  /** Creates a new, empty bucket with a unique name and returns the name. */
  createBucket(): Promise<string>;
  /** Stops the server and removes its directory. */
  dispose(): Promise<void>;
}

/** Starts s3rver on 127.0.0.1 port 0 with a fresh directory. */
export async function startS3TestServer(): Promise<S3TestServer> {
  const directory = mkdtempSync(path.join(os.tmpdir(), 'capstan-s3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, vhostBuckets: false });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const s3: CapstanConfig['s3'] = { endpoint, region: 'us-east-1', forcePathStyle: true, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
  const client = new S3Client({
    endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return {
    endpoint,
    s3,
    client,
    async createBucket() {
      const name = `capstan-test-${randomBytes(6).toString('hex')}`;
      await client.send(new CreateBucketCommand({ Bucket: name }));
      return name;
    },
    async dispose() {
      client.destroy();
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
