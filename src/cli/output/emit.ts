// How a command's result leaves: --json (the library result's toJSON()), --csv (one row per cell),
// or text for people (a heatmap, coloured on a terminal); to stdout, or to the file --out names
// (its format from --json / --csv, else from its extension, else plain text).
import { existsSync, statSync, writeFileSync } from "node:fs";
import { dirname, extname, resolve } from "node:path";
import { type Command, InvalidArgumentError, Option } from "commander";
import { type CsvValue, toCsv } from "./csv.ts";
import { FILE_STYLE, type TextStyle, textStyle } from "./terminal.ts";

export interface OutputOptions {
  json?: boolean;
  csv?: boolean;
  out?: string;
}

/** What a command hands over: each of the three forms, made only when asked for. */
export interface Output {
  json: () => unknown;
  csv: () => { header: string[]; rows: CsvValue[][] };
  text: (style: TextStyle) => string;
}

export type Format = "json" | "csv" | "text";

/** Adds --json, --csv and --out to a command; a bad --out is refused before anything runs. */
export function addOutputOptions(command: Command): Command {
  return command
    .addOption(new Option("--json", "print the result as JSON").conflicts("csv"))
    .addOption(new Option("--csv", "print the result as CSV, one row per cell"))
    .addOption(
      new Option(
        "--out <file>",
        "write the result to this file instead of stdout (JSON or CSV by --json / --csv or the file's extension, else plain text)",
      ).argParser(checkOutFile),
    );
}

/** The format the options ask for. */
export function formatOf(options: OutputOptions): Format {
  if (options.json) return "json";
  if (options.csv) return "csv";
  const extension = options.out === undefined ? "" : extname(options.out).toLowerCase();
  if (extension === ".json") return "json";
  if (extension === ".csv") return "csv";
  return "text";
}

/** Writes the output where and as the options say. */
export function emit(options: OutputOptions, output: Output): void {
  const format = formatOf(options);
  const style = options.out === undefined ? textStyle(process.stdout) : FILE_STYLE;
  let text: string;
  if (format === "json") text = `${JSON.stringify(output.json(), null, 2)}\n`;
  else if (format === "csv") {
    const { header, rows } = output.csv();
    text = toCsv(header, rows);
  } else text = `${output.text(style).replace(/\n*$/, "")}\n`;
  if (options.out === undefined) process.stdout.write(text);
  else {
    writeFileSync(options.out, text);
    process.stderr.write(`[wrote ${format === "text" ? "text" : format.toUpperCase()} to ${options.out}]\n`);
  }
}

function checkOutFile(path: string): string {
  const folder = dirname(resolve(path));
  if (!existsSync(folder) || !statSync(folder).isDirectory()) {
    throw new InvalidArgumentError(`The folder ${folder} does not exist; name a file in an existing folder.`);
  }
  if (existsSync(path) && statSync(path).isDirectory()) {
    throw new InvalidArgumentError(`${path} is a folder; name a file.`);
  }
  return path;
}
