import { RE2JS } from 're2js';
import { CapstanError } from './errors.js';

/** A regular expression compiled by a linear-time engine: matching cost grows with the input, never exponentially. */
export interface UserRegex {
  /** The pattern as given. */
  readonly source: string;
  /** True when the pattern matches anywhere in `text`. */
  test(text: string): boolean;
  /** The first capture group of the first match (or the whole match without groups), or undefined. */
  firstGroup(text: string): string | undefined;
}

/**
 * Compiles a pattern that a user wrote (log search, metric definitions) with RE2 semantics, so no
 * pattern can make matching backtrack exponentially on the event loop. RE2 has no look-around or
 * back-references; such a pattern, like one that does not parse, is CAPSTAN_REQUEST_REGEX_INVALID.
 */
export function compileUserRegex(pattern: string, what = 'the pattern'): UserRegex {
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern);
  } catch (err) {
    const why = (err as Error).message.replace(/^error parsing regexp:\s*/, '');
    throw new CapstanError('CAPSTAN_REQUEST_REGEX_INVALID', `${what} is not a valid RE2 regular expression: ${why}`, { cause: err, fields: { pattern } });
  }
  return {
    source: pattern,
    test: (text) => re.test(text),
    firstGroup(text) {
      const m = re.matcher(text);
      if (!m.find()) return undefined;
      return (re.groupCount() >= 1 ? m.group(1) : null) ?? m.group(0) ?? undefined;
    },
  };
}
