// The model the server computes with, and switching it: a new model is loaded beside the old one,
// and only once it has loaded (weights, tokenizer) does it replace the old, which is then disposed.
// A failed load leaves the old model serving and is remembered with its reason.
import { HookedModel } from "../../hooks/hooked-model.ts";
import { loadModel } from "../../models/load.ts";
import * as mx from "../../mx/index.ts";
import type { ModelInfo, ModelState } from "../protocol.ts";

export class ModelSlot {
  #hm: HookedModel | undefined;
  #state: ModelState = { model: undefined, loading: undefined, lastError: undefined };

  get hm(): HookedModel {
    if (this.#hm === undefined) throw new Error("no model is loaded");
    return this.#hm;
  }

  get state(): ModelState {
    return this.#state;
  }

  /** Loads `name` (a folder or a cached Hub id); on failure keeps the current model and throws. */
  async load(name: string): Promise<ModelInfo> {
    this.#state = { ...this.#state, loading: name };
    try {
      const loaded = await loadModel(name, { offline: true });
      const hm = HookedModel.fromLoaded(loaded);
      const previous = this.#hm;
      this.#hm = hm;
      previous?.model.dispose();
      const info = describe(name, hm, loaded.path);
      this.#state = { model: info, loading: undefined, lastError: undefined };
      return info;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.#state = { ...this.#state, loading: undefined, lastError: { model: name, message } };
      throw error;
    }
  }

  dispose(): void {
    this.#hm?.model.dispose();
    this.#hm = undefined;
  }
}

function describe(name: string, hm: HookedModel, path: string): ModelInfo {
  const { layout } = hm.model;
  const { dtype, quantization, compute } = hm.config;
  let weightBytes = 0;
  for (const value of hm.model.parameters().values()) weightBytes += value.nbytes;
  return {
    name,
    path,
    architecture: layout.architecture,
    layers: layout.dims.layers,
    heads: layout.dims.heads,
    kvHeads: layout.dims.kvHeads,
    dModel: layout.dims.dModel,
    vocabSize: layout.dims.vocabSize,
    dtype,
    quantized: quantization !== undefined,
    storage: storage(hm),
    computeReason: compute?.reason ?? "as the checkpoint stores them",
    weightBytes,
    activeBytes: mx.memory.activeMemory(),
    hasChatTemplate: hm.tokenizer?.hasChatTemplate ?? false,
  };
}

/** How the weights are held in memory, against what the checkpoint stores. */
function storage(hm: HookedModel): string {
  const { dtype, quantization, quantized } = hm.config;
  if (quantization === undefined) return dtype;
  const packed = `${quantization.bits}-bit, group ${quantization.groupSize}`;
  return quantized ? `${packed}, packed (scales in ${dtype})` : `${packed}, dequantized to ${dtype} at load`;
}
