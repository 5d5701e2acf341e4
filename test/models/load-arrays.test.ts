// Loading leaves live exactly the model's own arrays: the placeholders a model is built with, the
// plain layers a quantized checkpoint replaces, the tensors sanitize drops and the weights a compute
// dtype replaces are freed as the load goes, not left for the garbage collector.
import assert from "node:assert/strict";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { loadModel, mx } from "mlux";
import { settledLiveArrays } from "../mx/settled-memory.ts";

const FIXTURES = fileURLToPath(new URL("../../fixtures/", import.meta.url));

for (const name of ["tiny-lm-f16", "tiny-lm-4bit"]) {
  for (const dtype of ["native", "auto"] as const) {
    test(`${name}, dtype ${dtype}: live arrays after the load are the model's parameters`, async () => {
      const before = await settledLiveArrays();
      const { model } = await loadModel(`${FIXTURES}${name}`, { dtype });
      try {
        // Counted before any collection could run a finalizer: what the load dropped without
        // freeing would still be live here.
        const live = mx.liveArrays() - before;
        assert.equal(live, new Set(model.parameters().values()).size);
      } finally {
        model.dispose();
      }
    });
  }
}
