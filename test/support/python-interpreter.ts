import { spawnSync } from 'node:child_process';

/** The interpreters a Python example may use, in order: the one on PATH, then Debian's (where apt-get installs python3-sklearn / python3-torch). */
const CANDIDATES = ['python3', '/usr/bin/python3'];

/** The first candidate interpreter that imports every module, or undefined when none does. */
export function pythonWith(modules: readonly string[]): string | undefined {
  for (const python of CANDIDATES) {
    const r = spawnSync(python, ['-c', `import ${modules.join(', ')}`], { encoding: 'utf8' });
    if (!r.error && r.status === 0) return python;
  }
  return undefined;
}

/** Why no interpreter can run a Python example, naming the Debian package that provides the modules. */
export function pythonProblem(modules: readonly string[], debianPackage: string): string {
  return `neither ${CANDIDATES.join(' nor ')} can import ${modules.join(', ')} (install ${debianPackage})`;
}
