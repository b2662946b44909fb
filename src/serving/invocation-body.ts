/**
 * An invocation body: the exact bytes the gateway received (HTTP routes, Python answers), or text
 * from in-process callers and the JSON runtimes, which need no copy into a Buffer.
 */
export type InvocationBody = Buffer | string;

/** The body as text (UTF-8), for the JSON readers: no copy when it is text already. */
export function bodyText(body: InvocationBody): string {
  return typeof body === 'string' ? body : body.toString('utf8');
}

/** The body as bytes: no copy when it is bytes already. */
export function bodyBytes(body: InvocationBody): Buffer {
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
}
