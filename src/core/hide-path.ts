import { pathToFileURL } from 'node:url';

/**
 * Replaces a host directory in a message, as a path or a file URL, with a placeholder, so error texts
 * shown to clients name `<code>` or `<package>` instead of where things live on the server.
 */
export function hidePath(message: string, dir: string, placeholder: string): string {
  return message.split(pathToFileURL(dir).href).join(placeholder).split(dir).join(placeholder);
}
