// The playground: streamed generation with the sampling options, one chunk per piece of text; a
// stop ends the generator (its KV cache and sampler state are released with it).
import { streamGenerate } from "../../generate/stream.ts";
import * as mx from "../../mx/index.ts";
import type { GenerateRequest, GenerateResult } from "../protocol.ts";
import { type Job, Stopped } from "./job.ts";

export const generateJob: Job<GenerateRequest> = async (hm, request, io) => {
  const tokenizer = hm.tokenizer;
  if (tokenizer === undefined) throw new Error("this model has no tokenizer: the playground needs one");
  const key = request.seed === undefined ? undefined : mx.random.key(request.seed);
  const stream = streamGenerate(hm.model, tokenizer, request.prompt, {
    maxTokens: request.maxTokens ?? 64,
    temperature: request.temperature ?? 0,
    ...(request.topP === undefined ? {} : { topP: request.topP }),
    ...(request.topK === undefined ? {} : { topK: request.topK }),
    ...(request.minP === undefined ? {} : { minP: request.minP }),
    ...(request.repetitionPenalty === undefined ? {} : { repetitionPenalty: request.repetitionPenalty }),
    ...(request.stop === undefined ? {} : { stop: request.stop }),
    ...(key === undefined ? {} : { key }),
  });
  let text = "";
  try {
    for (;;) {
      const next = await stream.next();
      if (next.done) {
        const stats = next.value;
        const result: GenerateResult = {
          promptTokens: stats.promptTokens,
          generatedTokens: stats.generatedTokens,
          tokensPerSecond: stats.tokensPerSecond,
          finishReason: stats.finishReason,
          text,
        };
        return result;
      }
      text += next.value.text;
      io.send({ text: next.value.text });
      if (io.stopped) throw new Stopped();
    }
  } finally {
    await stream.return(undefined as never);
    key?.dispose();
  }
};
