import { open, stat, type FileHandle } from 'node:fs/promises';

/**
 * Makes a SQLite WAL file durable with `fdatasync` on the libuv thread pool, so a commit made with
 * `synchronous=NORMAL` (no fsync on the event loop) can still be awaited until it is on disk
 * (docs/decisions/0031-sqlite-commits-synced-off-the-event-loop.md). Callers that arrive while a sync
 * runs share the next one: one fsync covers every commit made before it started.
 */
export class WalSync {
  private handle?: FileHandle;
  private inode?: number;
  private running?: Promise<void>;
  private queued?: Promise<void>;
  private closed = false;

  constructor(private readonly walFile: string) {}

  /** Resolves once every commit made before this call is durable. */
  sync(): Promise<void> {
    // A sync already running may have started before the caller's commit: the caller needs the next one.
    if (!this.running) return (this.running = this.syncNow().finally(() => (this.running = undefined)));
    this.queued ??= this.running
      .catch(() => {})
      .then(() => {
        this.queued = undefined;
        return this.sync();
      });
    return this.queued;
  }

  private async syncNow(): Promise<void> {
    if (this.closed) return;
    // SQLite deletes and re-creates the WAL when the last connection to the database closes (another
    // process's); syncing a stale descriptor would leave the new file's frames in the page cache.
    const current = await stat(this.walFile).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (!current) return; // no WAL: every commit has been checkpointed into the database file, which SQLite synced
    if (this.inode !== current.ino) {
      await this.handle?.close().catch(() => {});
      this.handle = await open(this.walFile, 'r');
      this.inode = (await this.handle.stat()).ino;
    }
    await this.handle!.datasync();
  }

  /** Waits for a sync in progress, then closes the descriptor. */
  async close(): Promise<void> {
    await this.queued?.catch(() => {});
    await this.running?.catch(() => {});
    this.closed = true;
    await this.handle?.close().catch(() => {});
    this.handle = undefined;
  }
}
