// Playground: streamed generation with the sampling options; the prompt and the completion are
// styled apart, and Stop (or Esc) ends the generation on the server.
import type { GenerateRequest, GenerateResult } from "../../../src/server/protocol.ts";
import { type Explorer, element } from "../shell.ts";

const optionalNumber = (text: string | undefined) =>
  text === undefined || text.trim() === "" ? undefined : Number(text);

export const playgroundExplorer: Explorer = {
  id: "playground",
  title: "Playground",
  blurb:
    "Text from the model as it is generated, with every sampling option. Temperature 0 picks the most likely token.",
  fields: [
    { name: "prompt", label: "Prompt", kind: "textarea", initial: "And God said, Let there be" },
    { name: "maxTokens", label: "Max tokens", kind: "number", initial: "64", min: 1, max: 512 },
    { name: "temperature", label: "Temperature", kind: "number", initial: "0", min: 0, max: 10, step: 0.1 },
    { name: "topP", label: "Top p", kind: "number", initial: "", min: 0, max: 1, step: 0.05 },
    { name: "topK", label: "Top k", kind: "number", initial: "", min: 1 },
    { name: "minP", label: "Min p", kind: "number", initial: "", min: 0, max: 1, step: 0.01 },
    {
      name: "repetitionPenalty",
      label: "Repetition penalty",
      kind: "number",
      initial: "",
      min: 0.5,
      max: 5,
      step: 0.05,
    },
    { name: "seed", label: "Seed", kind: "number", initial: "", min: 0 },
    { name: "stop", label: "Stop at", kind: "text", initial: "", title: "stop when the text contains this" },
  ],
  async run(values, context) {
    const request: GenerateRequest = { prompt: values.prompt ?? "" };
    for (const name of ["maxTokens", "temperature", "topP", "topK", "minP", "repetitionPenalty", "seed"] as const) {
      const value = optionalNumber(values[name]);
      if (value !== undefined) request[name] = value;
    }
    if (values.stop) request.stop = [values.stop];
    const output = element("pre", { class: "generation" });
    const completion = element("span", { class: "completion", "data-testid": "completion" });
    output.append(element("span", { class: "prompt" }, request.prompt), completion);
    const stats = element("p", { class: "stats" });
    context.figure.replaceChildren(output, stats);
    const result = (await context.stream("generate", request, (chunk) => {
      completion.textContent += (chunk as { text: string }).text;
    })) as GenerateResult | undefined;
    if (!result) {
      stats.textContent = "stopped";
      return;
    }
    stats.textContent = `${result.promptTokens} prompt tokens, ${result.generatedTokens} generated (${result.finishReason}), ${result.tokensPerSecond.toFixed(1)} tokens/s`;
    context.setExports({
      json: { request, ...result },
      csv: () => [
        ["prompt", "completion", "generated_tokens", "finish_reason"],
        [request.prompt, result.text, result.generatedTokens, result.finishReason],
      ],
    });
  },
};
