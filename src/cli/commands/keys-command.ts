import type { Command } from 'commander';
import { ROLES, type ApiKeyAdmin } from '../../auth/index.js';
import { KeysClient } from '../../sdk/keys-client.js';
import { allOptions, printResult, table, withService, type ServiceAccess } from '../cli-context.js';

const keys: ServiceAccess<ApiKeyAdmin> = {
  local: (platform) => platform.apiKeys,
  remote: (http) => new KeysClient(http),
};

/** `capstan keys create|list|revoke`: API keys, on the embedded DB or through `--url` (admin key). */
export function keysCommand(program: Command): void {
  const group = program.command('keys').description('manage API keys (stored hashed; each carries one role)');

  group
    .command('create')
    .description('create an API key and print its secret (shown only this once)')
    .requiredOption('--name <name>', 'a name for the key, e.g. ci-deployer')
    .requiredOption('--role <role>', ROLES.join(' | '))
    .option('--sigv4', 'also issue an AWS access key id and secret, for SageMaker Runtime clients (boto3, AWS SDKs)')
    .option('--json', 'print JSON')
    .action(async (_opts, cmd: Command) => {
      const { name, role, sigv4 } = allOptions<{ name: string; role: string; sigv4?: boolean }>(cmd);
      const created = await withService(cmd, keys, (s) => s.create(name, role, { sigv4 }));
      const aws = created.accessKeyId
        ? ['', `  aws_access_key_id     = ${created.accessKeyId}`, `  aws_secret_access_key = ${created.secretAccessKey}`, '', 'SageMaker Runtime clients sign with these (any region; service sagemaker).']
        : [];
      printResult(cmd, created, () =>
        [
          `created key ${created.info.name} (${created.info.id}) with role ${created.info.role}`,
          '',
          `  ${created.key}`,
          ...aws,
          '',
          'Store it now: it cannot be shown again. Send it as "Authorization: Bearer <key>".',
        ].join('\n'),
      );
    });

  group
    .command('list')
    .description('list API keys (never their secrets)')
    .option('--json', 'print JSON')
    .action(async (_opts, cmd: Command) => {
      const items = await withService(cmd, keys, (s) => s.list());
      printResult(cmd, items, () =>
        table(
          items.map((k) => ({ id: k.id, name: k.name, role: k.role, prefix: `${k.prefix}…`, created: k.createdAt, lastUsed: k.lastUsedAt ?? '-', revoked: k.revokedAt ?? '-' })),
        ),
      );
    });

  group
    .command('revoke')
    .description('revoke an API key by id or name')
    .argument('<key>', 'key id or name')
    .option('--json', 'print JSON')
    .action(async (key: string, _opts, cmd: Command) => {
      const info = await withService(cmd, keys, (s) => s.revoke(key));
      printResult(cmd, info, () => `revoked key ${info.name} (${info.id})`);
    });
}
