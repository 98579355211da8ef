/*
 * The dashboard in Debian's chromium (headless, driven by playwright-core)
 * against a real aqgridd and a real mosquitto, fed a scenario whose AQI is
 * known cell by cell (HJ 633-2026, PM2.5 dominating):
 *
 *   r000c000 PM2.5  20 -> AQI  29, level I    r000c007  50 ->  80, II
 *   r005c000         90 -> 128, III           r005c007 130 -> 172, IV
 *   r000c003        200 -> 250, V             r005c003 300 -> 350, VI
 *   r000c004 PM2.5 only: AQI NA (HJ 633-2026 5.3.1)
 *   r005c004 never reported: no data          every other cell: 20, level I
 *
 * Rule pm25_high (pm25_1h > 150, no pending time) fires for r000c003 and
 * r005c003 at once, and for r002c006 when the scenario raises it while
 * the page is open.  Dust site s1 in r001c001 reads PM10 400 over a
 * background of 20: red, a red marker on its cell and in the site list.
 * Screenshots go to $B/screenshots (B from $AQGRIDD).
 * Prints Check's summary line for tests/run.sh.
 */

import fs from 'node:fs';
import path from 'node:path';
import {createRequire} from 'node:module';
import {TOP, bin, broker, daemon, mqtt, tmpdir, until, Results, assert,
  eq} from './lib.mjs';

const require = createRequire(import.meta.url);
const {chromium} = require('playwright-core');

const TOKEN = 'dash-test-token-6f1c2a9e';
const ROWS = 6, COLS = 8;
const LEVEL_RGB = {1: [0, 228, 0], 2: [255, 255, 0], 3: [255, 126, 0],
  4: [255, 0, 0], 5: [153, 0, 76], 6: [126, 0, 35]};
const UNKNOWN_RGB = [[0xE4, 0xE6, 0xE8], [0xA2, 0xA8, 0xAE]];
const PM = {r000c000: 20, r000c007: 50, r005c000: 90, r005c007: 130,
  r000c003: 200, r005c003: 300};
const WANT = {r000c000: [29, 1], r000c007: [80, 2], r005c000: [128, 3],
  r005c007: [172, 4], r000c003: [250, 5], r005c003: [350, 6]};
const SHOTS = path.join(path.dirname(bin('AQGRIDD', 'build/aqgridd')),
  'screenshots');

const cellId = (r, c) => 'r' + String(r).padStart(3, '0') + 'c' +
  String(c).padStart(3, '0');

function config(dir, mqttPort) {
  const tokens = path.join(dir, 'tokens');
  fs.writeFileSync(tokens, 'duty ' + TOKEN + ' rw\n', {mode: 0o600});
  const conf = path.join(dir, 'aqgridd.conf');
  fs.writeFileSync(conf, `[mqtt]
host = 127.0.0.1
port = ${mqttPort}
client_id = aqgridd-browser
subscribe = aq/t/+ json 1
[http]
listen = 127.0.0.1:0
web_root = ${path.join(TOP, 'web')}
threads = 4
tokens_file = ${tokens}
[standards]
aqi = hj633-2026
timezone = Asia/Shanghai
[grid]
origin = 40.0 116.0
cell_size = 500
rows = ${ROWS}
cols = ${COLS}
[area west]
name = 西区
name_en = West
cells = r000c000-r005c003
[area east]
name = 东区
name_en = East
cells = r000c004-r005c007
[store]
dir = ${path.join(dir, 'store')}
[hotspots]
min_hours = 1
[site s1]
name = 东区一号工地
kind = construction
cell = r001c001
company = Build Co
contact = Ms Li
sensor = dust-1
[rule pm25_high]
name = PM2.5 hour very high
name_zh = PM2.5小时浓度很高
when = pm25_1h > 150
clear = 140
for = 0
severity = critical
`);
  return conf;
}

/*
 * The hour starting ts (all six pollutants, PM2.5 leading), then a minute
 * of the next hour, which completes it.  A later hour comes from another
 * sensor of the cell: the first one's minute reading already has its
 * start, and the daemon refuses a sensor's second reading at one time.
 */
async function hour(m, cell, ts, pm25, opt) {
  const o = opt || {};
  const sensor = (o.sensor || 'sensor-') + cell;
  const v = o.only ? {pm25} : {pm25, pm10: 20, so2: 5, no2: 10, co: 0.3,
    o3: 30};
  await m.publish('aq/t/' + sensor, JSON.stringify(Object.assign({
    sensor, ts, period: 3600, cell}, v)));
  await m.publish('aq/t/' + sensor, JSON.stringify({sensor, ts: ts + 3600,
    period: 60, cell, pm25: 10}));
}

async function api(d, p, opts) {
  const r = await fetch(d.url + p, opts);
  return r.json();
}

/* The canvas colour at a quarter into the cell (away from outlines and
 * the AQI written in its middle), read back from the drawn pixels. */
function pixel(page, id) {
  /* Two animation frames first: a redraw the page has scheduled (after a
   * resize, a font load) has then happened, so what is read is what is
   * shown. */
  return page.evaluate(async id => {
    await new Promise(r => requestAnimationFrame(() =>
      requestAnimationFrame(r)));
    const b = window.aqgrid.box(id);
    const cv = document.getElementById('map');
    const dpr = cv.width / parseFloat(cv.style.width);
    const x = Math.round((b.x + b.size * 0.22) * dpr);
    const y = Math.round((b.y + b.size * 0.22) * dpr);
    return Array.from(cv.getContext('2d').getImageData(x, y, 1, 1).data)
      .slice(0, 3);
  }, id);
}

/* The page point at the middle of a cell, for the mouse. */
async function cellPoint(page, id) {
  const b = await page.evaluate(id => window.aqgrid.box(id), id);
  const r = await page.locator('#map').boundingBox();
  return [r.x + b.x + b.size / 2, r.y + b.y + b.size / 2];
}

const text = (page, sel) => page.locator(sel).innerText();

async function main() {
  const res = new Results('browser');
  const dir = tmpdir('browser');
  let b = null, d = null, m = null, browser = null;
  const pageErrors = [];
  try {
    fs.mkdirSync(SHOTS, {recursive: true});
    b = await broker(dir);
    d = await daemon(config(dir, b.port), path.join(dir, 'aqgridd.log'));
    m = await mqtt(b.port, 'browser-test');
    const H = Math.floor(Date.now() / 3600e3) * 3600;
    const T = H - 7200; /* the hour shown: ends at H - 3600 */
    for (let r = 0; r < ROWS; r++) {
      for (let c = 0; c < COLS; c++) {
        const id = cellId(r, c);
        if (id === 'r005c004') continue;
        await hour(m, id, T, PM[id] || 20, {only: id === 'r000c004'});
      }
    }
    /* The site's monitor: its hour T, and a minute of the next, after
     * the cells' (so the background of hour T is published). */
    await m.publish('aq/t/dust-1', JSON.stringify({sensor: 'dust-1', ts: T,
      period: 3600, pm10: 400, pm25: 60}));
    await m.publish('aq/t/dust-1', JSON.stringify({sensor: 'dust-1',
      ts: T + 3600, period: 60, pm10: 400}));
    await until(async () => (await api(d, '/api/v1/sites/s1')).status ===
      'red', 20, 'site s1 red');
    await until(async () => {
      const j = await api(d, '/api/v1/cells?limit=100');
      return j.results.filter(c => c.hour).length === ROWS * COLS - 1 &&
        Object.keys(WANT).every(id => {
          const c = j.results.find(x => x.id === id);
          return c.aqi === WANT[id][0] && c.level === WANT[id][1];
        });
    }, 20, 'the scenario in the API');
    await until(async () => (await api(d, '/api/v1/alerts?state=firing'))
      .count === 2, 20, 'the two first alerts');

    browser = await chromium.launch({executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox']});
    const ctx = await browser.newContext({locale: 'zh-CN',
      viewport: {width: 1366, height: 900}});
    const page = await ctx.newPage();
    page.on('pageerror', e => pageErrors.push(e.message));
    page.on('console', msg => {
      if (msg.type() === 'error') pageErrors.push(msg.text());
    });
    const events = [];
    page.on('request', r => {
      if (r.url().includes('/api/v1/events')) events.push(r.headers());
    });
    await page.goto(d.url + '/');
    await page.waitForFunction(() => window.aqgrid && window.aqgrid.ready(),
      null, {timeout: 20000});
    await page.evaluate(() => { window.loadedOnce = 'yes'; });

    await res.check('the colour drawn for each level is its HJ 633 colour',
      async () => {
        for (const id of Object.keys(WANT)) {
          const want = JSON.stringify(LEVEL_RGB[WANT[id][1]]);

          await until(async () => JSON.stringify(await pixel(page, id)) ===
            want, 10, id + ' drawn in level ' + WANT[id][1] + '\'s colour');
          eq(await pixel(page, id), LEVEL_RGB[WANT[id][1]], id +
            ' (level ' + WANT[id][1] + ')');
        }
      });

    await res.check('cells without a valid AQI are drawn unknown, not clean',
      async () => {
        const na = (await api(d, '/api/v1/cells/r000c004')).aqi.value;
        eq(na, null, 'the API\'s AQI of r000c004 (PM2.5 only)');
        eq((await api(d, '/api/v1/cells/r005c004')).status, 'no_data',
          'r005c004');
        for (const id of ['r000c004', 'r005c004']) {
          const px = await pixel(page, id);
          assert(UNKNOWN_RGB.some(u => JSON.stringify(u) ===
            JSON.stringify(px)), id + ' drawn ' + px + ', not unknown grey');
          assert(!Object.values(LEVEL_RGB).some(l => JSON.stringify(l) ===
            JSON.stringify(px)), id + ' drawn in a level colour');
        }
        const legend = await text(page, '#legend');
        for (const w of ['一级 优', '二级 良', '三级 轻度污染', '四级 中度污染',
          '五级 重度污染', '六级 严重污染', '无有效数据'])
          assert(legend.includes(w), 'legend lacks "' + w + '": ' + legend);
      });

    await res.check('clicking a cell shows its values', async () => {
      const [x, y] = await cellPoint(page, 'r005c000');
      await page.mouse.click(x, y);
      await page.waitForFunction(() => {
        const h = document.getElementById('panel-title');
        return h && h.textContent === 'r005c000';
      }, null, {timeout: 10000});
      eq(await text(page, '#detail .aqi-value'), '128', 'AQI');
      const words = await text(page, '#detail .aqi-words');
      assert(words.includes('三级 轻度污染'), 'level: ' + words);
      assert(words.includes('PM2.5 1h'), 'primary: ' + words);
      const row = await text(page, '#detail table.ind tbody tr:first-child');
      for (const w of ['PM2.5 1h', '90.0 μg/m³', '128', '有效'])
        assert(row.includes(w), 'PM2.5 row lacks "' + w + '": ' + row);
      const o3 = await page.locator('#detail table.ind tbody tr',
        {hasText: 'O3 8h'}).innerText();
      assert(o3.includes('无效'), 'O3 8h (one hour) should be not valid: ' +
        o3);
      const sensors = await text(page, '#detail table.sensors');
      assert(sensors.includes('sensor-r005c000') && sensors.includes('正常'),
        'sensors: ' + sensors);
      await page.waitForSelector('#detail figure.chart canvas',
        {timeout: 10000});
      eq(await page.locator('#detail figure.chart').count(), 2, 'charts');
      const label = await page.locator('#detail figure.chart canvas').first()
        .getAttribute('aria-label');
      assert(label.includes('90') && label.includes('60'),
        'PM2.5 chart: highest 90, limit 60: ' + label);
    });

    await res.check('the keyboard moves over the map and opens a cell',
      async () => {
        await page.focus('#map');
        await page.keyboard.press('Home');
        await page.keyboard.press('ArrowRight');
        await page.keyboard.press('ArrowRight');
        await page.keyboard.press('ArrowDown');
        const said = await text(page, '#announce');
        assert(said.startsWith('r001c002'), 'announced: ' + said);
        await page.keyboard.press('Enter');
        await page.waitForFunction(() => document.getElementById(
          'panel-title').textContent === 'r001c002', null, {timeout: 10000});
        await page.keyboard.press('Escape');
        await page.waitForFunction(() => document.getElementById('panel')
          .hidden, null, {timeout: 5000});
      });

    await res.check('the language toggle switches the labels', async () => {
      eq(await text(page, 'h1'), '空气质量网格', 'title (zh)');
      await page.click('#lang');
      eq(await text(page, 'h1'), 'Air-quality grid', 'title (en)');
      eq(await text(page, '#alerts-title'), 'Alerts', 'alerts heading');
      const legend = await text(page, '#legend');
      assert(legend.includes('III Lightly polluted') &&
        legend.includes('No valid data'), 'legend (en): ' + legend);
      eq(await page.evaluate(() => document.documentElement.lang), 'en',
        'html lang');
      await page.screenshot({path: path.join(SHOTS, 'laptop-en.png'),
        fullPage: true});
      await page.click('#lang');
      eq(await text(page, '#alerts-title'), '告警', 'alerts heading (zh)');
    });

    await res.check('an alert raised by the scenario appears without a reload',
      async () => {
        await page.waitForFunction(() => document.getElementById('conn')
          .classList.contains('live'), null, {timeout: 10000});
        eq(await pixel(page, 'r002c006'), LEVEL_RGB[1], 'r002c006 before');
        await hour(m, 'r002c006', H - 3600, 200, {sensor: 'late-'});
        await page.waitForSelector('#alerts li.firing:has-text("r002c006")',
          {timeout: 15000});
        await until(async () => JSON.stringify(await pixel(page,
          'r002c006')) === JSON.stringify(LEVEL_RGB[5]), 10,
        'r002c006 drawn level V');
        eq(await page.evaluate(() => window.loadedOnce), 'yes',
          'the page was not reloaded');
      });

    await res.check('acknowledging in the page changes the alert in the API',
      async () => {
        const li = page.locator('#alerts li.firing', {hasText: 'r002c006'});
        await li.locator('button[data-action="ack"]').click();
        await page.waitForSelector('#token-dialog[open]', {timeout: 5000});
        await page.fill('#token-input', TOKEN);
        await page.click('#token-dialog button[value="ok"]');
        const a = await until(async () => {
          const j = await api(d, '/api/v1/alerts?cell=r002c006');
          return j.results.find(x => x.acked) || null;
        }, 10, 'the alert acknowledged');
        eq(a.ack.by, 'duty', 'acknowledged by');
        eq(a.state, 'firing', 'state');
        await page.waitForSelector('#alerts li:has-text("已由 duty 确认")',
          {timeout: 10000});
        eq(await page.evaluate(() => sessionStorage.getItem('aqgrid.token')),
          TOKEN, 'token kept for the session');
      });

    await res.check('a silence for a cell is made from the page', async () => {
      const li = page.locator('#alerts li.firing', {hasText: 'r005c003'});
      await li.locator('button[data-action="silence"]').click();
      await page.waitForSelector('#silence-dialog[open]', {timeout: 5000});
      await page.selectOption('#sil-hours', '4');
      await page.click('#silence-dialog button[value="ok"]');
      const s = await until(async () => {
        const j = await api(d, '/api/v1/silences');
        return j.results.find(x => x.matchers.includes('cell=r005c003'));
      }, 10, 'the silence');
      eq(s.author, 'duty', 'author');
      eq(s.status, 'active', 'status');
      assert(!(await page.locator('#token-dialog[open]').count()),
        'asked for the token twice');
    });

    await res.check('the stream reconnects with Last-Event-ID and catches up',
      async () => {
        const before = events.length;
        const last = await page.evaluate(() => window.aqgrid.state.stream
          .lastId());
        assert(last !== null, 'no event seen yet');
        await page.evaluate(() => window.aqgrid.state.stream.drop());
        /* While it is away: r000c001 goes to level IV. */
        await hour(m, 'r000c001', H - 3600, 130, {sensor: 'late-'});
        await until(() => events.length > before, 40, 'a new stream');
        eq(events[before]['last-event-id'], last, 'Last-Event-ID sent');
        await until(async () => JSON.stringify(await pixel(page,
          'r000c001')) === JSON.stringify(LEVEL_RGB[4]), 40,
        'r000c001 drawn level IV after the reconnect');
      });

    await res.check('the pollutant view keeps unknown cells unknown',
      async () => {
        await page.selectOption('#mode', 'pm25_1h');
        const want = await page.evaluate(async () => {
          const l = await import('/static/levels.js');
          return l.scaleColor('pm25_1h', 50);
        });
        const hex = px => '#' + px.map(v => v.toString(16).padStart(2, '0'))
          .join('').toUpperCase();
        await until(async () => hex(await pixel(page, 'r000c007')) === want,
          5, 'r000c007 in the scale colour of 50');
        const px = await pixel(page, 'r005c004');
        assert(UNKNOWN_RGB.some(u => JSON.stringify(u) ===
          JSON.stringify(px)), 'r005c004 drawn ' + px);
        const legend = await text(page, '#legend');
        assert(legend.includes('PM2.5 1h') && legend.includes('250'),
          'scale legend: ' + legend);
        await page.selectOption('#mode', 'aqi');
      });

    await res.check('the hotspot overlay rings the hotspots, ranked',
      async () => {
        const j = await api(d, '/api/v1/hotspots');
        assert(j.count >= 2, 'hotspots: ' + JSON.stringify(j));
        const first = j.results[0].cell;
        const ring = id => page.evaluate(async id => {
          await new Promise(r => requestAnimationFrame(() =>
            requestAnimationFrame(r)));
          const b = window.aqgrid.box(id);
          const cv = document.getElementById('map');
          const dpr = cv.width / parseFloat(cv.style.width);
          const rad = Math.max(3, b.size * 0.42);
          const x = Math.round((b.x + b.size / 2 + rad) * dpr);
          const y = Math.round((b.y + b.size / 2) * dpr);
          return Array.from(cv.getContext('2d').getImageData(x, y, 1, 1)
            .data).slice(0, 3);
        }, id);
        const purple = [0x8E, 0x24, 0xAA];
        assert(JSON.stringify(await ring(first)) !== JSON.stringify(purple),
          'a ring before the toggle');
        await page.check('#hotspots-toggle');
        await until(async () => JSON.stringify(await ring(first)) ===
          JSON.stringify(purple), 10, first + ' ringed');
        await until(async () => (await text(page, '#hotspots'))
          .startsWith('1. ' + first), 5, 'the list');
        /* A cell that is no hotspot stays unringed. */
        const cold = (await api(d, '/api/v1/cells?limit=100')).results
          .map(c => c.id).find(id => !j.results.some(h => h.cell === id));
        assert(JSON.stringify(await ring(cold)) !== JSON.stringify(purple),
          cold + ' ringed');
        await page.uncheck('#hotspots-toggle');
        await until(async () => JSON.stringify(await ring(first)) !==
          JSON.stringify(purple), 5, 'the ring gone');
        assert(await page.locator('#hotspots').isHidden(), 'list shown');
      });
    await res.check('a dust site is on the map and in the list, in its '
      + 'status colour, and opens its detail', async () => {
      const red = [0xD9, 0x30, 0x25];
      await until(async () => (await text(page, '#sites')).includes(
        '东区一号工地'), 10, 'the site listed');
      eq(await page.locator('#sites .site-badge').getAttribute(
        'data-status'), 'red', 'its badge');
      const px = await page.evaluate(async () => {
        await new Promise(r => requestAnimationFrame(() =>
          requestAnimationFrame(r)));
        const mk = window.aqgrid.map.markers[0];
        const b = window.aqgrid.map.markerBox(mk);
        const cv = document.getElementById('map');
        const dpr = cv.width / parseFloat(cv.style.width);
        return Array.from(cv.getContext('2d').getImageData(
          Math.round(b.x * dpr), Math.round(b.y * dpr), 1, 1).data)
          .slice(0, 3);
      });
      eq(px, red, 'the marker\'s centre');
      /* The cell under the marker is still the cell's colour. */
      eq(await pixel(page, 'r001c001'), LEVEL_RGB[1], 'r001c001 itself');
      await page.locator('#sites .site-open').click();
      await page.waitForSelector('#detail .site-head', {timeout: 10000});
      const detail = await text(page, '#detail');
      assert(detail.includes('东区一号工地') && detail.includes('Build Co'),
        'the detail: ' + detail);
      assert(detail.includes('400'), 'its PM10 in the detail: ' + detail);
    });

    await res.check('the plan panel shows the API\'s indicators', async () => {
      const want = await api(d, '/api/v1/indicators');
      await until(async () => (await text(page, '#plan-range'))
        .includes(want.to), 10, 'the plan panel filled');
      eq(await text(page, '#plan-title'), '规划指标', 'heading (zh)');
      const range = await text(page, '#plan-range');
      assert(range.includes(want.from) && range.includes(want.to) &&
        range.includes(want.days + ' 天'), 'range: ' + range);
      const table = await text(page, '#plan-table');
      assert(table.includes('≥ ' + want.good_days.target) &&
        table.includes('≤ ' + want.pm25.target) &&
        table.includes(String(want.pm25.limit)), 'targets: ' + table);
      eq(await page.locator('#plan-exceed tbody tr').count(),
        Object.keys(want.exceedances).length + 1, 'exceedance rows');
      const wantE = await api(d,
        '/api/v1/indicators?area=east&from=2026-02-01&to=2026-02-28');
      eq(wantE.area, 'east', 'the API\'s area');
      await page.selectOption('#plan-area', 'east');
      await page.fill('#plan-from', '2026-02-01');
      await page.fill('#plan-to', '2026-02-28');
      await page.click('#plan button[type=submit]');
      await until(async () => (await text(page, '#plan-range'))
        .includes('2026-02-28'), 10, 'the range asked for');
      assert((await text(page, '#plan-range')).includes(wantE.days + ' 天'),
        'days of February');
      for (const p of Object.keys(wantE.exceedances)) {
        const row = await text(page,
          '#plan-exceed tr[data-pollutant="' + p + '"]');
        assert(row.includes(String(wantE.exceedances[p].days)),
          p + ': ' + row);
      }
      await page.click('#lang');
      eq(await text(page, '#plan-title'), 'Plan indicators', 'heading (en)');
      assert((await text(page, '#plan-range')).includes('28 days'),
        'range (en)');
      await page.click('#lang');
    });

    await res.check('an area shows the warning level of a posted forecast',
      async () => {
        /* Today and the next three days in Asia/Shanghai: > 200 four
         * days with two > 300 is red by the graded standard. */
        const day = k => new Date(Date.now() + 8 * 3600e3 + k * 86400e3)
          .toISOString().slice(0, 10);
        const w = await api(d, '/api/v1/areas/east/forecast', {
          method: 'POST', headers: {'Content-Type': 'application/json',
            Authorization: 'Bearer ' + TOKEN},
          body: JSON.stringify({days: [250, 320, 310, 210].map((aqi, k) =>
            ({date: day(k), aqi}))})});
        eq(w.level, 'red', 'the API');
        await page.reload();
        await page.waitForFunction(() => window.aqgrid &&
          window.aqgrid.ready(), null, {timeout: 20000});
        await page.waitForFunction(() => {
          const r = Array.from(document.querySelectorAll('#areas tbody tr'))
            .find(x => x.textContent.includes('east'));
          return r && r.querySelector('.warn-red');
        }, null, {timeout: 10000});
        const west = await page.locator('#areas tbody tr',
          {hasText: 'west'}).innerText();
        assert(!west.includes('红色') && !/\bred\b/.test(west),
          'west has no forecast: ' + west);
      });

    await res.check('no script errors', async () => {
      eq(pageErrors, [], 'errors in the page');
    });

    /* Screenshots for a reviewer: wall screen, laptop, phone. */
    for (const [name, w, h, loc, cell] of [
      ['wall-zh', 1920, 1080, 'zh-CN', 'r000c003'],
      ['laptop-zh', 1366, 768, 'zh-CN', null],
      ['phone-en', 390, 844, 'en-US', 'r005c000']]) {
      const c2 = await browser.newContext({locale: loc,
        viewport: {width: w, height: h}});
      const p2 = await c2.newPage();
      await p2.goto(d.url + '/');
      await p2.waitForFunction(() => window.aqgrid && window.aqgrid.ready(),
        null, {timeout: 20000});
      if (cell) {
        const [x, y] = await cellPoint(p2, cell);
        await p2.mouse.click(x, y);
        await p2.waitForSelector('#detail figure.chart canvas',
          {timeout: 10000});
      }
      await p2.screenshot({path: path.join(SHOTS, name + '.png'),
        fullPage: name !== 'wall-zh'});
      await c2.close();
    }
  } catch (e) {
    res.error('setup', e);
  } finally {
    if (browser) await browser.close().catch(() => {});
    if (m) m.close();
    if (d) {
      const rc = await d.proc.stop();
      if (rc !== 0) res.error('aqgridd exit status ' + rc, d.proc.text());
    }
    if (b) await b.proc.stop();
  }
  if (res.failed + res.errors === 0)
    fs.rmSync(dir, {recursive: true, force: true});
  else
    console.log('browser: logs kept in ' + dir);
  console.log('browser: screenshots in ' + SHOTS);
  return res.summary();
}

process.exitCode = await main();
