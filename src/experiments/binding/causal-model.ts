// The causal model of arXiv 2510.06182 fitted to patched output distributions: over the original's
// n groups a = 0 .. n-1, the patched run answers group a's attribute with probability
//
//   softmax_a( w_pos · exp(-(a - p)² / (2σ²)) + w_lex · [a = k] + w_ref · [a = i] + w_orig · [a = q] )
//
// where p, k, i are the groups the positional, lexical and reflexive mechanisms point at
// (counterfactuals.ts) and q is the original's own query. The positional mechanism is a Gaussian
// over positions (it blurs into the neighbours of p); the lexical and reflexive ones are spikes on
// one group. The w_orig term is the patch having no effect: the paper fits its model at a layer where
// the patch takes full effect and leaves it out; here every layer is fitted, early ones included.
// (The paper also lets σ and the spike weights vary with the position; one of each is fitted here.)
// The fit minimizes the mean Jensen-Shannon divergence to the patched distributions, as the paper
// does, with gradients from MLX and Adam steps.
import type { MxArray } from "../../mx/array.ts";
import * as mx from "../../mx/index.ts";

/** One patched distribution to fit: the original's groups, the pointers, and the probabilities of the n attributes. */
export interface FitSample {
  groups: number;
  positional: number;
  lexical: number;
  reflexive: number;
  /** The original's queried group (the answer when the patch has no effect). */
  original: number;
  /** The patched run's probabilities of the original's n attributes, in group order, renormalized to sum to 1. */
  target: readonly number[];
}

export interface CausalModelParams {
  positionalWeight: number;
  /** Width of the positional Gaussian, in groups. */
  sigma: number;
  lexicalWeight: number;
  reflexiveWeight: number;
  /** Weight of the original's own answer (no effect). */
  originalWeight: number;
}

export interface CausalModelFit {
  params: CausalModelParams;
  /** Mean over the samples of the Jensen-Shannon distance (√ of the base-2 divergence: 0 same, 1 disjoint). */
  jsDistance: number;
  /** Mean Jensen-Shannon divergence (base 2), the quantity minimized. */
  jsDivergence: number;
  samples: number;
}

/** The model's distribution over the n groups of one sample. */
export function causalModelDistribution(params: CausalModelParams, sample: Omit<FitSample, "target">): number[] {
  const logits = Array.from({ length: sample.groups }, (_, a) => {
    const d = a - sample.positional;
    return (
      params.positionalWeight * Math.exp((-d * d) / (2 * params.sigma * params.sigma)) +
      (a === sample.lexical ? params.lexicalWeight : 0) +
      (a === sample.reflexive ? params.reflexiveWeight : 0) +
      (a === sample.original ? params.originalWeight : 0)
    );
  });
  const top = Math.max(...logits);
  const e = logits.map((l) => Math.exp(l - top));
  const total = e.reduce((s, x) => s + x, 0);
  return e.map((x) => x / total);
}

/**
 * The Jensen-Shannon divergence of two distributions over the same outcomes, in bits:
 * ½ KL(p ‖ m) + ½ KL(q ‖ m) with m = ½ (p + q); terms where a distribution is 0 contribute 0.
 */
export function jensenShannonDivergence(p: readonly number[], q: readonly number[]): number {
  if (p.length !== q.length || p.length === 0) {
    throw new Error(
      `jensenShannonDivergence: the distributions must have the same non-zero length, got ${p.length} and ${q.length}`,
    );
  }
  let total = 0;
  p.forEach((pa, a) => {
    const qa = q[a] as number;
    const m = (pa + qa) / 2;
    if (pa > 0) total += 0.5 * pa * Math.log2(pa / m);
    if (qa > 0) total += 0.5 * qa * Math.log2(qa / m);
  });
  return Math.max(0, total);
}

export interface FitOptions {
  /** Adam steps (default 400). */
  steps?: number;
  /** Adam's step size (default 0.05). */
  learningRate?: number;
}

/** Fits the model to the samples (see the top of this file); null for no samples. */
export function fitCausalModel(samples: readonly FitSample[], options: FitOptions = {}): CausalModelFit | null {
  if (samples.length === 0) return null;
  const steps = options.steps ?? 400;
  const learningRate = options.learningRate ?? 0.05;
  const groups = [...new Set(samples.map((s) => s.groups))];
  // [w_pos, log σ, w_lex, w_ref, w_orig]
  let theta = [1, 0, 0, 0, 0];
  const data = groups.map((n) =>
    fitData(
      samples.filter((s) => s.groups === n),
      n,
    ),
  );
  try {
    const loss = (params: MxArray) => {
      const parts = data.map((d) => mx.multiply(meanJsDivergence(params, d), d.count / samples.length));
      return parts.reduce((a, b) => mx.add(a, b));
    };
    const step = mx.valueAndGrad(loss);
    // Adam (Kingma & Ba 2015) with its usual moment decays.
    const [beta1, beta2, eps] = [0.9, 0.999, 1e-8];
    const m = new Array<number>(theta.length).fill(0);
    const v = new Array<number>(theta.length).fill(0);
    for (let t = 1; t <= steps; t++) {
      const g = mx.tidy(() => {
        const [value, grad] = step(mx.array(theta, "float32"));
        value.dispose();
        return grad.tolist() as number[];
      });
      theta = theta.map((x, j) => {
        const gj = Number.isFinite(g[j]) ? (g[j] as number) : 0;
        m[j] = beta1 * (m[j] as number) + (1 - beta1) * gj;
        v[j] = beta2 * (v[j] as number) + (1 - beta2) * gj * gj;
        const mHat = (m[j] as number) / (1 - beta1 ** t);
        const vHat = (v[j] as number) / (1 - beta2 ** t);
        return x - (learningRate * mHat) / (Math.sqrt(vHat) + eps);
      });
    }
  } finally {
    for (const d of data) d.dispose();
  }
  const [positionalWeight, logSigma, lexicalWeight, reflexiveWeight, originalWeight] = theta as [
    number,
    number,
    number,
    number,
    number,
  ];
  const params = { positionalWeight, sigma: Math.exp(logSigma), lexicalWeight, reflexiveWeight, originalWeight };
  const divergences = samples.map((s) => jensenShannonDivergence(causalModelDistribution(params, s), s.target));
  return {
    params,
    jsDistance: divergences.reduce((sum, d) => sum + Math.sqrt(d), 0) / samples.length,
    jsDivergence: divergences.reduce((sum, d) => sum + d, 0) / samples.length,
    samples: samples.length,
  };
}

// The samples of one group count as constant arrays [N, n].
interface FitData {
  count: number;
  squaredDistance: MxArray;
  lexical: MxArray;
  reflexive: MxArray;
  original: MxArray;
  target: MxArray;
  logTarget: MxArray;
  dispose(): void;
}

function fitData(samples: readonly FitSample[], n: number): FitData {
  const rows = (f: (s: FitSample, a: number) => number) =>
    mx.array(
      samples.map((s) => Array.from({ length: n }, (_, a) => f(s, a))),
      "float32",
    );
  // The targets clamped away from 0 (and renormalized) so their logarithm is finite.
  const floor = 1e-12;
  const target = samples.map((s) => {
    const clamped = s.target.map((x) => Math.max(x, floor));
    const total = clamped.reduce((a, b) => a + b, 0);
    return clamped.map((x) => x / total);
  });
  const arrays = {
    squaredDistance: rows((s, a) => (a - s.positional) ** 2),
    lexical: rows((s, a) => (a === s.lexical ? 1 : 0)),
    reflexive: rows((s, a) => (a === s.reflexive ? 1 : 0)),
    original: rows((s, a) => (a === s.original ? 1 : 0)),
    target: mx.array(target, "float32"),
    logTarget: mx.array(
      target.map((row) => row.map(Math.log)),
      "float32",
    ),
  };
  for (const a of Object.values(arrays)) mx.keep(a);
  return {
    count: samples.length,
    ...arrays,
    dispose: () => {
      for (const a of Object.values(arrays)) a.dispose();
    },
  };
}

// Mean JS divergence (bits) between the model with parameters theta and the data's targets.
function meanJsDivergence(theta: MxArray, d: FitData): MxArray {
  const at = (j: number) => mx.index(theta, j);
  const sigma = mx.exp(at(1));
  const gaussian = mx.exp(mx.divide(mx.negative(d.squaredDistance), mx.multiply(2, mx.square(sigma))));
  const logits = mx.add(
    mx.add(mx.multiply(at(0), gaussian), mx.multiply(at(2), d.lexical)),
    mx.add(mx.multiply(at(3), d.reflexive), mx.multiply(at(4), d.original)),
  );
  const logP = mx.subtract(logits, mx.logsumexp(logits, { axis: -1, keepdims: true }));
  const p = mx.exp(logP);
  const logM = mx.log(mx.multiply(0.5, mx.add(p, d.target)));
  const klP = mx.sum(mx.multiply(p, mx.subtract(logP, logM)), { axis: -1 });
  const klT = mx.sum(mx.multiply(d.target, mx.subtract(d.logTarget, logM)), { axis: -1 });
  return mx.divide(mx.mean(mx.multiply(0.5, mx.add(klP, klT))), Math.LN2);
}
