import { after, describe, test } from "node:test";
import { mx } from "mlux";
import { closeOracle, expectSameAsPython, randomArray } from "../oracle/oracle.ts";

after(closeOracle);

const a = randomArray([3, 4], 1);
const positive = randomArray([3, 4], 3, { lo: 0.1, hi: 4 });
const unit = randomArray([3, 4], 4, { lo: -0.95, hi: 0.95 });

describe("elementwise ops match Python MLX", () => {
  const unaryOnA = [
    "abs",
    "negative",
    "sign",
    "square",
    "exp",
    "expm1",
    "sin",
    "cos",
    "tan",
    "arctan",
    "sinh",
    "cosh",
    "tanh",
    "arcsinh",
    "sigmoid",
    "erf",
    "floor",
    "ceil",
    "trunc",
    "degrees",
    "radians",
  ] as const;
  for (const name of unaryOnA) {
    test(name, async () => {
      await expectSameAsPython(mx[name](a), `mx.${name}(a)`, { a }, { atol: 1e-6, rtol: 1e-6 });
    });
  }
  for (const name of ["sqrt", "rsqrt", "reciprocal", "log", "log1p", "log2", "log10", "arccosh"] as const) {
    test(name, async () => {
      await expectSameAsPython(mx[name](mx.add(positive, 1)), `mx.${name}(p + 1)`, { p: positive }, { rtol: 1e-6 });
    });
  }
  for (const name of ["arcsin", "arccos", "arctanh", "erfinv"] as const) {
    test(name, async () => {
      await expectSameAsPython(mx[name](unit), `mx.${name}(u)`, { u: unit }, { atol: 1e-6, rtol: 1e-6 });
    });
  }
});
