// The mlux command line: one commander program, one file per command in ./commands. A new command
// is a file with a register function, added to COMMANDS.
import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { registerAblate } from "./commands/ablate.ts";
import { registerBinding } from "./commands/binding.ts";
import { registerGenerate } from "./commands/generate.ts";
import { registerHeads } from "./commands/heads.ts";
import { registerLens } from "./commands/lens.ts";
import { registerModels } from "./commands/models.ts";
import { registerPatch } from "./commands/patch.ts";
import { registerServe } from "./commands/serve.ts";
import { UsageError } from "./commands/shared.ts";
import { registerSteer } from "./commands/steer.ts";
import { registerValidate } from "./commands/validate.ts";

const COMMANDS: ((program: Command) => void)[] = [
  registerGenerate,
  registerModels,
  registerLens,
  registerHeads,
  registerPatch,
  registerAblate,
  registerSteer,
  registerBinding,
  registerValidate,
  registerServe,
];

/** Exit codes: 0 done, 1 failed while running, 2 bad arguments (nothing was run). */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return manifest.version;
}

export function buildProgram(): Command {
  const program = new Command("mlux")
    .description("Look inside language models and intervene in them, on MLX.")
    .version(packageVersion(), "-V, --version", "print the version")
    .helpOption("-h, --help", "show help")
    .helpCommand("help [command]", "show help for a command")
    .showHelpAfterError("(mlux --help lists the commands)")
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(`mlux: ${text.replace(/^error: /, "")}`) });
  // Commands made with program.command() inherit the settings above (errors, exit, help hint).
  for (const register of COMMANDS) register(program);
  for (const command of program.commands) command.showHelpAfterError(`(mlux help ${command.name()} lists its options)`);
  return program;
}

/** Runs the command line `argv` (without node and the script); resolves to the exit code. */
export async function run(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  if (argv.length === 0) {
    process.stderr.write(`mlux: no command given\n${program.helpInformation()}`);
    return EXIT.usage;
  }
  try {
    await program.parseAsync(argv, { from: "user" });
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help, help CMD and --version end here too, with nothing wrong (commander's exit code 0);
      // otherwise commander has printed what was wrong.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`mlux: ${message}\n`);
    return error instanceof UsageError ? EXIT.usage : EXIT.failed;
  }
}
