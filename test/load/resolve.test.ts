import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { downloadModel } from "../../src/load/download.ts";
import { repoFolder } from "../../src/load/hub-cache.ts";
import { resolveModelPath } from "../../src/load/resolve.ts";
import { askOracle, repoRoot as root } from "../oracle/python.ts";
import { type FakeHub, refusedUrl, startFakeHub } from "./fake-hub.ts";

// Python's huggingface_hub.snapshot_download (asynchronous: the fake Hub answers from this same process).
async function pythonSnapshot(request: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const [folder] = await askOracle<string>("hub", [{ op: "snapshot", ...request }], env);
  return folder as string;
}

function makeCheckpoint(): string {
  const dir = mkdtempSync(join(tmpdir(), "mlux-ckpt-"));
  writeFileSync(join(dir, "config.json"), JSON.stringify({ model_type: "llama", hidden_size: 2 }));
  const header = Buffer.from(JSON.stringify({ w: { dtype: "F32", shape: [2], data_offsets: [0, 8] } }));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(header.length));
  writeFileSync(join(dir, "model.safetensors"), Buffer.concat([length, header, Buffer.alloc(8)]));
  writeFileSync(join(dir, "tokenizer.json"), JSON.stringify({ version: "1.0" }));
  writeFileSync(join(dir, "chat_template.jinja"), "{{ messages }}");
  writeFileSync(join(dir, "README.md"), "# not a model file");
  writeFileSync(join(dir, "pytorch_model.bin"), "not fetched");
  return dir;
}

let hub: FakeHub;
const checkpoint = makeCheckpoint();

before(async () => {
  hub = await startFakeHub({ "org/tiny": checkpoint, "org/no-weights": join(root, "test/oracle") });
});
after(() => hub.close());

describe("finding and fetching checkpoints", () => {
  test("a local folder is used as it is; a file or a bad name is refused with the reason", async () => {
    assert.equal(await resolveModelPath(checkpoint), checkpoint);
    await assert.rejects(resolveModelPath(join(checkpoint, "config.json")), /is a file; give the folder/);
    await assert.rejects(resolveModelPath("not a repo"), /is not a Hub id like "owner\/name"/);
  });

  test("downloads the model files into the Hugging Face cache layout, then finds them offline", async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), "mlux-hub-"));
    const progress: number[] = [];
    const snapshot = await resolveModelPath("org/tiny", {
      cacheDir,
      hubUrl: hub.url,
      onProgress: (p) => progress.push(p.filesDone),
    });
    const folder = repoFolder("org/tiny", cacheDir);
    const sha = readFileSync(join(folder, "refs", "main"), "utf8");
    assert.equal(snapshot, join(folder, "snapshots", sha));
    for (const file of ["config.json", "model.safetensors", "tokenizer.json", "chat_template.jinja"]) {
      assert.deepEqual(readFileSync(join(snapshot, file)), readFileSync(join(checkpoint, file)), file);
    }
    assert.ok(!existsSync(join(snapshot, "README.md")) && !existsSync(join(snapshot, "pytorch_model.bin")));
    assert.equal(Math.max(...progress), 4);

    const requestsBefore = hub.requests.length;
    assert.equal(await resolveModelPath("org/tiny", { cacheDir, offline: true }), snapshot);
    assert.equal(hub.requests.length, requestsBefore, "a cached model needs no request");

    // Python's huggingface_hub finds the same snapshot without the network.
    const found = await pythonSnapshot({ repo: "org/tiny", cache_dir: cacheDir, local_files_only: true });
    assert.equal(realpathSync(found), realpathSync(snapshot));
  });

  test("finds models that Python's huggingface_hub downloaded", async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), "mlux-hub-py-"));
    await pythonSnapshot(
      { repo: "org/tiny", cache_dir: cacheDir, allow_patterns: ["*.json", "*.safetensors"] },
      { ...process.env, HF_ENDPOINT: hub.url, HF_HUB_DISABLE_XET: "1" },
    );
    const snapshot = await resolveModelPath("org/tiny", { cacheDir, offline: true });
    assert.ok(existsSync(join(snapshot, "model.safetensors")));
  });

  test("offline without a cached copy, an unreachable Hub, a repo without weights: clear errors", async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), "mlux-hub-empty-"));
    await assert.rejects(
      resolveModelPath("org/tiny", { cacheDir, offline: true }),
      /is not in the Hugging Face cache .*HF_HUB_OFFLINE is set/,
    );
    await assert.rejects(
      downloadModel("org/tiny", { cacheDir, hubUrl: await refusedUrl() }),
      /cannot reach the Hub at http:\/\/127.0.0.1:\d+ .*\(ECONNREFUSED\): this machine has no connection to it/,
    );
    await assert.rejects(
      downloadModel("org/missing", { cacheDir, hubUrl: hub.url }),
      /org\/missing was not found on the Hub at .* \(404\): check the id/,
    );
    await assert.rejects(
      downloadModel("org/no-weights", { cacheDir, hubUrl: hub.url }),
      /org\/no-weights has no config.json, so it is not a model checkpoint \(it holds /,
    );
  });
});
