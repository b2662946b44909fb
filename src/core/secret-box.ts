import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { CapstanError } from './errors.js';

/** Prefix of a sealed value; anything else stored where a sealed value belongs is legacy plaintext. */
const SEALED = 'enc:v1:';

/** Where the key of a `SecretBox` comes from. */
export interface SecretBoxOptions {
  /** `secretKey` from the configuration (`CAPSTAN_SECRET_KEY`); default: the key file. */
  secretKey?: string;
  /** Key file used without `secretKey`, created 0600 with 32 random bytes on first use. */
  keyFile: string;
}

/**
 * Encrypts secrets Capstan must read back (webhook signing secrets) with AES-256-GCM, so a copy of
 * the database alone does not hand them out. The key comes from `CAPSTAN_SECRET_KEY` or a key file in
 * the home, read (or created) on first use; every process sharing a database needs the same key.
 */
export class SecretBox {
  private key?: Buffer;

  constructor(private readonly options: SecretBoxOptions) {}

  /** True for a value `seal` produced. */
  static isSealed(value: string): boolean {
    return value.startsWith(SEALED);
  }

  /** `enc:v1:<iv>:<tag>:<ciphertext>` (base64url); `context` (e.g. the owning row's id) must match on `open`. */
  seal(plain: string, context: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.loadKey(), iv);
    cipher.setAAD(Buffer.from(context));
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `${SEALED}${[iv, cipher.getAuthTag(), body].map((b) => b.toString('base64url')).join(':')}`;
  }

  /** The plaintext of a sealed value; legacy plaintext comes back as it is. */
  open(stored: string, context: string): string {
    if (!SecretBox.isSealed(stored)) return stored;
    const [iv, tag, body] = stored.slice(SEALED.length).split(':').map((p) => Buffer.from(p, 'base64url'));
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.loadKey(), iv);
      decipher.setAAD(Buffer.from(context));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
    } catch (err) {
      if (err instanceof CapstanError) throw err;
      throw new CapstanError(
        'CAPSTAN_CONFIG_SECRET_KEY_MISMATCH',
        `a stored secret does not open with this secret key (${this.options.secretKey ? 'CAPSTAN_SECRET_KEY' : this.options.keyFile}); every process sharing the database needs the same key`,
        { cause: err },
      );
    }
  }

  private loadKey(): Buffer {
    if (!this.key) this.key = this.options.secretKey ? createHash('sha256').update(this.options.secretKey).digest() : readOrCreateKeyFile(this.options.keyFile);
    return this.key;
  }
}

function readOrCreateKeyFile(file: string): Buffer {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    const fd = openSync(file, 'wx', 0o600);
    try {
      writeSync(fd, `${randomBytes(32).toString('base64url')}\n`);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64url');
  if (key.length !== 32) {
    throw new CapstanError('CAPSTAN_CONFIG_INVALID', `the secret key file ${file} must hold 32 bytes in base64url`, { fields: { setting: 'secretKey' } });
  }
  return key;
}
