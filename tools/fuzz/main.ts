// The fuzzer's command line (npm run fuzz -- [options]):
//   --seed S        the campaign's seed (default: the current time)
//   --minutes M     how long to run (default 25)
//   --programs N    stop after N programs instead
//   --out DIR       where findings go (default fuzz-findings/)
//   --nice N        lower the children's priority (default 10)
// It prints the counts as it goes and a summary; the exit code is 1 when it found a crash or hang.
import { parseArgs } from "node:util";
import { mx } from "mlux";
import { runCampaign } from "./campaign.ts";
import { opsOf } from "./grammar.ts";

const { values } = parseArgs({
  options: {
    seed: { type: "string", default: String(Date.now()) },
    minutes: { type: "string", default: "25" },
    programs: { type: "string" },
    out: { type: "string", default: "fuzz-findings" },
    nice: { type: "string", default: "10" },
  },
});
const report = await runCampaign({
  seed: values.seed,
  ops: opsOf(mx as unknown as Record<string, unknown>),
  durationMs: Number(values.minutes) * 60_000,
  programs: values.programs === undefined ? undefined : Number(values.programs),
  findingsDir: values.out,
  niceness: Number(values.nice),
  log: (line) => console.log(line),
});
console.log(
  `seed ${report.seed}: ${report.programs} programs, ${report.calls} calls in ${report.batches} child processes, ` +
    `${report.seconds.toFixed(0)} s; ${report.findings.filter((f) => f.kind === "crash").length} crashes, ` +
    `${report.findings.filter((f) => f.kind === "hang").length} hangs`,
);
for (const f of report.findings) {
  console.log(
    `- ${f.kind} at program ${f.index} (${f.ending}), ${f.alone ? "alone" : "only after the programs before it"}:`,
  );
  console.log(`  ${JSON.stringify(f.shrunk).slice(0, 400)}`);
  console.log(`  ${f.stderr.split("\n").slice(-5).join("\n  ")}`);
}
process.exit(report.findings.length > 0 ? 1 : 0);
