// Debian's Chromium, headless, driven by playwright-core (no downloaded browser). With
// `webgpu`, Chromium exposes its software (SwiftShader) WebGPU adapter; without it the page
// finds no adapter, which is how the CPU fallback is tested.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

/**
 * Runs `use` with a BrowserContext on a fresh Chromium profile, then closes the browser and
 * deletes the profile (tens of megabytes of caches), whatever happens; resolves to what `use`
 * resolves to.
 */
export async function withBrowser({ webgpu }, use) {
  const args = [
    "--no-sandbox",
    "--disable-gpu-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
  ];
  if (webgpu) {
    args.push("--enable-unsafe-webgpu");
  }
  const profile = mkdtempSync(join(tmpdir(), "actprm-e2e-"));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args,
      viewport: { width: 1280, height: 1000 },
    });
    try {
      return await use(context);
    } finally {
      await context.close();
    }
  } finally {
    rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  }
}
