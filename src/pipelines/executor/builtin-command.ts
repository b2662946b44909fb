import { fileURLToPath } from 'node:url';

/**
 * The argv that runs a built-in in a child Node process. When Capstan itself runs from TypeScript
 * sources (tsx), the child needs the same loader flags, so `--import`/`--require`/`--loader` pairs
 * of this process are passed on.
 */
export function builtinCommand(name: string): string[] {
  const fromSource = import.meta.url.endsWith('.ts');
  const runner = fileURLToPath(new URL(`../builtins/builtin-runner.${fromSource ? 'ts' : 'js'}`, import.meta.url));
  const loader: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--import' || a === '--require' || a === '--loader' || a === '-r') loader.push(a, absolute(argv[++i]));
    else if (/^--(import|require|loader|experimental-loader)=/.test(a)) loader.push(a);
  }
  return [process.execPath, ...loader, runner, name];
}

/** The child runs in the step's working directory, where a bare `tsx` would not resolve. */
function absolute(specifier: string): string {
  if (/^(\.|\/|file:)/.test(specifier)) return specifier.startsWith('.') ? new URL(specifier, `file://${process.cwd()}/`).href : specifier;
  try {
    return import.meta.resolve(specifier);
  } catch {
    return specifier;
  }
}
