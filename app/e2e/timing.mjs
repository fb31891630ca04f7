// Times the web app on the CPU fallback in headless Chromium, as a visitor meets it: how soon the
// page is interactive and its first pool scored, how long the real-text model takes to load
// from the network and then from the browser's cache, and how long it takes to read, in each
// bundled ProcessBench slice, the shortest solution of at least MIN_STEPS steps (else the
// longest), split between tokenising, the encoder (over every step's window) and the heads.
// Prints a Markdown table. Not a test: timings on a shared machine are noise, so nothing here fails on
// them. Reported in docs/performance.md.
//
// usage: trunk build --release && node app/e2e/timing.mjs [DIST]   (default dist/)
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { withBrowser } from "./browser.mjs";
import { serve } from "./serve.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const DIST = process.argv[2] ?? resolve(here, "../../dist");
const TIMEOUT = 600_000;
/** The shortest solution timed: the aim is a 10-step one read in 3 s. */
const MIN_STEPS = 10;
const SPLITS = ["gsm8k", "math", "olympiadbench", "omnimath"];

const site = await serve(DIST);
const rows = [];
try {
  await withBrowser({ webgpu: false }, async (context) => {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(site.url);
    await page.locator(".controls input").first().waitFor({ timeout: TIMEOUT });
    const interactive = await page.evaluate(() => performance.now());
    await page.locator(".verdict").waitFor({ timeout: TIMEOUT });
    const scored = await page.evaluate(() => performance.now());
    rows.push(["page interactive (controls drawn), after navigation", ms(interactive)]);
    rows.push(["first pool of 48 scored, after navigation", ms(scored)]);

    rows.push(["real-text model loaded from the server", ms(await loadRealText(page))]);
    // The page's first reading also warms the model up: it is timed apart, on a solution none of
    // the timed ones is (a reading is kept, and opening it again shows it at once).
    const timed = [];
    for (const split of SPLITS) {
      await page.locator(".slice-split select").selectOption(split);
      timed.push({ split, row: await rowToTime(page) });
    }
    await page.locator(".slice-split select").selectOption(SPLITS[0]);
    const warmUp = timed[0].row.index === 0 ? 1 : 0;
    const warming = await readRow(page, warmUp);
    rows.push([`first reading of the page, ${warming.what} (warms the model up)`, warming.value]);
    for (const { split, row } of timed) {
      await page.locator(".slice-split select").selectOption(split);
      const reading = await readRow(page, row.index);
      rows.push([`${split} ${reading.what}`, reading.value]);
    }

    const second = await context.newPage();
    await second.goto(site.url);
    await second.locator(".verdict").waitFor({ timeout: TIMEOUT });
    const again = await loadRealText(second);
    rows.push(["real-text model loaded again, encoder from the cache", ms(again)]);
  });
} finally {
  await site.close();
}
console.log("| what (CPU fallback, headless Chromium) | ms |\n|---|---:|");
for (const [what, value] of rows) console.log(`| ${what} | ${value} |`);

function ms(value) {
  return Math.round(value).toString();
}

/**
 * Reads the listed slice row `index` on `page`; resolves to what it was and its wall time, with
 * the time the page reports for tokenising, the encoder and the heads.
 */
async function readRow(page, index) {
  const text = await page.locator(".slice-row button").nth(index).textContent();
  const id = text.split(" · ")[0].trim();
  const steps = Number(text.match(/(\d+) steps/)?.[1] ?? 0);
  const started = Date.now();
  await page.locator(".slice-row button").nth(index).click();
  await page.locator(`.real-inspector[data-item="${id}"]`).waitFor({ timeout: TIMEOUT });
  const wall = Date.now() - started;
  const timing = page.locator(".real-inspector .read-timing");
  const [tokenise, encoder, heads] = await Promise.all(
    ["data-tokenise-ms", "data-encoder-ms", "data-heads-ms"].map(
      async (name) => Number(await timing.getAttribute(name)),
    ),
  );
  return {
    what: `${id} (${steps} steps): tokenising / encoder / heads`,
    value: `${ms(wall)} (${ms(tokenise)} / ${ms(encoder)} / ${ms(heads)})`,
  };
}

/** Loads the real-text model on `page`; resolves to the milliseconds it took. */
async function loadRealText(page) {
  const started = Date.now();
  await page.locator(".load-real-text").click();
  await page.locator(".slice-row button:not([disabled])").first().waitFor({ timeout: TIMEOUT });
  return Date.now() - started;
}

/** The listed slice row with the fewest steps of at least MIN_STEPS, else the most steps. */
async function rowToTime(page) {
  const texts = await page.locator(".slice-row button").allTextContents();
  const parsed = texts.map((text, index) => ({
    index,
    id: text.split(" · ")[0].trim(),
    steps: Number(text.match(/(\d+) steps/)?.[1] ?? 0),
  }));
  const long = parsed.filter((row) => row.steps >= MIN_STEPS);
  const pool = long.length > 0 ? long : parsed;
  const fewest = long.length > 0;
  return pool.reduce((best, row) =>
    (fewest ? row.steps < best.steps : row.steps > best.steps) ? row : best,
  );
}
