/**
 * Builds one JSON text in a reused byte buffer and returns it as a single flat string. A ranking
 * response joined with `+=` left ~18 KB of short-lived strings per request in the model thread
 * (a cons-string node per item and score, and the pieces of each formatted score); written here it
 * leaves only the finished text.
 */
export class JsonTextWriter {
  private buf = Buffer.allocUnsafe(4096);
  private pos = 0;

  /** Appends text that is already JSON (a precomputed id, punctuation). */
  raw(text: string): void {
    this.ensure(text.length);
    const buf = this.buf;
    let pos = this.pos;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c >= 0x80) {
        // Rare (ids with non-ASCII characters): let Buffer encode the rest as UTF-8.
        const rest = text.slice(i);
        this.pos = pos;
        this.ensure(rest.length * 3);
        this.pos += this.buf.write(rest, this.pos, 'utf8');
        return;
      }
      buf[pos++] = c;
    }
    this.pos = pos;
  }

  /** Appends one ASCII character by code. */
  char(code: number): void {
    this.ensure(1);
    this.buf[this.pos++] = code;
  }

  /** Appends `x` rounded to 6 decimals, exactly as `String(Math.round(x * 1e6) / 1e6)` prints it. */
  score(x: number): void {
    const v = Math.round(x * 1e6);
    if (!(v >= 0 && v < 2_000_000_000)) {
      this.raw(String(v / 1e6));
      return;
    }
    this.ensure(18);
    const whole = Math.floor(v / 1e6);
    let frac = v - whole * 1e6;
    this.uint(whole);
    if (frac === 0) return;
    let digits = 6;
    while (frac % 10 === 0) {
      frac /= 10;
      digits--;
    }
    const buf = this.buf;
    buf[this.pos++] = 46; // '.'
    for (let i = digits - 1; i >= 0; i--) {
      buf[this.pos + i] = 48 + (frac % 10);
      frac = Math.floor(frac / 10);
    }
    this.pos += digits;
  }

  /** The text written since the last call, as one string; the writer starts empty again. */
  take(): string {
    const text = this.buf.toString('utf8', 0, this.pos);
    this.pos = 0;
    return text;
  }

  private uint(n: number): void {
    let digits = 1;
    for (let m = n; m >= 10; m = Math.floor(m / 10)) digits++;
    for (let i = digits - 1; i >= 0; i--) {
      this.buf[this.pos + i] = 48 + (n % 10);
      n = Math.floor(n / 10);
    }
    this.pos += digits;
  }

  private ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + extra));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }
}
