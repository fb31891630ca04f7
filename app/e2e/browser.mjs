// Debian's Chromium, headless, driven by playwright-core (no downloaded browser). With
// `webgpu`, Chromium exposes its software (SwiftShader) WebGPU adapter; without it the page
// finds no adapter, which is how the CPU fallback is tested.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

/** Launches a fresh Chromium profile; resolves to a playwright BrowserContext. */
export async function launch({ webgpu }) {
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
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args,
    viewport: { width: 1280, height: 1000 },
  });
}
