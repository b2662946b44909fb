// The load generator of the decisions benchmark, run in its own process: autocannon at a fixed overall
// rate, a fixed number of requests, each transaction-risk request for one of 1,000 customers with its
// own amount (so records and replays are not one input repeated). Prints autocannon's JSON result.
// Args: <url> <amount> <rate> <connections> <customer prefix>.
import autocannon from 'autocannon';

const [url, amount, rate, connections, prefix] = process.argv.slice(2);
let n = 0;
const body = () => {
  const i = n++;
  return JSON.stringify({
    transaction_id: `t-${prefix}-${i}`,
    customer_id: `${prefix}-${i % 1000}`,
    amount: Math.round(((i * 7919) % 2000) * 1.37 * 100) / 100,
    merchant_risk: ((i * 31) % 100) / 100,
    hour: i % 24,
    distance_km: (i * 13) % 300,
    foreign: i % 11 === 0,
    card_present: i % 3 !== 0,
  });
};
const result = await autocannon({
  url,
  connections: Number(connections),
  amount: Number(amount),
  overallRate: Number(rate),
  requests: [{ method: 'POST', headers: { 'content-type': 'application/json' }, setupRequest: (req: Record<string, unknown>) => ({ ...req, body: body() }) }],
});
process.stdout.write(`${JSON.stringify(result)}\n`);
