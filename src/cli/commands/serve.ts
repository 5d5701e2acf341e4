// `mlux serve`: the web explorers on one model, at http://127.0.0.1:5050 unless told otherwise.
// Runs until Ctrl-C (there is no shutdown endpoint).
import { existsSync } from "node:fs";
import type { Command } from "commander";
import { resolveModelPath } from "../../load/resolve.ts";
import { checkRunnableConfig } from "../../models/model-types.ts";
import { startServer } from "../../server/start.ts";
import { integer } from "../numbers.ts";
import { downloadBar } from "../output/progress.ts";
import { DEFAULT_MODEL, modelOption } from "./shared.ts";

interface ServeOptions {
  model: string;
  port: number;
  host: string;
  browser: boolean;
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1"]);

export function registerServe(program: Command): void {
  program
    .command("serve")
    .description("serve the web explorers (logit lens, attention, patching, ablation, playground ...) on a model")
    .addOption(modelOption())
    .option("--port <n>", "the port to listen on (0: any free port)", integer({ min: 0, max: 65535 }), 5050)
    .option(
      "--host <host>",
      "the address to listen on; anything but loopback exposes the model to the network",
      "127.0.0.1",
    )
    .option("--no-browser", "do not open a browser")
    .action(serve);
}

async function serve(options: ServeOptions): Promise<void> {
  if (options.model === DEFAULT_MODEL && !existsSync(DEFAULT_MODEL)) {
    throw new Error(`the default model is missing from ${DEFAULT_MODEL}; name one with --model`);
  }
  if (!LOOPBACK.has(options.host)) {
    process.stderr.write(
      `mlux: warning: listening on ${options.host}, not only this machine: anyone who can reach it can run the model ` +
        "(there is no authentication)\n",
    );
  }
  if (!existsSync(options.model)) {
    // A Hub id: fetched into the cache first (as every command does), then served from there.
    const bar = downloadBar(options.model);
    const checkConfig = (config: unknown) => checkRunnableConfig(config, options.model);
    await resolveModelPath(options.model, { onProgress: bar.onProgress, checkConfig }).finally(bar.stop);
  }
  const server = await startServer({ model: options.model, host: options.host, port: options.port });
  process.stderr.write(`mlux serve: ${server.url} (${server.slot.state.model?.name}); Ctrl-C stops it\n`);
  if (options.browser) await openBrowser(server.url);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  process.stderr.write("mlux serve: stopping\n");
  await server.close();
}

/** Opens the page in the default browser where there is a display; never fails the command. */
async function openBrowser(url: string): Promise<void> {
  if (process.platform === "linux" && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
    process.stderr.write(`mlux serve: no display here; open ${url} in a browser\n`);
    return;
  }
  try {
    const { default: open } = await import("open");
    const child = await open(url);
    child.on("error", () => process.stderr.write(`mlux serve: could not open a browser; open ${url}\n`));
  } catch {
    process.stderr.write(`mlux serve: could not open a browser; open ${url}\n`);
  }
}
