import type { OutboxEvent } from '../storage/outbox/index.js';

const TITLES: Record<string, string> = {
  'pipeline_execution.succeeded': 'Pipeline execution succeeded',
  'pipeline_execution.failed': 'Pipeline execution failed',
  'pipeline_execution.cancelled': 'Pipeline execution cancelled',
  'model_version.created': 'Model version registered',
  'model_version.approved': 'Model version approved',
  'model_version.rejected': 'Model version rejected',
  'deployment.started': 'Deployment started',
  'deployment.rolled_back': 'Deployment rolled back',
  'server.error': 'Unexpected server error',
  'job.dead': 'Queue job died',
};

/** The CLI command that shows what an event is about. */
export function cliCommandFor(event: Pick<OutboxEvent, 'type' | 'subject' | 'data'>): string {
  const parts = (event.subject ?? '').split('/');
  if (parts[0] === 'pipelines' && parts[2] === 'executions') return `capstan pipeline describe ${parts[3]}`;
  if (parts[0] === 'models' && parts.length >= 3) return `capstan models show ${parts[1]}/${parts[2]}`;
  if (parts[0] === 'endpoints') return `capstan endpoints describe ${parts[1]}`;
  if (parts[0] === 'jobs') return `capstan jobs show ${parts[1] ?? ''}`;
  if (event.type === 'server.error') return `capstan logs: search the server log for correlation id ${String(event.data.correlationId ?? '')}`;
  return `capstan get ${parts[0] ?? ''} ${parts[1] ?? ''}`.trim();
}

/** Key facts of the event's data as `*key*: value` lines (scalars only, a handful). */
function facts(data: Record<string, unknown>): string {
  return Object.entries(data)
    .filter(([, v]) => ['string', 'number', 'boolean'].includes(typeof v))
    .slice(0, 8)
    .map(([k, v]) => `*${k}*: ${String(v).slice(0, 300)}`)
    .join('\n');
}

/**
 * A Slack Block Kit message for an event: a header, the subject with its key facts, the CLI command
 * that shows more, and a button to the console when a console URL is configured. `text` is the
 * fallback Slack shows in notifications.
 */
export function slackMessage(event: OutboxEvent, consoleUrl?: string | null): Record<string, unknown> {
  const title = TITLES[event.type] ?? `Capstan event ${event.type}`;
  const command = cliCommandFor(event);
  const blocks: Record<string, unknown>[] = [
    { type: 'header', text: { type: 'plain_text', text: title, emoji: true } },
    { type: 'section', text: { type: 'mrkdwn', text: [`*${event.subject ?? event.type}*`, facts(event.data)].filter(Boolean).join('\n') } },
    { type: 'context', elements: [{ type: 'mrkdwn', text: `\`${command}\`  ·  ${event.type}  ·  ${event.time}` }] },
  ];
  if (consoleUrl && event.subject) {
    blocks.push({ type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open in Capstan' }, url: `${consoleUrl.replace(/\/+$/, '')}/${event.subject}` }] });
  }
  return { text: `${title}: ${event.subject ?? event.type}`, blocks };
}
