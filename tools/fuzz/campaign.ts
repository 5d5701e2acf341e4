// A fuzz campaign: programs made from a seed (grammar.ts, model-grammar.ts), run in batches, each
// batch in a child process (child.ts) under MLX's memory limit; a child that dies is a crash, one
// whose current program makes no progress for programTimeoutMs is a hang. Each is run again alone
// and shrunk to the fewest steps (or checkpoint changes) that still crash or hang.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { setPriority, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { MxGrammar, type OpTable } from "./grammar.ts";
import { ModelGrammar } from "./model-grammar.ts";
import { type Program, programSource } from "./program.ts";
import { Random } from "./random.ts";
import { stringifyPrograms } from "./serialize.ts";

export interface CampaignOptions {
  seed: string;
  /** The mx functions to call (opsOf(mx)). */
  ops: OpTable;
  /** Stop after this many programs ... */
  programs?: number;
  /** ... or after this long, whichever comes first. */
  durationMs?: number;
  batchSize?: number;
  /** The share of programs that load a changed checkpoint instead of calling mx functions. */
  modelShare?: number;
  /** MLX's memory limit in each child, in bytes. */
  memoryLimit?: number;
  programTimeoutMs?: number;
  /** Where findings are written (a JSON record and a reproduction script each). */
  findingsDir?: string;
  /** Raise the children's nice value (lower priority), so others sharing the machine keep their CPU. */
  niceness?: number;
  log?: (line: string) => void;
}

export interface Finding {
  kind: "crash" | "hang";
  index: number;
  /** How the child ended: a signal, an exit code, or "timeout". */
  ending: string;
  stderr: string;
  /** Whether the program crashes (or hangs) alone, in a fresh process. */
  alone: boolean;
  program: Program;
  shrunk: Program;
}

export interface CampaignReport {
  seed: string;
  programs: number;
  /** Calls made: array constructions, the fuzzed calls and the reads of their results. */
  calls: number;
  batches: number;
  seconds: number;
  findings: Finding[];
}

const child = fileURLToPath(new URL("./child.ts", import.meta.url));
const root = fileURLToPath(new URL("../..", import.meta.url));

interface BatchOutcome {
  /** Index of the program that crashed or hung, if one did. */
  failed?: { index: number; kind: "crash" | "hang"; ending: string; stderr: string };
  /** Programs finished (all of them when none failed). */
  finished: number;
  calls: number;
}

/** Program `index` of the campaign `seed`: the same on every run. */
export function programAt(seed: string, index: number, ops: OpTable, modelShare: number): Program {
  const random = new Random(`${seed}:${index}`);
  return random.chance(modelShare) ? new ModelGrammar(random).program() : new MxGrammar(random, ops).program();
}

export async function runCampaign(options: CampaignOptions): Promise<CampaignReport> {
  const batchSize = options.batchSize ?? 100;
  const modelShare = options.modelShare ?? 0.05;
  const settings = {
    memoryLimit: options.memoryLimit ?? 256 * 2 ** 20,
    programTimeoutMs: options.programTimeoutMs ?? 30_000,
    niceness: options.niceness ?? 0,
  };
  const log = options.log ?? (() => {});
  const start = Date.now();
  const report: CampaignReport = { seed: options.seed, programs: 0, calls: 0, batches: 0, seconds: 0, findings: [] };
  const work = mkdtempSync(join(tmpdir(), "mlux-fuzz-campaign-"));
  try {
    let next = 0;
    const more = () =>
      (options.programs === undefined || next < options.programs) &&
      (options.durationMs === undefined || Date.now() - start < options.durationMs);
    while (more()) {
      const count = options.programs === undefined ? batchSize : Math.min(batchSize, options.programs - next);
      let programs = Array.from({ length: count }, (_, i) =>
        programAt(options.seed, next + i, options.ops, modelShare),
      );
      let offset = next;
      next += count;
      // Run the batch; after a crash or hang, the rest of it in a new child.
      while (programs.length > 0) {
        const outcome = await runBatch(programs, work, settings);
        report.batches++;
        report.calls += outcome.calls;
        report.programs += outcome.finished;
        if (!outcome.failed) break;
        const { index, kind, ending, stderr } = outcome.failed;
        const program = programs[index] as Program;
        log(`${kind} at program ${offset + index} (${ending}); shrinking`);
        const finding = await examine(program, kind, work, settings);
        report.findings.push({ kind, index: offset + index, ending, stderr, ...finding, program });
        if (options.findingsDir) record(options.findingsDir, options.seed, report.findings.at(-1) as Finding);
        report.programs++;
        programs = programs.slice(index + 1);
        offset += index + 1;
      }
      log(
        `${report.programs} programs, ${report.calls} calls, ${report.findings.length} findings, ${Math.round((Date.now() - start) / 1000)} s`,
      );
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  report.seconds = (Date.now() - start) / 1000;
  return report;
}

export type Settings = { memoryLimit: number; programTimeoutMs: number; niceness: number };

export async function runBatch(programs: Program[], work: string, settings: Settings): Promise<BatchOutcome> {
  const batchFile = join(work, "batch.json");
  const progressFile = join(work, "progress");
  writeFileSync(batchFile, stringifyPrograms({ memoryLimit: settings.memoryLimit, programs }));
  writeFileSync(progressFile, "");
  const proc = spawn(
    process.execPath,
    ["--max-old-space-size=2048", "--conditions=mlux-source", "--import", "tsx", child, batchFile, progressFile],
    { cwd: root, stdio: ["ignore", "ignore", "pipe"] },
  );
  if (settings.niceness > 0 && proc.pid !== undefined) {
    try {
      setPriority(proc.pid, settings.niceness);
    } catch {}
  }
  let stderr = "";
  proc.stderr.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const progress = () => readFileSync(progressFile, "utf8").split("\n").filter(Boolean);
  let seen = -1;
  let since = Date.now();
  let hung = false;
  const watchdog = setInterval(() => {
    const lines = progress();
    if (lines.length !== seen) {
      seen = lines.length;
      since = Date.now();
    } else if (Date.now() - since > settings.programTimeoutMs) {
      hung = true;
      proc.kill("SIGKILL");
    }
  }, 250);
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) =>
    proc.on("exit", (c, s) => resolve([c, s])),
  );
  clearInterval(watchdog);
  const lines = progress();
  const last = lines.at(-1);
  if (last?.startsWith("done ")) return { finished: programs.length, calls: Number(last.slice(5)) };
  if (lines.length === 0 && !hung) {
    throw new Error(`the fuzz child failed before running a program (exit ${code}, ${signal}):\n${stderr}`);
  }
  const index = lines.length === 0 ? 0 : Number(last);
  const ending = hung ? "timeout" : signal ? `signal ${signal}` : `exit ${code}`;
  return { failed: { index, kind: hung ? "hang" : "crash", ending, stderr }, finished: index, calls: 0 };
}

/** Runs the program alone, then removes steps (or checkpoint changes) while it still fails. */
export async function examine(
  program: Program,
  kind: "crash" | "hang",
  work: string,
  settings: Settings,
): Promise<{ alone: boolean; shrunk: Program }> {
  const fails = async (p: Program) => (await runBatch([p], work, settings)).failed?.kind === kind;
  if (!(await fails(program))) return { alone: false, shrunk: program };
  let shrunk = program;
  for (let changed = true, attempts = 0; changed && attempts < 40; ) {
    changed = false;
    for (const candidate of smaller(shrunk)) {
      attempts++;
      if (await fails(candidate)) {
        shrunk = candidate;
        changed = true;
        break;
      }
    }
  }
  return { alone: true, shrunk };
}

/** The programs one step (or one checkpoint change) shorter. */
function* smaller(program: Program): Generator<Program> {
  if (program.kind === "model") {
    for (let i = program.mutations.length - 1; i >= 0 && program.mutations.length > 1; i--) {
      yield { ...program, mutations: program.mutations.filter((_, j) => j !== i) };
    }
    return;
  }
  for (let i = program.steps.length - 1; i >= 0 && program.steps.length > 1; i--) {
    const renumber = (v: unknown): unknown => {
      if (Array.isArray(v)) return v.map(renumber);
      if (typeof v !== "object" || v === null) return v;
      const o = v as Record<string, unknown>;
      if (typeof o.ref === "number") {
        return o.ref === i ? { none: "undefined" } : { ref: o.ref > i ? o.ref - 1 : o.ref };
      }
      return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, renumber(x)]));
    };
    yield { kind: "mx", steps: program.steps.filter((_, j) => j !== i).map((s) => renumber(s) as typeof s) };
  }
}

function record(dir: string, seed: string, finding: Finding): void {
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
  const name = `${finding.kind}-${seed}-${finding.index}`;
  writeFileSync(join(dir, `${name}.json`), `${stringifyPrograms(finding)}\n`);
  writeFileSync(join(dir, `${name}.mjs`), `${programSource(finding.shrunk)}\n`);
}
