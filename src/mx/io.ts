// Reading and writing safetensors files (the format of mlx-community checkpoints).
import { closeSync, fstatSync, openSync, readSync, statSync } from "node:fs";
import { MxArray, wrap } from "./array.ts";
import { type Handle, nativeFunctions } from "./native.ts";
import { describe } from "./operand.ts";

const n = nativeFunctions("loadSafetensors", "saveSafetensors");

/** The arrays and the string metadata of one safetensors file. */
export interface Safetensors {
  arrays: Record<string, MxArray>;
  metadata: Record<string, string>;
}

// Bytes per element of each safetensors dtype MLX reads.
const ITEM_BYTES: Record<string, number> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  U16: 2,
  I16: 2,
  F16: 2,
  BF16: 2,
  U32: 4,
  I32: 4,
  F32: 4,
  U64: 8,
  I64: 8,
  C64: 8,
  F8_E4M3: 1, // read by MLX as raw uint8
};

const MAX_DIMENSION = 2 ** 31 - 1;

/**
 * Loads every array of a safetensors file, with the string metadata of its header. The arrays
 * are lazy: their bytes are read from the file when first evaluated. The header is checked first
 * (length within the file, valid JSON, each tensor's dtype, shape and byte range), so a truncated
 * or corrupt file raises an Error naming the file.
 */
export function loadSafetensors(path: string): Safetensors {
  if (typeof path !== "string") throw new TypeError(`loadSafetensors: path must be a string, got ${describe(path)}`);
  checkSafetensorsHeader(path);
  let loaded: { arrays: Record<string, Handle>; metadata: Record<string, string> };
  try {
    loaded = n.loadSafetensors(path);
  } catch (error) {
    throw new Error(`loadSafetensors: cannot load ${path}: ${(error as Error).message}`, { cause: error });
  }
  const arrays: Record<string, MxArray> = {};
  for (const [name, handle] of Object.entries(loaded.arrays)) arrays[name] = wrap(handle);
  return { arrays, metadata: loaded.metadata };
}

/**
 * Writes arrays (a record or Map from name to Array) and optional string metadata to a
 * safetensors file, evaluating the arrays first. As in MLX, ".safetensors" is appended to a path
 * that does not end with it; the path written is returned. float64 is not supported by the format
 * as MLX writes it.
 */
export function saveSafetensors(
  path: string,
  arrays: Record<string, MxArray> | Map<string, MxArray>,
  metadata: Record<string, string> = {},
): string {
  if (typeof path !== "string") throw new TypeError(`saveSafetensors: path must be a string, got ${describe(path)}`);
  const file = path.endsWith(".safetensors") ? path : `${path}.safetensors`;
  if (typeof arrays !== "object" || arrays === null || Array.isArray(arrays)) {
    throw new TypeError(`saveSafetensors: arrays must be a record or Map of name -> Array, got ${describe(arrays)}`);
  }
  const entries = arrays instanceof Map ? [...arrays.entries()] : Object.entries(arrays);
  const handles: Handle[] = [];
  for (const [name, a] of entries) {
    if (typeof name !== "string")
      throw new TypeError(`saveSafetensors: array names must be strings, got ${describe(name)}`);
    if (!(a instanceof MxArray)) throw new TypeError(`saveSafetensors: "${name}" is not an mx Array: ${describe(a)}`);
    if (name === "__metadata__") {
      throw new Error('saveSafetensors: "__metadata__" is reserved for the header metadata and cannot name an array');
    }
    if (a.dtype === "float64") {
      throw new TypeError(`saveSafetensors: "${name}" is float64, which MLX cannot save; convert it to float32 first`);
    }
    handles.push(a.handle);
  }
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
    throw new TypeError(`saveSafetensors: metadata must be a record of strings, got ${describe(metadata)}`);
  }
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== "string") {
      throw new TypeError(`saveSafetensors: metadata "${key}" must be a string, got ${describe(value)}`);
    }
  }
  try {
    n.saveSafetensors(
      file,
      entries.map(([name]) => name),
      handles,
      Object.keys(metadata),
      Object.values(metadata),
    );
  } catch (error) {
    throw new Error(`saveSafetensors: cannot write ${file}: ${(error as Error).message}`, { cause: error });
  }
  return file;
}

// Validates the 8-byte little-endian header length, the JSON header and every tensor entry
// against the file's size, so that nothing malformed reaches MLX's loader.
function checkSafetensorsHeader(path: string): void {
  const bad = (why: string): Error => new Error(`loadSafetensors: ${path} is not a valid safetensors file: ${why}`);
  let size: number;
  try {
    const stat = statSync(path);
    if (stat.isDirectory()) throw new Error(`loadSafetensors: ${path} is a directory, not a safetensors file`);
    size = stat.size;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new Error(`loadSafetensors: ${path} does not exist`);
    if (code !== undefined) throw new Error(`loadSafetensors: cannot read ${path}: ${(error as Error).message}`);
    throw error;
  }
  if (size < 8) throw bad(`it has ${size} bytes, fewer than the 8 of the header length`);
  let header: string;
  let dataBytes: bigint;
  const fd = openSync(path, "r");
  try {
    const lengthBytes = Buffer.alloc(8);
    readSync(fd, lengthBytes, 0, 8, 0);
    const length = lengthBytes.readBigUInt64LE(0);
    if (length === 0n || length > BigInt(size - 8)) {
      throw bad(`the header length ${length} does not fit in the file (${size} bytes); is it truncated?`);
    }
    const headerBytes = Buffer.alloc(Number(length));
    const read = readSync(fd, headerBytes, 0, headerBytes.length, 8);
    if (read !== headerBytes.length || fstatSync(fd).size !== size) throw bad("the file changed while being read");
    header = headerBytes.toString("utf8");
    dataBytes = BigInt(size - 8) - length;
  } finally {
    closeSync(fd);
  }
  let parsed: unknown;
  try {
    // The format allows trailing spaces as padding.
    parsed = JSON.parse(header.replace(/[\s\0]+$/, ""));
  } catch (error) {
    throw bad(`the header is not valid JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw bad("the header is not a JSON object");
  }
  for (const [name, entry] of Object.entries(parsed)) {
    if (name === "__metadata__") {
      if (entry === null) continue; // MLX writes null when there is no metadata
      if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
        throw bad("__metadata__ is not an object of strings");
      }
      for (const [key, value] of Object.entries(entry)) {
        if (typeof value !== "string") throw bad(`metadata "${key}" is not a string`);
      }
      continue;
    }
    checkTensorEntry(name, entry, dataBytes, bad);
  }
}

function checkTensorEntry(name: string, entry: unknown, dataBytes: bigint, bad: (why: string) => Error): void {
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
    throw bad(`tensor "${name}" is not described by an object`);
  }
  const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
  const itemBytes = typeof dtype === "string" ? ITEM_BYTES[dtype] : undefined;
  if (itemBytes === undefined) {
    throw bad(`tensor "${name}" has dtype ${JSON.stringify(dtype)}; MLX reads ${Object.keys(ITEM_BYTES).join(", ")}`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0 && d <= MAX_DIMENSION)) {
    throw bad(`tensor "${name}" has shape ${JSON.stringify(shape)}; dimensions must be integers in [0, 2^31)`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    throw bad(`tensor "${name}" has data_offsets ${JSON.stringify(offsets)}; expected [begin, end]`);
  }
  const [begin, end] = offsets.map(BigInt) as [bigint, bigint];
  const expected = shape.reduce((acc: bigint, d: number) => acc * BigInt(d), BigInt(itemBytes));
  if (begin > end || end > dataBytes) {
    throw bad(`tensor "${name}" lies at bytes [${begin}, ${end}) but the data section has ${dataBytes} bytes`);
  }
  if (end - begin !== expected) {
    throw bad(`tensor "${name}" spans ${end - begin} bytes but its shape and dtype need ${expected}`);
  }
}
