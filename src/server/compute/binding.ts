// The binding explorer: the library's bindingMechanisms one layer at a time, a layer's outcome
// fractions, causal-model fit and patched answers per chunk, with a stop looked for between layers.
// Each call draws the same seeded pairs and runs them unpatched the same way, so a layer computed
// alone equals the same layer of the whole run (the API test compares them); the price is the
// unpatched passes repeated per layer (on the fixture, 64 pairs: 2 to 3 times one call's time).
import { bindingMechanisms } from "../../experiments/binding/mechanisms.ts";
import { BOX_SCHEMA } from "../../experiments/binding/schema.ts";
import { siteLayers } from "../../experiments/sites.ts";
import type {
  BindingLayerResult,
  BindingPairResult,
  BindingRequest,
  BindingResultBody,
  BindingStart,
} from "../protocol.ts";
import { type Job, Stopped } from "./job.ts";

export const bindingJob: Job<BindingRequest> = async (hm, request, io) => {
  const site = request.site ?? "resid_pre";
  const layers = siteLayers(hm, site, request.layers);
  const options = {
    schema: request.schema ?? BOX_SCHEMA,
    pairs: request.pairs ?? 64,
    seed: request.seed ?? 0,
    site,
    ...(request.groups === undefined ? {} : { groups: request.groups }),
    ...(request.threshold === undefined ? {} : { threshold: request.threshold }),
  };
  let start: BindingStart | undefined;
  const rows: BindingLayerResult[] = [];
  for (const layer of layers) {
    const json = bindingMechanisms(hm, { ...options, layers: [layer] }).toJSON();
    const pairs = json.pairs as BindingPairResult[];
    if (start === undefined) {
      const { layers: _row, ...facts } = json;
      start = { ...facts, layers, pairs: pairs.map((p) => ({ ...p, patched: [] })) };
      io.send({ start });
    }
    const row = json.layers[0] as BindingLayerResult;
    const patched = pairs.map((p) => p.patched[0] as BindingPairResult["patched"][number]);
    start.pairs.forEach((p, i) => {
      p.patched.push(patched[i] as BindingPairResult["patched"][number]);
    });
    rows.push(row);
    io.send({ layer: row, patched });
    await io.pause();
    if (io.stopped) throw new Stopped();
  }
  const { layers: _layers, ...facts } = start as BindingStart;
  const result: BindingResultBody = { ...facts, layers: rows };
  return result;
};
