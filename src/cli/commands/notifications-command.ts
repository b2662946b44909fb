import type { Command } from 'commander';
import type { NotificationService } from '../../notifications/index.js';
import { NotificationsClient } from '../../sdk/notifications-client.js';
import { allOptions, integerOption, printResult, table, withService, type ServiceAccess } from '../cli-context.js';

const access: ServiceAccess<NotificationService> = {
  local: (platform) => platform.context<NotificationService>('notifications'),
  remote: (http) => new NotificationsClient(http),
};

/** `capstan notifications list|log <name>`: subscriptions (created with `capstan apply`, kind Notification) and their delivery log. */
export function notificationsCommand(program: Command): void {
  const n = program.command('notifications').description('Notification subscriptions (apply them as kind: Notification) and their delivery log');

  n.command('list')
    .description('Subscriptions with their events and target (secrets never shown)')
    .option('--json', 'print JSON')
    .action(async (_o, cmd: Command) => {
      const list = await withService(cmd, access, (svc) => svc.list());
      printResult(cmd, list, () =>
        table(list.map((v) => ({ name: v.spec.name, target: v.spec.target.type === 'nats' ? `nats ${v.spec.target.subject}` : v.spec.target.type === 'webhook' ? `webhook ${v.spec.target.url}` : 'slack', events: v.spec.events.join(',') }))),
      );
    });

  n.command('log <name>')
    .description('Deliveries of one subscription, newest first: event, state, attempts, HTTP status, error')
    .option('--limit <n>', 'how many', integerOption('--limit', 1, 1000), 50)
    .option('--json', 'print JSON')
    .action(async (name: string, _o, cmd: Command) => {
      const o = allOptions<{ limit: number }>(cmd);
      const log = await withService(cmd, access, (svc) => svc.log(name, o.limit));
      printResult(cmd, log, () =>
        table(log.map((d) => ({ at: d.updatedAt, event: d.eventType, subject: d.subject ?? '', state: d.state, attempts: d.attempts, status: d.statusCode ?? '', error: d.error ?? '' }))),
      );
    });
}
