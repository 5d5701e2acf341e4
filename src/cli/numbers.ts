// Parsers of numeric option values for commander: each checks the kind (integer or real) and the
// range, and refuses anything else with what the option takes, so a bad value stops the command
// before anything is loaded or printed.
import { InvalidArgumentError } from "commander";

const INTEGER = /^[+-]?\d+$/;
const REAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export interface Range {
  /** The smallest value allowed. */
  min?: number;
  /** The smallest value is excluded (the value must be greater than min). */
  minExclusive?: boolean;
  max?: number;
}

function describe(kind: string, range: Range): string {
  const parts: string[] = [];
  if (range.min !== undefined)
    parts.push(range.minExclusive ? `greater than ${range.min}` : `of at least ${range.min}`);
  if (range.max !== undefined) parts.push(`at most ${range.max}`);
  return parts.length ? `${kind} ${parts.join(" and ")}` : kind;
}

function inRange(value: number, range: Range): boolean {
  if (range.min !== undefined && (range.minExclusive ? value <= range.min : value < range.min)) return false;
  return range.max === undefined || value <= range.max;
}

function parser(kind: string, syntax: RegExp, exact: (value: number) => boolean, range: Range) {
  const wanted = describe(kind, range);
  return (text: string): number => {
    const value = Number(text);
    if (!syntax.test(text.trim()) || !exact(value) || !inRange(value, range)) {
      throw new InvalidArgumentError(`It takes ${wanted}.`);
    }
    return value;
  };
}

/** A parser of whole numbers in `range` (commander's argParser). */
export function integer(range: Range = {}): (text: string) => number {
  return parser("a whole number", INTEGER, Number.isSafeInteger, range);
}

/** A parser of finite decimal numbers in `range` (commander's argParser). */
export function real(range: Range = {}): (text: string) => number {
  return parser("a number", REAL, Number.isFinite, range);
}

/** A parser of a comma-separated list of whole numbers in `range` ("0,2,5"), each once. */
export function integerList(range: Range = {}): (text: string) => number[] {
  const one = integer(range);
  const wanted = describe("a whole number", range);
  return (text: string): number[] => {
    const items = text.split(",").map((item) => item.trim());
    let values: number[];
    try {
      values = items.map(one);
    } catch {
      throw new InvalidArgumentError(`It takes a comma-separated list, each ${wanted.replace(/^a /, "")}.`);
    }
    if (new Set(values).size !== values.length) throw new InvalidArgumentError("It lists a number twice.");
    return values;
  };
}
