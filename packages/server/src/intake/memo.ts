/**
 * `fn` remembered per string argument, for per-request work on per-source text (secret
 * templates, decoded keys): a source has few of them, so the map is small; it is emptied when it
 * reaches `limit`, in case they keep changing through the API.
 *
 * @example
 * const decode = memoByText(256, (s: string) => Buffer.from(s, "base64"));
 */
export function memoByText<T>(limit: number, fn: (text: string) => T): (text: string) => T {
  const known = new Map<string, T>();
  return (text) => {
    let value = known.get(text);
    if (value === undefined) {
      if (known.size >= limit) known.clear();
      value = fn(text);
      known.set(text, value);
    }
    return value;
  };
}
