/** placeholder */
export function describePipelinesContract(_name: string, _target: unknown): void {}
