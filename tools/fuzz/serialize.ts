// Programs through JSON, keeping NaN, Infinity and -0 in array contents (JSON has none of them).
export function stringifyPrograms(data: unknown): string {
  return JSON.stringify(data, (key, value) => {
    if (key === "values" && Array.isArray(value)) {
      return value.map((x: number) => (Number.isFinite(x) && !Object.is(x, -0) ? x : `${Object.is(x, -0) ? "-0" : x}`));
    }
    return value;
  });
}

export function parsePrograms(text: string): unknown {
  return JSON.parse(text, (key, value) => {
    if (key === "values" && Array.isArray(value)) return value.map((x) => (typeof x === "string" ? Number(x) : x));
    return value;
  });
}
