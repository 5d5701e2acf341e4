// Makes sure the browser the end-to-end tests drive is here: Debian's Chromium at /usr/bin/chromium
// (Playwright's own browser download is not used). Installs it with apt-get when missing and this
// runs as root; otherwise says how. Used by `npm test` and by test/server/browser.ts.

import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";

export const chromiumPath = process.env.MLUX_CHROMIUM ?? "/usr/bin/chromium";

export function setupChromium() {
  if (existsSync(chromiumPath)) return chromiumPath;
  const root = typeof process.getuid === "function" && process.getuid() === 0;
  if (!root || !existsSync("/usr/bin/apt-get")) {
    throw new Error(
      `mlux: the browser tests need Chromium at ${chromiumPath}. Install it (Debian/Ubuntu: \`sudo apt-get install -y chromium\`), ` +
        "or point MLUX_CHROMIUM at a Chromium or Chrome executable.",
    );
  }
  console.log("mlux: installing Chromium for the browser tests (apt-get install -y chromium)");
  try {
    execFileSync("apt-get", ["install", "-y", "--no-install-recommends", "chromium"], { stdio: "inherit" });
  } catch {
    execFileSync("apt-get", ["update"], { stdio: "inherit" });
    execFileSync("apt-get", ["install", "-y", "--no-install-recommends", "chromium"], { stdio: "inherit" });
  }
  if (!existsSync(chromiumPath))
    throw new Error(`mlux: apt-get installed chromium, but ${chromiumPath} is still missing`);
  return chromiumPath;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop())) {
  try {
    setupChromium();
  } catch (error) {
    console.error(error.message);
    process.exit(1);
  }
}
