// CSV as RFC 4180 writes it: a header line, then one line per row; a field with a comma, a quote
// or a line break is quoted, its quotes doubled.

export type CsvValue = string | number | boolean | undefined;

function field(value: CsvValue): string {
  const text = value === undefined ? "" : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The table as CSV text, lines ended by CRLF as the RFC has them. */
export function toCsv(header: readonly string[], rows: readonly (readonly CsvValue[])[]): string {
  return [header, ...rows].map((row) => `${row.map(field).join(",")}\r\n`).join("");
}
