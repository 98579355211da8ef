/*
 * bench: the dashboard with 10,000 cells in headless chromium.
 *
 * 1. Time to the first full map: a real aqgridd with a 100 x 100 grid (20
 *    areas), every cell fed an hour through a real mosquitto; from the
 *    start of navigation to the end of the first frame that drew every
 *    cell (status, cell list, areas, layout, paint).  Median of RUNS.
 * 2. Frame time while 10,000 cells update once per second: the page is
 *    served through a small proxy here that passes everything to the
 *    daemon but the event stream, which it makes itself -- every second
 *    a "cell" event for each of the 10,000 cells, in the daemon's format
 *    (a daemon changes AQIs only as hours complete, far more slowly).
 *    Over SECONDS s: the intervals between animation frames and the time
 *    the map's drawing takes per frame, and long tasks (> 50 ms).
 *
 * Figures only: nothing here passes or fails on them.
 */

import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import {createRequire} from 'node:module';
import {TOP, broker, daemon, mqtt, tmpdir, until} from './lib.mjs';

const require = createRequire(import.meta.url);
const {chromium} = require('playwright-core');

const N = 100;            /* rows and columns */
const RUNS = Number(process.env.RUNS || 5);
const SECONDS = Number(process.env.SECONDS || 15);

const cellId = (r, c) => 'r' + String(r).padStart(3, '0') + 'c' +
  String(c).padStart(3, '0');

function config(dir, port) {
  let areas = '';
  for (let a = 0; a < 4; a++)
    for (let b = 0; b < 5; b++)
      areas += `[area a${a}${b}]\nname = 区${a * 5 + b + 1}\n` +
        `name_en = Area ${a * 5 + b + 1}\n` +
        `cells = ${cellId(a * 25, b * 20)}-${cellId(a * 25 + 24, b * 20 + 19)}\n`;
  const conf = path.join(dir, 'aqgridd.conf');
  fs.writeFileSync(conf, `[mqtt]\nhost = 127.0.0.1\nport = ${port}\n` +
    `client_id = aqgridd-bench\nsubscribe = aq/b/+ json 1\n[http]\n` +
    `listen = 127.0.0.1:0\nweb_root = ${path.join(TOP, 'web')}\n` +
    `[grid]\norigin = 40.0 116.0\ncell_size = 500\nrows = ${N}\n` +
    `cols = ${N}\n${areas}` +
    /* A rule, so the alert service (and its event stream) is on. */
    `[rule high]\nwhen = pm25_1h > 500\nseverity = warning\n`);
  return conf;
}

async function feed(m) {
  const H = Math.floor(Date.now() / 3600e3) * 3600;
  let batch = [];
  for (let r = 0; r < N; r++) {
    for (let c = 0; c < N; c++) {
      const id = cellId(r, c);
      const pm = 10 + ((r * 7 + c * 13) % 160);
      const s = 's-' + id;
      batch.push(m.publish('aq/b/' + s, JSON.stringify({sensor: s,
        ts: H - 7200, period: 3600, cell: id, pm25: pm, pm10: 40, so2: 5,
        no2: 20, co: 0.4, o3: 60})));
      batch.push(m.publish('aq/b/' + s, JSON.stringify({sensor: s,
        ts: H - 3600, period: 60, cell: id, pm25: pm})));
      if (batch.length >= 2000) {
        await Promise.all(batch);
        batch = [];
      }
    }
  }
  await Promise.all(batch);
}

const LEVEL_OF = aqi => (aqi <= 50 ? 1 : aqi <= 100 ? 2 : aqi <= 150 ? 3 :
  aqi <= 200 ? 4 : aqi <= 300 ? 5 : 6);

/* The proxy: the daemon's answers, but a stream of our own. */
function proxy(target) {
  let id = 1e6;
  const srv = http.createServer((req, res) => {
    if (req.url.startsWith('/api/v1/events')) {
      res.writeHead(200, {'Content-Type': 'text/event-stream',
        'Cache-Control': 'no-cache'});
      res.write(': bench\nretry: 3000\n\n');
      let tick = 0;
      const t = setInterval(() => {
        tick++;
        const hour = Math.floor(Date.now() / 3600e3) * 3600 - 3600;
        const out = [];
        for (let r = 0; r < N; r++) {
          for (let c = 0; c < N; c++) {
            const aqi = 20 + ((r * 7 + c * 13 + tick * 37) % 300);
            out.push('id: ' + (id++) + '\nevent: cell\ndata: ' +
              JSON.stringify({cell: cellId(r, c), hour, aqi,
                level: LEVEL_OF(aqi)}) + '\n\n');
          }
        }
        res.write(out.join(''));
      }, 1000);
      req.on('close', () => clearInterval(t));
      return;
    }
    const up = http.request(target + req.url, {method: req.method,
      headers: req.headers}, r => {
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  return new Promise(res => srv.listen(0, '127.0.0.1', () => res(srv)));
}

function stats(xs) {
  const s = xs.slice().sort((a, b) => a - b);
  const q = p => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return {n: s.length, median: q(0.5), p95: q(0.95), max: s[s.length - 1]};
}

const f1 = x => x.toFixed(1);

async function main() {
  const dir = tmpdir('bench');
  const b = await broker(dir);
  const d = await daemon(config(dir, b.port), path.join(dir, 'aqgridd.log'));
  let browser = null, srv = null;
  try {
    const m = await mqtt(b.port, 'bench');
    const t0 = Date.now();
    await feed(m);
    m.close();
    await until(async () => {
      const r = await fetch(d.url + '/api/v1/cells?limit=1&sort=aqi');
      const j = await r.json();
      const last = await (await fetch(d.url +
        '/api/v1/cells/' + cellId(N - 1, N - 1))).json();
      return j.results[0].aqi !== null && last.aqi.value !== null;
    }, 120, 'the grid fed');
    console.log('bench: 10,000 cells fed in ' + ((Date.now() - t0) / 1000)
      .toFixed(1) + ' s');
    browser = await chromium.launch({executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox']});

    const first = [];
    for (let k = 0; k < RUNS; k++) {
      const ctx = await browser.newContext({viewport: {width: 1920,
        height: 1080}});
      const page = await ctx.newPage();
      await page.goto(d.url + '/');
      await page.waitForFunction(() => window.aqgrid && window.aqgrid.ready(),
        null, {timeout: 60000, polling: 50});
      const r = await page.evaluate(() => ({t: window.aqgrid.map.stats
        .firstFull, n: window.aqgrid.map.cells.length}));
      if (r.n !== N * N) throw new Error('map has ' + r.n + ' cells');
      first.push(r.t);
      if (k === 0) {
        const shots = path.join(path.dirname(path.resolve(TOP,
          process.env.AQGRIDD || 'build/aqgridd')), 'screenshots');
        fs.mkdirSync(shots, {recursive: true});
        await page.screenshot({path: path.join(shots, 'bench-10000.png')});
      }
      await ctx.close();
    }
    const fs1 = stats(first);
    console.log('bench: time to first full map, 10,000 cells (1920x1080): ' +
      'median ' + f1(fs1.median) + ' ms, max ' + f1(fs1.max) + ' ms (' +
      RUNS + ' runs: ' + first.map(f1).join(', ') + ')');

    srv = await proxy(d.url);
    const url = 'http://127.0.0.1:' + srv.address().port + '/';
    const ctx = await browser.newContext({viewport: {width: 1920,
      height: 1080}});
    const page = await ctx.newPage();
    await page.goto(url);
    await page.waitForFunction(() => window.aqgrid && window.aqgrid.ready(),
      null, {timeout: 60000});
    await page.waitForFunction(() => document.getElementById('conn')
      .classList.contains('live'), null, {timeout: 20000});
    await page.waitForTimeout(2000);
    const r = await page.evaluate(secs => new Promise(done => {
      const map = window.aqgrid.map;
      const gaps = [], longs = [];
      map.stats.flushes = [];
      map.keepStats = true;
      const po = new PerformanceObserver(l => l.getEntries().forEach(e =>
        longs.push(e.duration)));
      try {
        po.observe({entryTypes: ['longtask']});
      } catch (e) {
        /* not supported: no long tasks listed */
      }
      let last = performance.now();
      const end = last + secs * 1000;
      const frame = now => {
        gaps.push(now - last);
        last = now;
        if (now < end) {
          requestAnimationFrame(frame);
          return;
        }
        po.disconnect();
        map.keepStats = false;
        done({gaps, flushes: map.stats.flushes.slice(), longs});
      };
      requestAnimationFrame(frame);
    }), SECONDS);
    const g = stats(r.gaps), fl = stats(r.flushes);
    console.log('bench: 10,000 cells updated every second for ' + SECONDS +
      ' s: frame interval median ' + f1(g.median) + ' ms, p95 ' +
      f1(g.p95) + ' ms, max ' + f1(g.max) + ' ms (' + g.n + ' frames); ' +
      'map drawing per updating frame median ' + f1(fl.median) + ' ms, p95 ' +
      f1(fl.p95) + ' ms (' + fl.n + ' frames with changes); long tasks ' +
      r.longs.length + (r.longs.length ? ', median ' +
      f1(stats(r.longs).median) + ' ms' : ''));
    await ctx.close();
  } finally {
    if (browser) await browser.close();
    if (srv) srv.close();
    await d.proc.stop();
    await b.proc.stop();
    fs.rmSync(dir, {recursive: true, force: true});
  }
}

await main();
