import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { mx } from "mlux";
import { Module } from "../../src/nn/module.ts";

class Leaf extends Module {
  weight: mx.Array;
  bias: mx.Array;
  _buffer = mx.zeros([1]); // not a parameter: leading underscore
  constructor(inDims: number, outDims: number) {
    super();
    this.weight = mx.zeros([outDims, inDims]);
    this.bias = mx.zeros([outDims]);
  }
}

class Block extends Module {
  self_attn = new Leaf(4, 4);
  mlp = new Leaf(4, 8);
}

class Tiny extends Module {
  layers = [new Block(), new Block()];
  norm = new Leaf(4, 4);
  tag = "not a child";
}

describe("Module tree", () => {
  test("paths follow attribute names, lists are numbered", () => {
    const paths = new Tiny().namedModules().map(([p]) => p);
    assert.deepEqual(paths, [
      "",
      "layers.0",
      "layers.0.self_attn",
      "layers.0.mlp",
      "layers.1",
      "layers.1.self_attn",
      "layers.1.mlp",
      "norm",
    ]);
  });

  test("parameters by full dotted name, underscored properties excluded", () => {
    const names = [...new Tiny().parameters().keys()];
    assert.equal(names.length, 10);
    assert.ok(names.includes("layers.1.mlp.weight"));
    assert.ok(!names.some((n) => n.includes("_buffer")));
  });

  test("getModule finds a path and suggests the nearest valid ones for a typo", () => {
    const model = new Tiny();
    assert.equal(model.getModule("layers.1.mlp"), model.layers[1]?.mlp);
    assert.throws(
      () => model.getModule("layers.1.mpl"),
      /no module at path "layers.1.mpl". Nearest valid paths: layers.1.mlp/,
    );
  });

  test("loadWeights replaces parameters and checks names and shapes strictly", () => {
    const model = new Tiny();
    const weights = new Map([...model.parameters()].map(([k, v]) => [k, mx.onesLike(v)]));
    model.loadWeights(weights);
    assert.deepEqual(model.norm.bias.tolist(), [1, 1, 1, 1]);

    const missing = new Map(weights);
    missing.delete("norm.bias");
    missing.set("norm.scale", mx.ones([4]));
    missing.set("layers.0.mlp.weight", mx.ones([3, 3]));
    assert.throws(
      () => model.loadWeights(missing),
      /1 unexpected: norm.scale; 1 missing: norm.bias; layers.0.mlp.weight has shape \[3,3\], the model expects \[8,4\]/,
    );
    model.loadWeights(
      new Map([
        ["norm.bias", mx.full([4], 2)],
        ["extra", mx.ones([1])],
      ]),
      { strict: false },
    );
    assert.deepEqual(model.norm.bias.tolist(), [2, 2, 2, 2]);
  });

  test("setDtype casts floating parameters", () => {
    const model = new Tiny();
    model.setDtype("bfloat16");
    assert.ok([...model.parameters().values()].every((p) => p.dtype === "bfloat16"));
  });
});
