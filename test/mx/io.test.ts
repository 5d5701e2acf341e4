import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { mx } from "mlux";
import { assertClose, closeOracle, oracle, randomArray, randomInts } from "../oracle/oracle.ts";

const dir = mkdtempSync(join(tmpdir(), "mlux-io-"));
after(() => {
  closeOracle();
  rmSync(dir, { recursive: true, force: true });
});

// Every dtype a safetensors file holds (float64 is not one MLX writes).
const DTYPES: mx.DType[] = mx.DTYPES.filter((dtype) => dtype !== "float64");

// One array per dtype, with values that survive the conversion (negative ones for signed types).
function sampleArrays(): Record<string, mx.Array> {
  const out: Record<string, mx.Array> = {};
  for (const [i, dtype] of DTYPES.entries()) {
    const base =
      dtype === "bool" || dtype.startsWith("uint")
        ? randomInts([3, 5], i, 0, 100)
        : randomArray([3, 5], i, { lo: -50, hi: 50 });
    out[`t_${dtype}`] = mx.astype(base, dtype);
  }
  out.scalar = mx.array(3.5);
  out.empty = mx.zeros([0, 4]);
  out.transposed = mx.transpose(randomArray([2, 3, 4], 99), [2, 0, 1]);
  return out;
}

// Same dtype, same shape, same bits (tolerance 0: a file round trip must not change a byte).
function assertSameArrays(actual: Record<string, mx.Array>, expected: Record<string, mx.Array>): void {
  assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort());
  for (const [name, e] of Object.entries(expected)) {
    const a = actual[name] as mx.Array;
    assert.equal(a.dtype, e.dtype, name);
    assert.deepEqual(a.shape, e.shape, name);
    assert.deepEqual(Buffer.from(a.toTypedArray().buffer), Buffer.from(e.toTypedArray().buffer), name);
  }
}

describe("safetensors round trip", () => {
  test("every dtype, a scalar, an empty and a transposed array keep their bits; metadata survives", () => {
    const arrays = sampleArrays();
    const metadata = { format: "mlx", note: "ünïcödé ✓", empty: "" };
    const path = mx.saveSafetensors(join(dir, "all.safetensors"), arrays, metadata);
    assert.equal(path, join(dir, "all.safetensors"));
    const loaded = mx.loadSafetensors(path);
    assertSameArrays(loaded.arrays, arrays);
    assert.deepEqual(loaded.metadata, metadata);
  });

  test("a Map of arrays, no metadata, and a path without the extension (MLX appends it)", () => {
    const a = randomArray([4, 4], 5, { dtype: "bfloat16" });
    const path = mx.saveSafetensors(join(dir, "plain"), new Map([["w", a]]));
    assert.equal(path, join(dir, "plain.safetensors"));
    const loaded = mx.loadSafetensors(path);
    assertSameArrays(loaded.arrays, { w: a });
    assert.deepEqual(loaded.metadata, {});
  });

  test("the extension does not matter when loading", () => {
    const a = randomArray([3], 8);
    const path = mx.saveSafetensors(join(dir, "weights.safetensors"), { a });
    writeFileSync(join(dir, "weights.bin"), readFileSync(path));
    assertSameArrays(mx.loadSafetensors(join(dir, "weights.bin")).arrays, { a });
  });

  test("loaded arrays are lazy and usable in ops", () => {
    const a = randomArray([8], 6);
    const path = mx.saveSafetensors(join(dir, "lazy.safetensors"), { a });
    const b = mx.loadSafetensors(path).arrays.a as mx.Array;
    assertClose(mx.add(b, 1), mx.add(a, 1));
  });
});

describe("safetensors files are the same as Python MLX's", () => {
  test("Python reads the file we wrote, arrays and metadata", async () => {
    const arrays = sampleArrays();
    const path = mx.saveSafetensors(join(dir, "to-python.safetensors"), arrays, { source: "mlux", n: "42" });
    const names = Object.keys(arrays).sort();
    const fromPython = await oracle().run(
      `d, m = mx.load(${JSON.stringify(path)}, return_metadata=True)
assert m == {"source": "mlux", "n": "42"}, m
assert sorted(d) == ${JSON.stringify(names)}, sorted(d)
result = [d[k] for k in sorted(d)]`,
    );
    const byName = Object.fromEntries(names.map((name, i) => [name, fromPython[i] as mx.Array]));
    assertSameArrays(byName, arrays);
  });

  test("we read the file Python wrote", async () => {
    const path = join(dir, "from-python.safetensors");
    const expected = await oracle().run(
      `arrays = {
  "w": mx.arange(24, dtype=mx.float32).reshape(2, 3, 4) / 7,
  "h": (mx.arange(10, dtype=mx.float32) / 3).astype(mx.float16),
  "b": (mx.arange(10, dtype=mx.float32) / 3).astype(mx.bfloat16),
  "i": mx.array([-5, 0, 7], dtype=mx.int64),
  "m": mx.array([True, False, True]),
}
mx.save_safetensors(${JSON.stringify(path)}, arrays, metadata={"by": "python", "k": "v"})
result = [arrays[k] for k in sorted(arrays)]`,
    );
    const loaded = mx.loadSafetensors(path);
    assert.deepEqual(loaded.metadata, { by: "python", k: "v" });
    const names = Object.keys(loaded.arrays).sort();
    assert.deepEqual(names, ["b", "h", "i", "m", "w"]);
    assertSameArrays(loaded.arrays, Object.fromEntries(names.map((name, i) => [name, expected[i] as mx.Array])));
  });
});

// Writes a file of an 8-byte little-endian header length, the header and the data.
function writeRaw(name: string, header: unknown, data: Buffer = Buffer.alloc(16), length?: bigint): string {
  const json = Buffer.from(typeof header === "string" ? header : JSON.stringify(header));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(length ?? BigInt(json.length));
  const path = join(dir, name);
  writeFileSync(path, Buffer.concat([prefix, json, data]));
  return path;
}

const entry = (shape: number[], offsets: number[], dtype = "F32") => ({ x: { dtype, shape, data_offsets: offsets } });

describe("bad safetensors files raise an Error naming the file", () => {
  const escaped = (path: string) => path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const cases: [string, () => string, RegExp][] = [
    ["a missing file", () => join(dir, "missing.safetensors"), /does not exist/],
    [
      "a directory",
      () => {
        mkdirSync(join(dir, "adir.safetensors"), { recursive: true });
        return join(dir, "adir.safetensors");
      },
      /is a directory/,
    ],
    [
      "an empty file",
      () => {
        writeFileSync(join(dir, "empty.safetensors"), "");
        return join(dir, "empty.safetensors");
      },
      /0 bytes, fewer than the 8/,
    ],
    [
      "a header length beyond the file",
      () => writeRaw("long-header.safetensors", entry([4], [0, 16]), Buffer.alloc(16), 10n ** 9n),
      /header length 1000000000 does not fit/,
    ],
    [
      "a header length of 2^64 - 1",
      () => writeRaw("huge-header.safetensors", entry([4], [0, 16]), Buffer.alloc(16), 2n ** 64n - 1n),
      /header length 18446744073709551615 does not fit/,
    ],
    ["garbage instead of JSON", () => writeRaw("garbage.safetensors", "{not json!!}"), /not valid JSON/],
    ["a JSON list", () => writeRaw("list.safetensors", "[1, 2, 3]"), /not a JSON object/],
    ["a tensor that is a number", () => writeRaw("num.safetensors", { x: 5 }), /"x" is not described by an object/],
    [
      "a truncated data section",
      () => writeRaw("truncated.safetensors", entry([100], [0, 400]), Buffer.alloc(100)),
      /lies at bytes \[0, 400\) but the data section has 100 bytes/,
    ],
    [
      "offsets that disagree with the shape",
      () => writeRaw("offsets.safetensors", entry([3], [0, 16])),
      /spans 16 bytes but its shape and dtype need 12/,
    ],
    ["reversed offsets", () => writeRaw("reversed.safetensors", entry([0], [8, 4])), /lies at bytes \[8, 4\)/],
    ["one offset", () => writeRaw("one-offset.safetensors", entry([1], [0])), /data_offsets \[0\]/],
    // MLX itself accepts the next three and returns arrays of impossible shapes.
    ["negative dimensions", () => writeRaw("negative.safetensors", entry([-2, -2], [0, 16])), /shape \[-2,-2\]/],
    ["fractional dimensions", () => writeRaw("fraction.safetensors", entry([1.5], [0, 4])), /shape \[1.5\]/],
    [
      "a dimension beyond 32 bits",
      () => writeRaw("wide.safetensors", entry([2 ** 32, 1], [0, 0])),
      /shape \[4294967296,1\]/,
    ],
    ["an unknown dtype", () => writeRaw("dtype.safetensors", entry([4], [0, 16], "Q7")), /dtype "Q7"/],
    [
      "non-string metadata",
      () => writeRaw("meta.safetensors", { __metadata__: { a: 1 }, ...entry([4], [0, 16]) }),
      /metadata "a" is not a string/,
    ],
  ];
  for (const [what, make, message] of cases) {
    test(what, () => {
      const path = make();
      assert.throws(
        () => mx.loadSafetensors(path),
        (error: Error) => {
          assert.match(error.message, new RegExp(escaped(path)));
          assert.match(error.message, message);
          return true;
        },
      );
    });
  }

  test("a file truncated after loading fails at evaluation with an Error, and the process goes on", () => {
    const path = mx.saveSafetensors(join(dir, "shrinks.safetensors"), {
      a: mx.arange(1000, undefined, undefined, "float32"),
    });
    const { a } = mx.loadSafetensors(path).arrays as { a: mx.Array };
    truncateSync(path, readFileSync(path).length - 2000);
    assert.throws(() => a.tolist(), /Unable to read/);
    assert.deepEqual(mx.add(mx.array([1, 2]), 1).tolist(), [2, 3]);
  });

  test("the path must be a string", () => {
    assert.throws(() => mx.loadSafetensors(42 as unknown as string), /path must be a string, got number 42/);
  });
});

describe("saving bad input raises a clear Error", () => {
  const a = mx.array([1, 2, 3]);
  test("a folder that does not exist", () => {
    const path = join(dir, "no", "such", "folder", "x.safetensors");
    assert.throws(() => mx.saveSafetensors(path, { a }), /cannot write .*x\.safetensors.*Failed to open/);
  });
  test("float64 arrays", () => {
    assert.throws(() => mx.saveSafetensors(join(dir, "f64"), { d: mx.array([1], "float64") }), /"d" is float64/);
  });
  test("an array named __metadata__", () => {
    assert.throws(() => mx.saveSafetensors(join(dir, "meta"), { __metadata__: a }), /reserved/);
  });
  test("a value that is not an Array", () => {
    const bad = { a, b: [1, 2] } as unknown as Record<string, mx.Array>;
    assert.throws(() => mx.saveSafetensors(join(dir, "notarray"), bad), /"b" is not an mx Array: a JS array/);
  });
  test("a Map with a name that is not a string", () => {
    const bad = new Map([[7, a]]) as unknown as Map<string, mx.Array>;
    assert.throws(() => mx.saveSafetensors(join(dir, "badname"), bad), /array names must be strings, got number 7/);
  });
  test("metadata that is not a string", () => {
    const meta = { n: 3 } as unknown as Record<string, string>;
    assert.throws(
      () => mx.saveSafetensors(join(dir, "meta2"), { a }, meta),
      /metadata "n" must be a string, got number 3/,
    );
  });
  test("a disposed array", () => {
    const gone = mx.array([1]);
    gone.dispose();
    assert.throws(() => mx.saveSafetensors(join(dir, "gone"), { gone }), /disposed/);
  });
});
