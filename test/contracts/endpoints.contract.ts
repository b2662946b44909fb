/** placeholder */
export function describeEndpointsContract(_name: string, _target: unknown): void {}
