/**
 * A fast, conservative answer to "does this small function use nothing but its parameters and the
 * worker's globals?", so that the first submit need not load acorn (about 17 ms, plus 4 ms for the
 * first parse, on the path from the first submit to the first worker's start). It says yes only
 * when it understood every character; anything else (a comment, a regex, a template, a local
 * declaration, an object key, `this`...) gets `false`, and the full analysis decides. It trusts the
 * source to be valid JavaScript: the caller checks that.
 * @module
 */

const IDENT = /[A-Za-z_$][\w$]*/y;
const NUMBER = /[\w.]*/y;
const ARROW_HEAD = /^(async\s+)?(?:([A-Za-z_$][\w$]*)|\(\s*([A-Za-z_$][\w$]*(?:\s*,\s*[A-Za-z_$][\w$]*)*)?\s*\))\s*=>/;
const FUNCTION_HEAD =
  /^(async\s+)?function\s*(\*?)\s*([A-Za-z_$][\w$]*)?\s*\(\s*([A-Za-z_$][\w$]*(?:\s*,\s*[A-Za-z_$][\w$]*)*)?\s*\)\s*\{/;
/** Punctuation that can only be an operator or a bracket (`/` could start a regex or a comment). */
const PUNCTUATION = new Set('()[]{},;:?!~+-*%&|^<>=.');
/** Words that are never a variable reference, whatever follows them. */
const KEYWORDS = new Set([
  'true',
  'false',
  'null',
  'typeof',
  'void',
  'delete',
  'instanceof',
  'in',
  'return',
  'if',
  'else',
  'throw',
  'while',
  'do',
  'break',
  'continue',
  'switch',
  'case',
  'default',
]);

/**
 * True when `source` (an arrow or a `function`) surely has no free variables beyond `known`, and
 * nothing else the full analysis looks for; `false` means "not sure", never "it has some".
 */
export function plainlyClosed(
  source: string,
  known: Pick<ReadonlySet<string>, 'has'>,
  helpers: ReadonlySet<string>,
): boolean {
  if (source.includes('<!--') || source.includes('-->')) return false; // HTML-like comments
  const own = new Set<string>();
  let body: number;
  let isAsync: boolean;
  let isGenerator = false;
  const arrow = ARROW_HEAD.exec(source);
  if (arrow) {
    body = arrow[0].length;
    isAsync = arrow[1] !== undefined;
    addParams(own, arrow[2] ?? arrow[3]);
  } else {
    const fn = FUNCTION_HEAD.exec(source);
    if (!fn) return false;
    body = fn[0].length - 1;
    isAsync = fn[1] !== undefined;
    isGenerator = fn[2] === '*';
    if (fn[3]) own.add(fn[3]);
    addParams(own, fn[4]);
  }
  // In an arrow nested inside, `await` and `yield` are plain identifiers (and would be free).
  const nested = source.includes('=>', body);
  for (let i = body; i < source.length; ) {
    const c = source.charCodeAt(i);
    const ch = source[i] as string;
    if (c === 32 || c === 9 || c === 10 || c === 13) {
      i++;
    } else if (ch === "'" || ch === '"') {
      i = stringEnd(source, i, ch);
      if (i < 0) return false;
    } else if (c >= 48 && c <= 57) {
      NUMBER.lastIndex = i;
      NUMBER.exec(source);
      i = NUMBER.lastIndex;
    } else if (PUNCTUATION.has(ch)) {
      i++;
    } else {
      IDENT.lastIndex = i;
      const word = IDENT.exec(source)?.[0];
      if (!word) return false; // `/`, a backtick, `#`, `\`, anything not ASCII...
      if (!isReference(source, i) || KEYWORDS.has(word)) {
        // a property name after `.`, or a keyword
      } else if (word === 'new') {
        if (source[skipSpace(source, i + 3)] === '.') return false; // new.target
      } else if (word === 'await') {
        if (!isAsync || nested) return false;
      } else if (word === 'yield') {
        if (!isGenerator || nested) return false;
      } else if (!own.has(word) && (!known.has(word) || helpers.has(word))) {
        return false;
      }
      i += word.length;
    }
  }
  return true;
}

function addParams(own: Set<string>, list: string | undefined): void {
  for (const name of list?.split(',') ?? []) own.add(name.trim());
}

/** The index after the string literal that starts at `start`, or -1 if it does not end on its line. */
function stringEnd(source: string, start: number, quote: string): number {
  for (let i = start + 1; i < source.length; i++) {
    const ch = source[i];
    if (ch === quote) return i + 1;
    if (ch === '\\') i++;
    else if (ch === '\n' || ch === '\r') return -1;
  }
  return -1;
}

function skipSpace(source: string, i: number): number {
  while (i < source.length && /\s/.test(source[i] as string)) i++;
  return i;
}

/** False for a property name: the word follows a `.` (not the last dot of a `...` spread). */
function isReference(source: string, at: number): boolean {
  let i = at - 1;
  while (i >= 0 && /\s/.test(source[i] as string)) i--;
  return source[i] !== '.' || source[i - 1] === '.';
}
