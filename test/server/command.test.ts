// `mlux serve` as a user runs it: a process that listens, answers, says where, warns when it is
// exposed beyond this machine, and ends cleanly on Ctrl-C (SIGINT); bad options exit 2 first.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { startFakeHub } from "../load/fake-hub.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const ENTRY = join(ROOT, "src", "cli", "main.ts");

function mlux(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): { child: ChildProcess; stderr: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, ["--conditions=mlux-source", "--import", "tsx", ENTRY, ...args], {
    cwd: ROOT,
    env: { ...process.env, DISPLAY: "", WAYLAND_DISPLAY: "", ...env },
  });
  let stderr = "";
  child.stderr?.on("data", (chunk) => {
    stderr += String(chunk);
  });
  const exit = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  return { child, stderr: () => stderr, exit };
}

describe("mlux serve", () => {
  test("listens on 127.0.0.1, answers, and stops on SIGINT with exit code 0", async () => {
    const run = mlux(["serve", "--port", "0", "--no-browser"]);
    let url: string | undefined;
    for (let i = 0; i < 6000 && url === undefined; i++) {
      url = /mlux serve: (http:\/\/127\.0\.0\.1:\d+)/.exec(run.stderr())?.[1];
      if (url === undefined) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.ok(url, `no address printed: ${run.stderr()}`);
    const health = (await (await fetch(`${url}/api/health`)).json()) as { status: string; model: string };
    assert.equal(health.status, "ok");
    assert.match(health.model, /tiny-lm-f16$/);
    run.child.kill("SIGINT");
    assert.equal(await run.exit, 0, run.stderr());
    assert.match(run.stderr(), /stopping/);
  });

  test("without a display and without --no-browser, it says where to go instead of failing", async () => {
    const run = mlux(["serve", "--port", "0"]);
    for (let i = 0; i < 6000 && !/open http/.test(run.stderr()); i++) await new Promise((r) => setTimeout(r, 10));
    assert.match(run.stderr(), /no display here; open http:\/\/127\.0\.0\.1:\d+ in a browser/);
    run.child.kill("SIGINT");
    assert.equal(await run.exit, 0, run.stderr());
  });

  test("a host beyond this machine gets a warning", async () => {
    const run = mlux(["serve", "--port", "0", "--no-browser", "--host", "0.0.0.0"]);
    for (let i = 0; i < 6000 && !/Ctrl-C/.test(run.stderr()); i++) await new Promise((r) => setTimeout(r, 10));
    assert.match(run.stderr(), /warning: listening on 0\.0\.0\.0, not only this machine/);
    run.child.kill("SIGINT");
    assert.equal(await run.exit, 0, run.stderr());
  });

  test("--model with a Hub id downloads it into the cache (HF_ENDPOINT's Hub), then serves it", async () => {
    const hub = await startFakeHub({ "org/tiny-lm": join(ROOT, "fixtures", "tiny-lm-f16") });
    const cache = mkdtempSync(join(tmpdir(), "mlux-serve-cli-"));
    try {
      const run = mlux(["serve", "--model", "org/tiny-lm", "--port", "0", "--no-browser"], {
        HF_ENDPOINT: hub.url,
        HF_HUB_CACHE: cache,
      });
      let url: string | undefined;
      for (let i = 0; i < 6000 && url === undefined; i++) {
        url = /mlux serve: (http:\/\/127\.0\.0\.1:\d+)/.exec(run.stderr())?.[1];
        if (url === undefined) await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.ok(url, `no address printed: ${run.stderr()}`);
      const health = (await (await fetch(`${url}/api/health`)).json()) as { model: string };
      assert.equal(health.model, "org/tiny-lm");
      assert.deepEqual(readdirSync(cache), ["models--org--tiny-lm"]);
      run.child.kill("SIGINT");
      assert.equal(await run.exit, 0, run.stderr());
    } finally {
      await hub.close();
    }
  });

  test("a bad port exits 2 and says what --port takes; an unknown model exits 1 with why", async () => {
    const port = mlux(["serve", "--port", "http"]);
    assert.equal(await port.exit, 2);
    assert.match(port.stderr(), /--port/);
    const model = mlux(["serve", "--model", "/no/such/model", "--no-browser"]);
    assert.equal(await model.exit, 1);
    assert.match(model.stderr(), /no folder at \/no\/such\/model/);
  });
});
