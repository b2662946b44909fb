/**
 * Why a file-system call failed, in words a user reads (`does not exist`, `is a directory`), instead
 * of the raw errno code (`ENOENT`). Callers put it after the path as the user gave it.
 */
export function fsReason(err: unknown): string {
  switch ((err as NodeJS.ErrnoException | undefined)?.code) {
    case 'ENOENT':
      return 'does not exist';
    case 'EISDIR':
      return 'is a directory, not a file';
    case 'ENOTDIR':
      return 'has a file where a directory is expected';
    case 'EEXIST':
      return 'exists and is not a directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'is on a read-only file system';
    case 'ENAMETOOLONG':
      return 'is too long a name';
    case 'ENOSPC':
      return 'no space left on the device';
    default:
      return `cannot be used (${(err as Error | undefined)?.message?.split('\n')[0] ?? 'unknown error'})`;
  }
}
