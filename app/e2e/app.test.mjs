// The web app in a real browser: both wasm binaries within their size budgets, the CPU
// fallback and the WebGPU backend each score the pool exactly as the native `actprm score`
// does, the first look mixes trusted and selected problems with a model that finds the errors,
// the threshold sliders re-draw the verdicts and move the decision plot's trusted region, real
// solutions are read as natively and plotted, the encoder is kept by the browser, and live active
// learning trains in a worker, growing its budget curves while the page's own tasks stay short.
//
// Needs: the site built by trunk (ACTPRM_E2E_DIST, default dist/), and the native scores of the
// same model on the same pool (ACTPRM_E2E_NATIVE_SCORES, JSON lines of `actprm score`, generated
// with --seed ACTPRM_E2E_SEED --count 48). app/e2e/run.sh prepares both.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

import { withBrowser } from "./browser.mjs";
import { serve } from "./serve.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const DIST = process.env.ACTPRM_E2E_DIST ?? resolve(here, "../../dist");
const SEED = Number(process.env.ACTPRM_E2E_SEED ?? 3);
const SCREENSHOTS = process.env.ACTPRM_E2E_SCREENSHOTS ?? join(here, "screenshots");
const NATIVE_SCORES = process.env.ACTPRM_E2E_NATIVE_SCORES;
const REAL_SCORES = process.env.ACTPRM_E2E_REAL_SCORES;
/** Loading and scoring on a software GPU is slow; this is a bound, not an expectation. */
const PAGE_TIMEOUT = 600_000;
/** How far the page's scores may be from the native ones. */
const TOLERANCE = 1e-4;
/** Pool rows compared against the native scores, taken from the top of the pool list. */
const ROWS_COMPARED = 4;
/**
 * Real solutions the WebGPU test reads (ACTPRM_E2E_WEBGPU_ITEMS, at most those natively scored),
 * the cheapest first: SwiftShader, a GPU emulated on the CPU, takes a minute or more over each,
 * so CI reads one.
 */
const WEBGPU_REAL_ITEMS = Number(process.env.ACTPRM_E2E_WEBGPU_ITEMS ?? 1);
/** The longest main-thread task allowed while live training runs, in ms. */
const LONGEST_TASK = 200;
/** The least first-error F1 the page's model must reach on a pool it was not trained on. */
const LEAST_POOL_F1 = 0.9;
/** Each wasm binary's gzipped size in bytes that docs/app.md aims at. */
const WASM_AIMS = [
  { name: "page", pattern: /^actprm-app-.*_bg\.wasm$/, aim: 1_000_000 },
  { name: "worker", pattern: /^actprm-worker_bg\.wasm$/, aim: 3_000_000 },
];
/** How far past its aim a binary may grow before the test fails. */
const WASM_SLACK = 1.5;

let site;
let native;
let nativeReal;

before(async () => {
  assert.ok(NATIVE_SCORES, "set ACTPRM_E2E_NATIVE_SCORES (app/e2e/run.sh does)");
  assert.ok(REAL_SCORES, "set ACTPRM_E2E_REAL_SCORES (app/e2e/run.sh does)");
  native = jsonLines(NATIVE_SCORES);
  nativeReal = jsonLines(REAL_SCORES);
  mkdirSync(SCREENSHOTS, { recursive: true });
  site = await serve(DIST);
});

after(async () => {
  await site?.close();
});

/** The records of a JSON-lines file. */
function jsonLines(path) {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line));
}

/**
 * Opens the page with `hash` (in a window `width` px wide, when given), waits until the pool is
 * scored, runs `check` on it and asserts that the page logged no error; the browser is closed
 * whatever happens.
 */
async function inPage({ webgpu, hash, width }, check) {
  await withBrowser({ webgpu }, async (context) => {
    const page = context.pages()[0] ?? (await context.newPage());
    if (width !== undefined) await page.setViewportSize({ width, height: 844 });
    const errors = [];
    page.on("pageerror", (error) => errors.push(error.message));
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(message.text());
    });
    await page.goto(`${site.url}#${hash}`);
    await page.locator(".verdict").waitFor({ timeout: PAGE_TIMEOUT });
    await check(page);
    assert.deepEqual(errors, []);
  });
}

/** The inspected trajectory as the page shows it. */
async function inspected(page) {
  const inspector = page.locator(".inspector");
  return {
    index: Number(await inspector.getAttribute("data-index")),
    question: (await inspector.locator(".question").textContent()).trim(),
    means: await inspector
      .locator(".steps > li")
      .evaluateAll((steps) => steps.map((step) => Number(step.dataset.mean))),
    stds: await inspector
      .locator(".steps > li")
      .evaluateAll((steps) => steps.map((step) => Number(step.dataset.std))),
  };
}

function assertClose(actual, expected, what) {
  assert.equal(actual.length, expected.length, `${what}: number of steps`);
  actual.forEach((value, step) => {
    const difference = Math.abs(value - expected[step]);
    assert.ok(
      difference <= TOLERANCE,
      `${what}, step ${step + 1}: page ${value}, native ${expected[step]} (|Δ| ${difference})`,
    );
  });
}

/** Clicks the first pool rows in turn and compares each inspected trajectory with native. */
async function assertScoresMatchNative(page) {
  const rows = page.locator(".pool-row button");
  assert.equal(await rows.count(), native.length, "pool size");
  for (let row = 0; row < ROWS_COMPARED; row++) {
    await rows.nth(row).click();
    await page.locator(".pool-row.shown").nth(0).waitFor();
    const shown = await inspected(page);
    const expected = native[shown.index];
    assert.equal(shown.question, expected.question, `problem ${shown.index + 1}: question`);
    assertClose(shown.means, expected.scores.mean, `problem ${shown.index + 1} mean`);
    assertClose(shown.stds, expected.scores.std, `problem ${shown.index + 1} std`);
  }
}

/** How many problems the pool summary says are selected. */
async function selectedCount(page) {
  const summary = await page.locator(".pool-summary").textContent();
  return Number(summary.match(/^(\d+) of/)[1]);
}

/** Steps the rule counts in a natively scored trajectory: up to its first mean below τ. */
function countedSteps(row, tau) {
  const firstError = row.scores.mean.findIndex((mean) => mean < tau);
  return firstError === -1 ? row.scores.mean.length : firstError + 1;
}

/** Starts counting the page's main-thread tasks over 50 ms (the browser's long tasks). */
async function observeLongTasks(page) {
  await page.evaluate(() => {
    window.longTasks = [];
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) window.longTasks.push(entry.duration);
    }).observe({ type: "longtask" });
  });
}

/** Prints the long tasks seen since `observeLongTasks` and fails on one over LONGEST_TASK. */
async function assertNoLongTask(page, during) {
  const longTasks = await page.evaluate(() => window.longTasks);
  console.log(
    `main-thread tasks over 50 ms during ${during}: ${longTasks.length}` +
      (longTasks.length ? ` (longest ${Math.max(...longTasks).toFixed(0)} ms)` : ""),
  );
  assert.ok(
    longTasks.every((duration) => duration <= LONGEST_TASK),
    `during ${during}, a main-thread task lasted over ${LONGEST_TASK} ms: ${longTasks.map(Math.round)}`,
  );
}

test("the page's wasm and the worker's stay within their size budgets", () => {
  const files = readdirSync(DIST);
  for (const { name, pattern, aim } of WASM_AIMS) {
    const most = WASM_SLACK * aim;
    const found = files.filter((file) => pattern.test(file));
    assert.equal(found.length, 1, `one ${name} wasm in ${DIST}: ${found}`);
    const bytes = readFileSync(join(DIST, found[0]));
    // Level 6, what web servers use by default.
    const gzipped = gzipSync(bytes, { level: 6 }).length;
    const megabytes = (n) => (n / 1e6).toFixed(2);
    console.log(
      `${name} wasm: ${megabytes(bytes.length)} MB, ${megabytes(gzipped)} MB gzipped ` +
        `(aim ${megabytes(aim)} MB, at most ${megabytes(most)} MB)`,
    );
    assert.ok(gzipped <= most, `the ${name} wasm is ${megabytes(gzipped)} MB gzipped`);
  }
});

async function badge(page) {
  return (await page.locator(".badge").textContent()).trim();
}

test("without WebGPU the page falls back to the CPU and scores as native does", async () => {
  await inPage({ webgpu: false, hash: `seed=${SEED}` }, async (page) => {
    assert.equal(await badge(page), "CPU (flex)");
    await assertScoresMatchNative(page);
    await page.screenshot({ path: join(SCREENSHOTS, "cpu.png"), fullPage: true });
  });
});

test("with WebGPU the page scores on the GPU backend as native does", async () => {
  await inPage({ webgpu: true, hash: `seed=${SEED}` }, async (page) => {
    assert.equal(await badge(page), "WebGPU");
    await assertScoresMatchNative(page);
    // One mini-batch of live active learning: scoring, an autodiff update and the loss read
    // back, all on the GPU backend.
    await page.locator(".live .step-once").click();
    await page
      .locator(".live-status", { hasText: /^mini-batch 1 of/ })
      .waitFor({ timeout: PAGE_TIMEOUT });
    await page.screenshot({ path: join(SCREENSHOTS, "webgpu.png"), fullPage: true });
  });
});

/** The input of the threshold slider called `name`. */
function slider(page, name) {
  return page.locator("label.slider", { hasText: name }).locator("input");
}

test("the first look mixes trusted and selected problems, with a model that finds the errors", async () => {
  await inPage({ webgpu: false, hash: "" }, async (page) => {
    // No thresholds in the link: those the model was trained under, as native scoring uses.
    assert.equal(await slider(page, "δ_pred").inputValue(), "0.99");
    const selected = await selectedCount(page);
    assert.ok(
      selected > 0 && selected < native.length,
      `${selected} of ${native.length} selected: the first pool should mix both verdicts`,
    );
    const f1 = Number(await page.locator(".pool-accuracy").getAttribute("data-f1"));
    assert.ok(f1 >= LEAST_POOL_F1, `first-error F1 ${f1} on the first pool`);
    await page.screenshot({ path: join(SCREENSHOTS, "first-look.png"), fullPage: true });
  });
});

test("the page selects what native scoring selects, and plots every counted step", async () => {
  await inPage({ webgpu: false, hash: `seed=${SEED}` }, async (page) => {
    const nativeSelected = native.filter((row) => row.verdict !== "trusted").length;
    assert.equal(await selectedCount(page), nativeSelected);
    const tau = Number(await slider(page, "τ").inputValue());
    const counted = native.reduce((sum, row) => sum + countedSteps(row, tau), 0);
    const points = page.locator("#pool-plane .point");
    assert.equal(await points.count(), counted, "one point per counted step");
    const outside = await page.locator('#pool-plane .point:not([data-state="confident"])').count();
    assert.ok(outside > 0, "some counted step lies outside the trusted region");

    // The region's high band starts at δ_pred and its top is δ_std on the log axis.
    const region = page.locator("#pool-plane .trusted-region").last();
    const [x, y] = [await region.getAttribute("x"), await region.getAttribute("y")];
    await slider(page, "δ_pred").fill("0.9");
    assert.ok(Number(await region.getAttribute("x")) < Number(x), "δ_pred 0.9 widens the band");
    await slider(page, "δ_std").fill("0.02");
    assert.ok(Number(await region.getAttribute("y")) < Number(y), "δ_std 0.02 raises its top");
    assert.ok(
      (await page.locator('#pool-plane .point:not([data-state="confident"])').count()) <= outside,
      "looser thresholds leave no more points outside",
    );

    // Points overlap, so the events go to the point itself rather than to whatever is on top.
    const point = points.first();
    await point.dispatchEvent("mouseenter");
    assert.match(await page.locator(".plot-hover").textContent(), /^Problem \d+, step \d+ /);
    const trajectory = await point.getAttribute("data-trajectory");
    await point.dispatchEvent("click");
    await page.locator(`.inspector[data-index="${trajectory}"]`).waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, "decision-plot.png"), fullPage: true });
  });
});

test("moving the thresholds re-draws the verdicts and the URL hash", async () => {
  await inPage({ webgpu: false, hash: `seed=${SEED}` }, async (page) => {
    // Any spread at all counts as disagreement: every trajectory goes to the judge.
    await slider(page, "δ_std").fill("0");
    assert.equal(await selectedCount(page), native.length);
    assert.match(await page.locator(".verdict").textContent(), /^selected/);
    assert.match(page.url(), /delta_std=0(&|$)/);
    await page.screenshot({ path: join(SCREENSHOTS, "strict.png"), fullPage: true });

    // No mean is strictly inside (0.5, 0.5) and a spread must pass 0.05: far fewer selected.
    await slider(page, "δ_pred").fill("0.5");
    await slider(page, "δ_std").fill("0.05");
    const lenient = await selectedCount(page);
    assert.ok(lenient < native.length, `${lenient} selected with lenient thresholds`);
    assert.equal(
      await page.locator(".steps > li.unsure").count(),
      0,
      "no step is unsure at δ_pred 0.5",
    );
    await page.screenshot({ path: join(SCREENSHOTS, "lenient.png"), fullPage: true });
  });
});

test("a shared link restores the rule and the visitor's own trajectory", async () => {
  const text = [
    "Ann has 12 shells . She finds 5 more . How many shells does Ann have ?",
    "After finding 5 more she has 12 + 5 = 17",
    "The answer is 17",
  ].join("\n");
  // Written as links were before the tests' names took hyphens: old links keep working.
  const hash = `seed=${SEED}&tests=epistemic_only&custom=${encodeURIComponent(text)}`;
  await inPage({ webgpu: false, hash }, async (page) => {
    await page
      .locator(".inspector h2", { hasText: "Your trajectory" })
      .waitFor({ timeout: PAGE_TIMEOUT });
    assert.equal(await page.locator(".custom textarea").inputValue(), text);
    assert.equal(await page.locator(".inspector .steps > li").count(), 2);
    assert.ok(await page.locator('input[name="tests"][value="epistemic-only"]').isChecked());
    // With the test on the mean switched off, no step is flagged as unsure.
    assert.equal(await page.locator(".steps > li.unsure").count(), 0);
    await page.screenshot({ path: join(SCREENSHOTS, "shared.png"), fullPage: true });

    await page.locator('input[name="tests"][value="both"]').check();
    assert.match(page.url(), /tests=both/);
    await page.locator(".pool-row button").first().click();
    await page.locator(".inspector h2", { hasText: /^Problem / }).waitFor();
    assert.doesNotMatch(page.url(), /custom=/);
  });
});

test("a 390 px screen needs no horizontal scrolling, and keys reach and move the controls", async () => {
  await inPage({ webgpu: false, hash: `seed=${SEED}`, width: 390 }, async (page) => {
    const layout = await page.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth,
      clientWidth: document.documentElement.clientWidth,
      unnamed: [...document.querySelectorAll("input, button, select, textarea")]
        .filter((control) => !(control.labels?.length || control.ariaLabel || control.textContent.trim()))
        .map((control) => control.outerHTML.slice(0, 80)),
    }));
    assert.equal(layout.clientWidth, 390);
    assert.ok(layout.scrollWidth <= layout.clientWidth, `${layout.scrollWidth} px wide`);
    assert.deepEqual(layout.unnamed, [], "controls without an accessible name");
    await page.screenshot({ path: join(SCREENSHOTS, "narrow-390.png"), fullPage: true });

    // Tab reaches the first slider, and the arrow keys move it by one step.
    const delta = slider(page, "δ_pred");
    const before = Number(await delta.inputValue());
    for (let tab = 0; tab < 10 && !(await delta.evaluate((el) => el === document.activeElement)); tab++) {
      await page.keyboard.press("Tab");
    }
    await page.keyboard.press("ArrowLeft");
    assert.ok(Number(await delta.inputValue()) < before, "ArrowLeft lowers δ_pred");
    // A pool row opens its problem from the keyboard.
    const row = page.locator(".pool-row button").nth(2);
    await row.focus();
    await page.keyboard.press("Enter");
    assert.equal(await row.getAttribute("aria-pressed"), "true");
  });
});

/** The steps of the real-text inspector: each one's `data-` attribute `name`. */
function realSteps(page, name) {
  return page
    .locator(".real-inspector .steps > li")
    .evaluateAll((items, name) => items.map((item) => item.dataset[name]), name);
}

/**
 * The natively scored rows of the served gsm8k slice, cheapest to read first: each step is read
 * with its prefix, so a solution costs about its characters times its steps.
 */
function cheapestRealRows() {
  const slice = JSON.parse(readFileSync(join(DIST, "processbench", "gsm8k.json"), "utf8"));
  const cost = ({ problem, steps }) =>
    (problem.length + steps.reduce((sum, step) => sum + step.length, 0)) * steps.length;
  return nativeReal.map((_, row) => row).sort((a, b) => cost(slice[a]) - cost(slice[b]));
}

/**
 * Loads the real-text model, reads the slice rows `toRead` (every natively scored one unless
 * told) in turn and compares each reading (means, spreads, every head, the verdict) with native
 * scoring's; prints the times.
 */
async function assertRealTextMatchesNative(page, compute, toRead = nativeReal.map((_, row) => row)) {
  await page.locator(".load-real-text").click();
  const rows = page.locator(".slice-row button");
  await rows.first().waitFor({ timeout: PAGE_TIMEOUT });
  assert.ok((await rows.count()) >= nativeReal.length, "the gsm8k slice is listed");
  await page.locator(".slice-row button:not([disabled])").first().waitFor({ timeout: PAGE_TIMEOUT });
  const times = [];
  for (const row of toRead) {
    const expected = nativeReal[row];
    const id = (await rows.nth(row).textContent()).split(" · ")[0];
    const start = Date.now();
    await rows.nth(row).click();
    await page.locator(`.real-inspector[data-item="${id}"]`).waitFor({ timeout: PAGE_TIMEOUT });
    await page.locator(".slice-row button:not([disabled])").first().waitFor({ timeout: PAGE_TIMEOUT });
    times.push(Date.now() - start);
    const what = `${id} (row ${row + 1}, ${compute})`;
    assert.equal(
      (await page.locator(".real-inspector .question").textContent()).trim(),
      expected.question.trim(),
      `${what}: question`,
    );
    assertClose((await realSteps(page, "mean")).map(Number), expected.scores.mean, `${what} mean`);
    assertClose((await realSteps(page, "std")).map(Number), expected.scores.std, `${what} std`);
    const heads = (await realSteps(page, "heads")).map((step) => step.split(",").map(Number));
    expected.scores.heads.forEach((head, e) =>
      assertClose(heads.map((step) => step[e]), head, `${what} head ${e + 1}`),
    );
    const verdict = (await page.locator(".real-inspector .verdict").textContent()).trim();
    const reason = expected.verdict === "selected" ? `selected: step ${expected.reason.step + 1},` : "trusted";
    assert.ok(verdict.startsWith(reason), `${what}: page "${verdict}", native "${expected.explanation}"`);
  }
  console.log(`real-text solutions read in ${times.join(", ")} ms (${compute})`);
}

/**
 * The plot of the real solutions read so far (the first `items` of the gsm8k slice, whose
 * native scores are known): one point per counted step at the model's τ, a region that moves
 * with δ_pred, a point that opens its solution; then reading the whole split, stopped.
 */
async function assertRealPlot(page, items) {
  const tau = Number(await page.locator(".real-text-tau").getAttribute("data-tau"));
  const counted = nativeReal.slice(0, items).reduce((sum, row) => sum + countedSteps(row, tau), 0);
  const points = page.locator("#slice-plane .point");
  assert.equal(await points.count(), counted, "one point per counted step of the read solutions");
  const region = page.locator("#slice-plane .trusted-region").last();
  const x = Number(await region.getAttribute("x"));
  await slider(page, "δ_pred").fill("0.9");
  assert.notEqual(Number(await region.getAttribute("x")), x, "the region follows δ_pred");

  const point = points.last();
  await point.dispatchEvent("mouseenter");
  const id = (await page.locator("#slice-plane .plot-hover").textContent()).split(",")[0];
  assert.match(id, /^gsm8k-\d+$/);
  await point.dispatchEvent("click");
  await page.locator(`.real-inspector[data-item="${id}"]`).waitFor();

  // Reading the whole split goes on behind the solutions asked for, and stops when told.
  const progress = page.locator(".split-progress");
  assert.equal(await progress.getAttribute("data-read"), String(items));
  await page.locator(".read-split").click();
  await page.locator(`.split-progress[data-read="${items + 1}"]`).waitFor({ timeout: PAGE_TIMEOUT });
  await page.locator(".stop-split").click();
  await page.locator(".stop-split").waitFor({ state: "detached", timeout: PAGE_TIMEOUT });
  const read = Number(await progress.getAttribute("data-read"));
  assert.ok(read < Number(await progress.getAttribute("data-total")), "stopped before the end");
  assert.ok((await points.count()) > counted, "the new readings are plotted");
}

test("real ProcessBench solutions are read as native scoring reads them, a pasted one is shared by link, and the encoder is kept", async () => {
  await inPage({ webgpu: false, hash: `seed=${SEED}` }, async (page) => {
    await observeLongTasks(page);
    await assertRealTextMatchesNative(page, "CPU fallback");
    assert.match(
      await page.locator(".real-inspector .read-timing").textContent(),
      /^Read in \d+\.\d\d s: tokenising \d+ ms, the encoder \d+\.\d\d s, the heads \d+ ms\.$/,
    );
    await assertNoLongTask(page, "reading real solutions");
    await assertRealPlot(page, nativeReal.length);
    await page.screenshot({ path: join(SCREENSHOTS, "real-text.png"), fullPage: true });

    // A pasted solution is read once typing pauses, one step per paragraph.
    const own = ["What is 12 + 30?", "12 + 30 = 42.", "So the answer is 42."].join("\n\n");
    await page.locator(".own-solution textarea").fill(own);
    await page
      .locator(".real-inspector h2", { hasText: "Your solution" })
      .waitFor({ timeout: PAGE_TIMEOUT });
    assert.equal(await page.locator(".real-inspector .steps > li").count(), 2);
    const pastedMeans = (await realSteps(page, "mean")).map(Number);
    const hash = await page.evaluate(() => location.hash);
    assert.equal(new URLSearchParams(hash.slice(1)).get("solution"), own, `hash: ${hash}`);

    // The browser keeps the encoder: a second page reads it from the cache, not the server.
    await page.locator(".forget-model").waitFor({ timeout: PAGE_TIMEOUT });
    const encoder = "/minilm/model.safetensors";
    assert.equal(site.requests(encoder), 1, "the encoder is fetched once");

    // A link holding the pasted solution loads the model and reads it the same way.
    const shared = await page.context().newPage();
    await shared.goto(`${site.url}${hash}`);
    await shared
      .locator(".real-inspector h2", { hasText: "Your solution" })
      .waitFor({ timeout: PAGE_TIMEOUT });
    assert.equal(await shared.locator(".own-solution textarea").inputValue(), own);
    const sharedMeans = await shared
      .locator(".real-inspector .steps > li")
      .evaluateAll((items) => items.map((item) => Number(item.dataset.mean)));
    assert.deepEqual(sharedMeans, pastedMeans);
    assert.equal(site.requests(encoder), 1, "the second page read the kept encoder");

    await shared.locator(".forget-model").click();
    await shared.locator(".forgotten", { hasText: "no longer keeps" }).waitFor();
    assert.equal(await shared.locator(".forget-model").count(), 0);
    assert.equal(await shared.evaluate(() => caches.has("actprm-models")), false);
  });
});

test("with WebGPU the real-text model reads solutions as native scoring does", async () => {
  await inPage({ webgpu: true, hash: `seed=${SEED}` }, async (page) => {
    await assertRealTextMatchesNative(page, "WebGPU", cheapestRealRows().slice(0, WEBGPU_REAL_ITEMS));
    assert.match(await page.locator(".real-text-tau").textContent(), /^Read on WebGPU at τ /);
  });
});

test("live active learning advances both budget curves, with the page's thread free", async () => {
  await inPage({ webgpu: false, hash: `seed=${SEED}` }, async (page) => {
    const points = (learner) =>
      page.locator(".curve-numbers tbody tr", { has: page.locator(`td:text-is("${learner}")`) });
    await observeLongTasks(page);
    await page.locator(".live .play").click();
    // A point at zero labels, then one every 20 mini-batches.
    await points("random").nth(1).waitFor({ state: "attached", timeout: PAGE_TIMEOUT });
    await page.locator(".live .play").click();
    assert.equal(await page.locator(".live .play").textContent(), "Play");
    // Training runs in a worker: the page's own tasks stay short while it trains.
    await assertNoLongTask(page, "live training");
    for (const learner of ["actprm", "random"]) {
      const labels = await points(learner).evaluateAll((rows) =>
        rows.map((row) => Number(row.children[1].textContent)),
      );
      assert.ok(labels.length >= 2, `${learner}: ${labels.length} points`);
      assert.equal(labels[0], 0, `${learner} starts with no labels`);
      assert.ok(labels[1] > 0, `${learner} bought labels`);
    }
    assert.equal(await page.locator(".budget-chart polyline").count(), 2);
    await page.screenshot({ path: join(SCREENSHOTS, "live.png"), fullPage: true });
    // A reset drops the run; the next step starts a new one from the first mini-batch.
    await page.locator(".live .reset").click();
    assert.equal(await page.locator(".budget-chart").count(), 0);
    await page.locator(".live .step-once").click();
    await page
      .locator(".live-status", { hasText: /^mini-batch 1 of/ })
      .waitFor({ timeout: PAGE_TIMEOUT });
  });
});
