/** The test use case: the fraud endpoint, a lookup of earlier decisions, a CEL score, CEL rules. */
export function riskDefinition(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'risk',
    description: 'Transaction risk for the tests',
    input: {
      schema: { type: 'object', required: ['customer', 'amount'], properties: { customer: { type: 'string' }, amount: { type: 'number', minimum: 0 }, sleepMs: { type: 'number' } }, additionalProperties: false },
      subject: 'input.customer',
    },
    thresholds: { review: 0.5, reject: 0.9 },
    tasks: [
      { name: 'fraud', type: 'endpoint', endpoint: 'fraud', request: '{"amount": input.amount, "sleepMs": has(input.sleepMs) ? input.sleepMs : 0.0}', output: 'response.predictions[0].score', timeoutMs: 1000 },
      { name: 'history', type: 'lookup' },
      { name: 'risk', type: 'cel', expression: 'tasks.fraud + (tasks.history.count > 2.0 ? 0.1 : 0.0)' },
    ],
    rules: {
      engine: 'cel',
      rules: [
        { name: 'very_risky', when: 'tasks.risk >= thresholds.reject', outcome: 'reject', reason: 'risk at or above the reject threshold' },
        { name: 'risky', when: 'tasks.risk >= thresholds.review', outcome: 'review', reason: 'risk at or above the review threshold' },
      ],
      default: { outcome: 'approve', reason: 'low risk' },
      output: { risk: 'tasks.risk' },
    },
    ...over,
  };
}
