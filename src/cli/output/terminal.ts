// What a stream can show: colours only on a terminal (never with NO_COLOR set, always with
// FORCE_COLOR set), and how many columns the text may take.
import { Chalk, type ChalkInstance } from "chalk";

export interface TextStyle {
  /** Colours on (chalk at its 24-bit level) or off (plain text, no escape codes). */
  color: boolean;
  /** Columns the text may take. */
  width: number;
  chalk: ChalkInstance;
}

/** Width used when the stream is not a terminal and COLUMNS says nothing. */
const PIPE_WIDTH = 120;

export function textStyle(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): TextStyle {
  const forced = env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "" && env.FORCE_COLOR !== "0";
  const refused = (env.NO_COLOR !== undefined && env.NO_COLOR !== "") || env.TERM === "dumb";
  const color = forced || (!refused && stream.isTTY === true);
  const fromEnv = Number(env.COLUMNS);
  const width = stream.isTTY && stream.columns > 0 ? stream.columns : fromEnv > 0 ? fromEnv : PIPE_WIDTH;
  return { color, width, chalk: new Chalk({ level: color ? 3 : 0 }) };
}

/** Plain text for a file: no colours, no width limit worth fitting. */
export const FILE_STYLE: TextStyle = { color: false, width: Number.POSITIVE_INFINITY, chalk: new Chalk({ level: 0 }) };
