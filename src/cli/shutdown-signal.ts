/**
 * Resolves on the first SIGINT or SIGTERM so a long-running command (`up`, `server`, `worker`) can shut
 * down gracefully. A second signal while that is under way exits at once with 130, for an operator
 * who does not want to wait for in-flight work.
 */
export function shutdownSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let received = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (received) {
        process.stderr.write(`${signal} again: exiting without waiting\n`);
        process.exit(130);
      }
      received = true;
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
