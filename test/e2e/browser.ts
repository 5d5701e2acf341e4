// What every browser test sets up: the browser (Debian's Chromium, installed when missing), the pages
// built by Vite, the screenshots folder, and one page that records the errors it throws.
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const TINY = join(ROOT, "fixtures", "tiny-lm-f16");
export const SHOTS = join(ROOT, "test-artifacts", "screenshots");
const CHROMIUM = process.env.MLUX_CHROMIUM ?? "/usr/bin/chromium";

/** The set-up a fresh machine needs before a browser test: Chromium, the built pages, the shots folder. */
export function preparePages(): void {
  execFileSync(process.execPath, [join(ROOT, "scripts", "setup-chromium.mjs")], { stdio: "inherit" });
  execFileSync(
    process.execPath,
    [join(ROOT, "node_modules", "vite", "bin", "vite.js"), "build", "--config", "web/vite.config.ts"],
    { cwd: ROOT, stdio: "inherit" },
  );
  mkdirSync(SHOTS, { recursive: true });
}

export interface OpenPage {
  browser: Browser;
  page: Page;
  /** Errors the page threw, for a test to check that none did. */
  pageErrors: string[];
}

/** Chromium with one laptop-sized page. */
export async function openPage(): Promise<OpenPage> {
  const browser = await chromium.launch({ executablePath: CHROMIUM });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const pageErrors: string[] = [];
  page.on("pageerror", (error) => pageErrors.push(error.message));
  return { browser, page, pageErrors };
}
