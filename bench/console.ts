/**
 * The console's figures (npm run bench:console), each beside a baseline measured in the same run:
 *   1. initial JavaScript: gzip bytes of the scripts index.html loads (target <= 250 KB), against
 *      react-dom's own production build, the floor of any React app;
 *   2. chart draw: median ms for uPlot to draw 10,000 points in Chromium with the console's chart
 *      options (target <= 100 ms), against a 100-point chart;
 *   3. device list time to interactive: ms from navigation to the first page of rows rendered and
 *      the main thread idle, against the same page with 10 devices in the registry, then with
 *      10,000 (BENCH_CONSOLE_FLEET overrides it).
 * Debian's Chromium at /usr/bin/chromium (CHROMIUM_PATH); the machine is shared, so compare each
 * figure with its baseline rather than with another run.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { CONSOLE_DIST_DIR } from '../src/contracts/console-assets.js';
import { LOCAL_SIGN_IN_PATH } from '../src/contracts/console-config.js';
import { startLocalPlatform } from '../src/local/platform.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FLEET = Number(process.env.BENCH_CONSOLE_FLEET ?? 10_000);
const BASELINE_FLEET = 10;
const CHART_POINTS = 10_000;
const BASELINE_POINTS = 100;
const CHART_RUNS = 15;
const TTI_RUNS = 5;
const CREATE_CONCURRENCY = 16;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

/** Gzip bytes of every script index.html loads up front (entry and module preloads). */
function initialJavaScript(): { files: Array<[string, number]>; total: number } {
  const html = readFileSync(join(CONSOLE_DIST_DIR, 'index.html'), 'utf8');
  const srcs = [...html.matchAll(/<script[^>]+src="([^"]+)"|<link[^>]+rel="modulepreload"[^>]+href="([^"]+)"/g)].map((m) => (m[1] ?? m[2])!);
  const files = srcs.map((src): [string, number] => [src, gzipSync(readFileSync(join(CONSOLE_DIST_DIR, src)), { level: 9 }).length]);
  return { files, total: files.reduce((sum, [, size]) => sum + size, 0) };
}

function reactDomBaseline(): number {
  const require = createRequire(import.meta.url);
  const file = join(dirname(require.resolve('react-dom/package.json')), 'umd', 'react-dom.production.min.js');
  return gzipSync(readFileSync(file), { level: 9 }).length;
}

async function chartDraw(browser: Browser): Promise<{ points: number; median: number; baseline: number }> {
  const bundle = await build({
    entryPoints: [join(ROOT, 'console', 'bench', 'chart-entry.ts')],
    bundle: true,
    minify: true,
    format: 'iife',
    write: false,
    outdir: 'out',
    loader: { '.css': 'css' },
    logLevel: 'silent',
  });
  const js = bundle.outputFiles.find((f) => f.path.endsWith('.js'))!.text;
  const css = bundle.outputFiles.find((f) => f.path.endsWith('.css'))?.text ?? '';
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.setContent('<!doctype html><html><body></body></html>');
  await page.addStyleTag({ content: css });
  await page.addScriptTag({ content: js });
  type Draw = (points: number, runs: number) => Promise<number[]>;
  const run = (points: number) => page.evaluate(([p, r]) => (globalThis as unknown as { drawTimes: Draw }).drawTimes(p!, r!), [points, CHART_RUNS]);
  await run(BASELINE_POINTS); // warm-up: JIT and fonts
  const baseline = median(await run(BASELINE_POINTS));
  const large = median(await run(CHART_POINTS));
  await page.close();
  return { points: CHART_POINTS, median: large, baseline };
}

/** Median ms from navigation to the device list's first page rendered and the main thread idle. */
async function deviceListTti(browser: Browser, origin: string): Promise<number> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(origin);
  await page.evaluate(async (path) => {
    const response = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'bench', group: 'viewer' }) });
    const { token } = (await response.json()) as { token: string };
    (globalThis as unknown as { sessionStorage: { setItem(k: string, v: string): void } }).sessionStorage.setItem('iot-console.local-session', token);
  }, LOCAL_SIGN_IN_PATH);
  const times: number[] = [];
  for (let i = 0; i < TTI_RUNS + 1; i++) {
    await page.goto(`${origin}/devices`);
    await page.locator('a.device-link').first().waitFor({ timeout: 60_000 });
    await page.getByRole('button', { name: 'Next' }).waitFor();
    const at = await page.evaluate(() => new Promise<number>((resolve) => (globalThis as unknown as { requestIdleCallback(f: () => void): void }).requestIdleCallback(() => resolve(performance.now()))));
    if (i > 0) times.push(at); // the first load warms the HTTP cache, as a returning operator's would be
  }
  await context.close();
  return median(times);
}

async function main(): Promise<void> {
  const js = initialJavaScript();
  const reactDom = reactDomBaseline();
  console.log('1. Initial JavaScript (gzip -9), target <= 250 KB');
  for (const [file, size] of js.files) console.log(`   ${file.padEnd(40)} ${kb(size)}`);
  console.log(`   total                                    ${kb(js.total)}   ${js.total <= 250 * 1024 ? 'MEETS' : 'MISSES'} the target`);
  console.log(`   baseline: react-dom production alone     ${kb(reactDom)}`);

  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  const platform = await startLocalPlatform({ ephemeral: true, ports: { dynamodb: 0, mqtt: 0, graphql: 0, grpc: 0 } });
  try {
    const chart = await chartDraw(browser);
    console.log(`\n2. Chart draw in Chromium (median of ${CHART_RUNS}), target <= 100 ms`);
    console.log(`   ${chart.points.toLocaleString()} points  ${chart.median.toFixed(1)} ms   ${chart.median <= 100 ? 'MEETS' : 'MISSES'} the target`);
    console.log(`   baseline: ${BASELINE_POINTS} points  ${chart.baseline.toFixed(1)} ms`);

    const origin = new URL(platform.endpoints.graphql!).origin;
    const create = async (count: number, offset: number) => {
      let next = 0;
      await Promise.all(
        Array.from({ length: CREATE_CONCURRENCY }, async () => {
          while (next < count) {
            const i = offset + next++;
            await platform.registry.create({ name: `bench-device-${String(i).padStart(5, '0')}`, type: ['sensor', 'gateway', 'camera', 'meter'][i % 4]! });
          }
        }),
      );
    };
    await create(BASELINE_FLEET, 0);
    const small = await deviceListTti(browser, origin);
    const seeding = performance.now();
    await create(FLEET - BASELINE_FLEET, BASELINE_FLEET);
    console.log(`\n3. Device list time to interactive (median of ${TTI_RUNS}; registry seeded in ${((performance.now() - seeding) / 1000).toFixed(0)} s)`);
    const large = await deviceListTti(browser, origin);
    console.log(`   ${FLEET.toLocaleString()} devices  ${large.toFixed(0)} ms`);
    console.log(`   baseline: ${BASELINE_FLEET} devices  ${small.toFixed(0)} ms`);
  } finally {
    await browser.close();
    await platform.stop();
  }
}

await main();
