/** placeholder */
export function describeRegistryContract(_name: string, _target: unknown): void {}
