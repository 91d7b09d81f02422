// Drives `breakeven serve` in headless Chromium over the DevTools protocol (puppeteer-core,
// Debian's /usr/bin/chromium): load the page, change the volume and see the verdict and the
// chart change, enter a bad value and see the CLI's message next to its field, open the
// shareable link in a new page and see the same numbers. Screenshots go to target/ci-serve/.
//
//   node tests/browser/serve.test.mjs [path/to/breakeven] [screenshot folder]
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import puppeteer from 'puppeteer-core';

const bin = process.argv[2] || 'target/release/breakeven';
const shots = process.argv[3] || 'target/ci-serve';
const chromium = process.env.CHROMIUM || '/usr/bin/chromium';
mkdirSync(shots, { recursive: true });
const out = mkdtempSync(join(tmpdir(), 'breakeven-serve-'));

// The server on a free port; its first line says where.
const server = spawn(bin, ['serve', '--port', '0', '--out', out], { stdio: ['ignore', 'pipe', 'inherit'] });
const said = await new Promise((resolve, reject) => {
  let seen = '';
  server.stdout.on('data', (d) => {
    seen += d;
    const m = seen.match(/http:\/\/127\.0\.0\.1:\d+\//);
    if (m && seen.includes('\n')) resolve({ url: m[0], line: seen });
  });
  server.on('exit', (code) => reject(new Error('breakeven serve exited with ' + code + ': ' + seen)));
});
assert.match(said.line, /loopback only/);
const base = said.url;
console.log('serving at', base);

const browser = await puppeteer.launch({
  executablePath: chromium,
  headless: true,
  // A closed proxy: a fetch from anywhere but this machine (Chromium never proxies loopback)
  // would fail.
  args: ['--no-sandbox', '--disable-gpu', '--proxy-server=127.0.0.1:9'],
  defaultViewport: { width: 1400, height: 1000 },
});
const elsewhere = [];

async function open(url) {
  const page = await browser.newPage();
  page.on('request', (r) => {
    if (!r.url().startsWith(base) && !r.url().startsWith('blob:') && !r.url().startsWith('data:')) elsewhere.push(r.url());
  });
  page.on('pageerror', (e) => { throw e; });
  await page.goto(url);
  await settled(page);
  return page;
}

/** Wait until the page's last request has come back (done or refused). */
async function settled(page) {
  await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state), { timeout: 60000 });
}

const text = (page, sel) => page.$eval(sel, (e) => e.textContent);
const chart = (page) => page.$eval('#chart-breakeven', (e) => e.innerHTML);

async function typeInto(page, key, value) {
  const el = await page.$(`[name="${key}"]`);
  assert.ok(el, 'a field for ' + key);
  await el.click({ clickCount: 3 });
  await page.keyboard.press('Backspace');
  // Typed the way a person types; the page waits ~300 ms after the last key.
  await el.type(value, { delay: 20 });
  await page.waitForFunction(() => document.body.dataset.state === 'running', { timeout: 5000 }).catch(() => {});
  await settled(page);
}

try {
  const page = await open(base + '#scenario=bench-w1');
  assert.equal(await page.evaluate(() => document.body.dataset.state), 'done');
  const verdict0 = await text(page, '#verdict');
  const chart0 = await chart(page);
  assert.match(verdict0, / beats /);
  assert.match(chart0, /<svg/);
  assert.match(await page.$eval('#chart-cumulative', (e) => e.innerHTML), /<svg/);
  await page.screenshot({ path: join(shots, '1-loaded.png'), fullPage: true });

  // The volume: a fifth of W1's, so the API's bill and the verdict change.
  await typeInto(page, 'demand.monthly.median', '300000');
  await typeInto(page, 'demand.monthly.p90', '600000');
  assert.equal(await page.evaluate(() => document.body.dataset.state), 'done');
  const verdict1 = await text(page, '#verdict');
  const chart1 = await chart(page);
  assert.notEqual(verdict1, verdict0, 'the verdict changes with the volume');
  assert.notEqual(chart1, chart0, 'the break-even chart changes with the volume');
  assert.match(await page.$eval('#link', (e) => e.value), /set=demand\.monthly\.median%3D300000/);
  await page.screenshot({ path: join(shots, '2-volume-changed.png'), fullPage: true });
  const link = await page.$eval('#link', (e) => e.value);
  const table1 = await text(page, '#table');

  // A bad value: p90 below the median. The message is the CLI's, next to the field.
  await typeInto(page, 'demand.monthly.p90', '100');
  assert.equal(await page.evaluate(() => document.body.dataset.state), 'error');
  const shown = await page.evaluate(() => document.getElementById('error-demand.monthly.p90').textContent);
  let cli = '';
  try {
    execFileSync(bin, ['run', 'scenarios/bench-w1.toml', '-q', '--no-charts', '--out', join(out, 'cli'), '--samples', '2000',
      '--set', 'demand.monthly.median=300000', '--set', 'demand.monthly.p90=100'], { stdio: 'pipe' });
  } catch (e) {
    cli = e.stderr.toString().replace(/^error: /, '').trim();
  }
  assert.ok(cli.length > 0, 'the CLI refuses it too');
  assert.equal(shown, cli, 'the page shows the CLI\'s message');
  assert.equal(await page.$eval('[name="demand.monthly.p90"]', (e) => e.getAttribute('aria-invalid')), 'true');
  console.log('next to demand.monthly.p90:', shown);
  await page.evaluate(() => document.querySelector('[name="demand.monthly.p90"]').scrollIntoView());
  await page.screenshot({ path: join(shots, '3-bad-value.png') });

  // The shareable link, in a new page: the same numbers.
  const again = await open(link);
  assert.equal(await text(again, '#verdict'), verdict1);
  assert.equal(await text(again, '#table'), table1);
  assert.equal(await chart(again), chart1);
  assert.equal(await again.$eval('[name="demand.monthly.median"]', (e) => e.value), '300000');
  await again.screenshot({ path: join(shots, '4-shared-link.png'), fullPage: true });
  await again.setViewport({ width: 1400, height: 1250 });
  await again.screenshot({ path: join(shots, 'serve.png') });

  assert.deepEqual(elsewhere, [], 'the page fetched nothing from anywhere else');
  console.log('browser test passed; screenshots in', shots);
} finally {
  await browser.close();
  server.kill();
}
