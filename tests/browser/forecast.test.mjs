/*
 * The dashboard's forecast, in Debian's chromium (headless, driven by
 * playwright-core), against a real aqgridd and a real mosquitto fed 8 days
 * by aqgrid-sim's back-fill, as `make demo` is (etc/demo.sh), on a grid of
 * 4 x 6 cells: enough hours for every cell's model to warm up (168 with a
 * value).  A cell's charts then draw the next 24 hours' forecast and its
 * 80% band where the API's forecast puts them, and the areas' table shows
 * each area's warning level from the model.  Screenshots go to
 * $B/screenshots/forecast-zh.png and forecast-chart-zh.png.
 * Prints Check's summary line for tests/run.sh (via forecast.sh).
 */

import fs from 'node:fs';
import path from 'node:path';
import {createRequire} from 'node:module';
import {TOP, bin, broker, daemon, start, tmpdir, until, Results, assert,
  eq} from './lib.mjs';

const require = createRequire(import.meta.url);
const {chromium} = require('playwright-core');

const ROWS = 4, COLS = 6, BACKFILL_H = 192;
const CELL = 'r001c002';
const SHOTS = path.join(path.dirname(bin('AQGRIDD', 'build/aqgridd')),
  'screenshots');

function config(dir, mqttPort) {
  const conf = path.join(dir, 'aqgridd.conf');
  fs.writeFileSync(conf, `[mqtt]
host = 127.0.0.1
port = ${mqttPort}
client_id = aqgridd-browser-fc
subscribe = aq/demo/# json 1
[http]
listen = 127.0.0.1:0
web_root = ${path.join(TOP, 'web')}
threads = 4
[standards]
aqi = hj633-2026
timezone = Asia/Shanghai
[grid]
origin = 39.975 116.38
cell_size = 500
rows = ${ROWS}
cols = ${COLS}
[area west]
name = 西区
name_en = West
cells = r000c000-r003c002
[area east]
name = 东区
name_en = East
cells = r000c003-r003c005
[store]
dir = ${path.join(dir, 'store')}
`);
  return conf;
}

async function api(d, p) {
  const r = await fetch(d.url + p);
  return r.json();
}

/* The page point at the middle of a cell, for the mouse. */
async function cellPoint(page, id) {
  const b = await page.evaluate(id => window.aqgrid.box(id), id);
  const r = await page.locator('#map').boundingBox();
  return [r.x + b.x + b.size / 2, r.y + b.y + b.size / 2];
}

/* What each chart of the detail drew: its plot box, its bands in CSS
 * pixels, and per band point, in the column of device pixels between hi
 * and lo (less one at each end), how many are blank and how many have
 * the band's colour: translucent rgba(31, 95, 191, 0.15) or rgba(0, 121,
 * 107, 0.15) on the transparent canvas, or over the grid line's #E1E5E9.
 * Lines drawn over the band (the forecast's median, a limit) are
 * neither. */
function drawn(page) {
  return page.evaluate(async () => {
    await new Promise(r => requestAnimationFrame(() =>
      requestAnimationFrame(r)));
    const near = (p, q, d) => q.every((v, i) => Math.abs(p[i] - v) <= d);
    const band = p => [[31, 95, 191], [0, 121, 107]].some(c =>
      (p[3] >= 25 && p[3] <= 55 && near(p, c, 12)) || (p[3] === 255 &&
      near(p, c.map((v, i) => 0.85 * [0xE1, 0xE5, 0xE9][i] + 0.15 * v),
      8)));
    return Array.from(document.querySelectorAll('#detail figure.chart ' +
      'canvas')).map(cv => {
      const dpr = cv.width / parseFloat(cv.style.width);
      const g = cv.getContext('2d');
      const column = (x, y0, y1) => {
        const a = Math.round(y0 * dpr) + 1, b = Math.round(y1 * dpr) - 1;
        const n = {blank: 0, band: 0, px: Math.max(0, b - a + 1)};
        if (b < a) return n;
        const d = g.getImageData(Math.round(x * dpr), a, 1, b - a + 1).data;
        for (let i = 0; i < d.length; i += 4) {
          if (d[i + 3] === 0) n.blank++;
          else if (band(d.subarray(i, i + 4))) n.band++;
        }
        return n;
      };
      /* The column sampled is the device pixel nearest the point, not
       * the point: where the band's edge is steep (a spike of the
       * interval) it is lower there, so the column runs between the
       * edges as they are at the sampled x, on the segment toward it. */
      const at = (b, k) => {
        const x = b[k][0], xs = Math.round(x * dpr) / dpr;
        const j = xs < x ? k - 1 : k + 1;
        if (j < 0 || j >= b.length || b[j][0] === x)
          return column(x, b[k][1], b[k][2]);
        const f = (xs - x) / (b[j][0] - x);
        const hi = b[k][1] + f * (b[j][1] - b[k][1]);
        const lo = b[k][2] + f * (b[j][2] - b[k][2]);
        return column(x, Math.max(hi, b[k][1]), Math.min(lo, b[k][2]));
      };
      const bands = JSON.parse(cv.dataset.bands || '[]');
      return {forecast: cv.dataset.forecast || null,
        plot: JSON.parse(cv.dataset.plot || 'null'), bands,
        inside: bands.map(b => b.map((p, k) => at(b, k)))};
    });
  });
}

async function main() {
  const res = new Results('browser_forecast');
  const dir = tmpdir('browser-fc');
  let b = null, d = null, browser = null;
  const pageErrors = [];
  try {
    fs.mkdirSync(SHOTS, {recursive: true});
    b = await broker(dir);
    d = await daemon(config(dir, b.port), path.join(dir, 'aqgridd.log'));
    const sim = start([bin('AQGRID_SIM', 'build/aqgrid-sim'), '-p',
      String(b.port), '-q', '1', '-t', 'aq/demo', 'synth', '--rows',
      String(ROWS), '--cols', String(COLS), '--backfill', String(BACKFILL_H),
      '--no-live', '--dust-sites', '1', '--sources', '1'],
      path.join(dir, 'sim.log'));
    eq(await sim.exited, 0, 'aqgrid-sim exit status');
    await until(async () => {
      const j = await api(d, '/api/v1/cells?limit=100');
      for (const c of j.results)
        if (!(await api(d, '/api/v1/cells/' + c.id + '/forecast')).ready)
          return false;
      return true;
    }, 60, 'every cell\'s forecast');

    browser = await chromium.launch({executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox']});
    /* Two device pixels a CSS pixel: a thin band has pixels inside. */
    const ctx = await browser.newContext({locale: 'zh-CN',
      viewport: {width: 1366, height: 900}, deviceScaleFactor: 2});
    const page = await ctx.newPage();
    page.on('pageerror', e => pageErrors.push(e.message));
    page.on('console', msg => {
      if (msg.type() === 'error') pageErrors.push(msg.text());
    });
    await page.goto(d.url + '/');
    await page.waitForFunction(() => window.aqgrid && window.aqgrid.ready(),
      null, {timeout: 20000});

    await res.check('a warm cell\'s charts draw the forecast band where '
      + 'the API puts it', async () => {
      const [x, y] = await cellPoint(page, CELL);
      await page.mouse.click(x, y);
      await page.waitForSelector('#detail figure.chart canvas[data-forecast]',
        {timeout: 10000});
      const cell = await api(d, '/api/v1/cells/' + CELL);
      const fc = await api(d, '/api/v1/cells/' + CELL + '/forecast');
      eq(fc.ready, true, 'the API\'s forecast');
      const hour = Date.parse(cell.hour.time || cell.hour);
      const caption = await page.locator('#detail figure.chart figcaption')
        .first().innerText();
      assert(caption.includes('未来 24 小时'), 'caption: ' + caption);
      const charts = await drawn(page);
      eq(charts.length, 2, 'charts');
      /* The charts span the 47 hours before the cell's hour and the 24
       * after it; the band is the forecast's first 24 hours. */
      const from = hour - 47 * 3600e3, end = hour + 24 * 3600e3;
      charts.forEach((c, i) => {
        const pol = i === 0 ? 'pm25' : 'o3';
        eq(c.forecast, '24', pol + ': forecast hours drawn');
        eq(c.bands.length, 1, pol + ': bands');
        const [left, top, pw, ph] = c.plot;
        const band = c.bands[0];
        const want = fc.hours.slice(0, 24).filter(h => h[pol]);
        eq(band.length, want.length, pol + ': band points');
        assert(want.length === 24, pol + ': 24 forecast hours');
        let tall = 0, thick = 0, shaded = 0, holed = 0;
        band.forEach(([bx, yhi, ylo], k) => {
          const t = Date.parse(want[k].time);
          const wx = left + (t - from) / (end - from) * pw;
          assert(Math.abs(bx - wx) < 0.2, pol + ' hour ' + k + ': x ' + bx +
            ', want ' + wx.toFixed(1));
          assert(bx > left + pw * 47 / 71 && bx <= left + pw + 0.1,
            pol + ' hour ' + k + ': x ' + bx + ' not after the last hour');
          assert(top - 0.1 <= yhi && yhi <= ylo && ylo <= top + ph + 0.1,
            pol + ' hour ' + k + ': y ' + yhi + '..' + ylo + ' outside ' +
            top + '..' + (top + ph));
          /* Heights above the axis in the API's proportion hi : lo. */
          const {lo, hi} = want[k][pol];
          if (lo > 0 && top + ph - ylo > 3)
            assert(Math.abs((top + ph - yhi) / (top + ph - ylo) - hi / lo) <
              0.05 * hi / lo, pol + ' hour ' + k + ': heights ' +
              (top + ph - yhi) + ' / ' + (top + ph - ylo) + ', want ' +
              hi + ' / ' + lo);
          /* Shaded all the way from hi to lo (the last hour is the
           * plot's right edge). */
          if (ylo - yhi >= 2.5 && bx < left + pw - 1) {
            const n = c.inside[0][k];
            tall++;
            /* The median's line (2 CSS px, 4 device px, and its
             * anti-aliasing) may cover a column of 5 pixels whole. */
            if (n.px >= 6) {
              thick++;
              shaded += n.band;
            }
            /* At a sharp turn of the band's edge one pixel of the
             * column may fall outside the polygon's anti-aliasing (seen
             * once in ~20 CI runs); more than one is a hole. */
            assert(n.blank <= 1, pol + ' hour ' + k + ': ' + n.blank +
              ' blank pixels inside the band, ' + n.band + ' shaded');
            if (n.blank > 0)
              holed++;
          }
        });
        /* (Ozone's band is thin under its 1-hour limit's scale.) */
        assert(tall >= 1, pol + ': no hour with a band 2.5 px tall');
        assert(holed * 10 <= tall, pol + ': ' + holed + ' of ' + tall +
          ' hours with a blank pixel inside the band');
        assert(shaded >= thick, pol + ': ' + shaded + ' band pixels in ' +
          thick + ' hours');
      });
      await page.screenshot({path: path.join(SHOTS, 'forecast-zh.png'),
        fullPage: true});
      await page.locator('#detail figure.chart').first().screenshot({
        path: path.join(SHOTS, 'forecast-chart-zh.png')});
    });

    await res.check('the areas show their warning level from the model',
      async () => {
        for (const id of ['west', 'east']) {
          const w = await api(d, '/api/v1/areas/' + id + '/warning');
          eq(w.source, 'model', id + ': the API\'s source');
          const chip = page.locator('#areas tbody tr', {hasText: id})
            .locator('td.warning .lvchip');
          await chip.waitFor({timeout: 10000});
          const cls = await chip.getAttribute('class');
          assert(cls.split(' ').includes('warn-' + w.level), id +
            ': chip ' + cls + ', API level ' + w.level);
          eq(await chip.getAttribute('title'), '依据：本系统预报',
            id + ': where the level comes from');
        }
      });

    await res.check('the plan panel counts the back-filled days',
      async () => {
        const want = await api(d, '/api/v1/indicators');
        assert(want.data_days >= 7, 'data_days ' + want.data_days);
        await until(async () => (await page.locator('#plan-range')
          .innerText()).includes(want.to), 10, 'the plan panel filled');
        const good = await page.locator('#plan-table').innerText();
        const g = want.good_days;
        assert(g.valid >= 7 && good.includes('(' + g.good + '/' + g.valid +
          ')'), 'good days ' + g.good + ' of ' + g.valid + ' not shown: ' +
          good);
      });

    await res.check('no script errors', async () => {
      eq(pageErrors, [], 'errors in the page');
    });
  } catch (e) {
    res.error('setup', e);
  } finally {
    if (browser) await browser.close().catch(() => {});
    if (d) {
      const rc = await d.proc.stop();
      if (rc !== 0) res.error('aqgridd exit status ' + rc, d.proc.text());
    }
    if (b) await b.proc.stop();
  }
  if (res.failed + res.errors === 0)
    fs.rmSync(dir, {recursive: true, force: true});
  else
    console.log('browser_forecast: logs kept in ' + dir);
  return res.summary();
}

process.exitCode = await main();
