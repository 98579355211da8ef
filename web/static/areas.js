/*
 * areas: the table of areas -- worst AQI, mean PM2.5 and O3, cells per
 * level, hours today with a cell over a GB 3095 limit, the heavy-pollution
 * warning level from the forecasts -- sortable by any
 * column with buttons in the headers (aria-sort tells which).
 */

import {t, num, current} from './i18n.js';
import {getJSON} from './api.js';
import {inkFor} from './levels.js';

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

/* Sort keys; null values sort last whichever the direction. */
const COLS = [
  {key: 'name', label: 'colArea', get: (a, lang) =>
    (lang === 'zh' ? a.name : a.name_en || a.name) || a.id, text: true},
  {key: 'cells', label: 'colCells', get: a => a.cells},
  {key: 'worst', label: 'colWorst', get: a => (a.worst ? a.worst.aqi : null)},
  {key: 'pm25', label: 'colPm25', get: a => a.mean.pm25_1h},
  {key: 'o3', label: 'colO3', get: a => a.mean.o3_1h},
  {key: 'levels', label: 'colLevels', get: a =>
    [3, 4, 5, 6].reduce((n, l) => n + a.levels[l], 0)},
  {key: 'exceed', label: 'colExceed', get: a => a.exceedHours},
  {key: 'warning', label: 'colWarning', get: a => a.warnRank}
];

/* Heavy-pollution warning levels (GET /api/v1/areas/{id}/warning). */
const WARN = {none: [0, null], blue: [1, '#1E63D0'], yellow: [2, '#F2C200'],
  orange: [3, '#F57C00'], red: [4, '#D32F2F']};

/* The warning level as a coloured chip, with what it came from. */
function warnCell(w) {
  const td = el('td', null, 'warning');
  if (!w || !WARN[w.level]) {
    td.textContent = '—';
    return td;
  }
  const s = el('span', t('warn_' + w.level), 'lvchip warn-' + w.level);
  if (WARN[w.level][1]) {
    s.style.background = WARN[w.level][1];
    s.style.color = w.level === 'yellow' ? '#1D2329' : '#FFFFFF';
  }
  if (w.source !== 'none') s.title = t('warnSource', t('src_' + w.source));
  td.append(s);
  return td;
}

export class AreaTable {
  constructor(table, opts) {
    this.table = table;
    this.opts = opts;
    this.areas = [];
    this.sort = {key: 'worst', dir: -1};
    this.exceed = new Map();  /* area id -> hours today */
    this.exceedDay = null;
    this.warn = new Map();    /* area id -> warning answer */
  }

  set(areas) {
    this.areas = areas;
    this.render();
  }

  /*
   * Hours of today (the latest hour's local date) in which any cell of
   * the area was over a limit, from the area history; fetched again when
   * the hour changes.  Four requests at a time.
   */
  async loadExceedances(latestIso) {
    if (!latestIso) return;
    const day = latestIso.slice(0, 10);
    const key = latestIso;
    if (this.exceedDay === key) return;
    this.exceedDay = key;
    const ids = this.areas.map(a => a.id);
    const next = async () => {
      while (ids.length) {
        const id = ids.shift();
        try {
          const h = await getJSON('/api/v1/areas/' + encodeURIComponent(id) +
            '/history?indicators=pm25_1h&limit=48&from=' + day + '&to=' + day);
          this.exceed.set(id, h.results.filter(r => r.exceeding > 0).length);
        } catch (e) {
          this.exceed.set(id, null);
        }
      }
    };
    await Promise.all([next(), next(), next(), next()]);
    await this.loadWarnings();
    this.render();
  }

  /* Each area's warning level, two requests at a time. */
  async loadWarnings() {
    const ids = this.areas.map(a => a.id);
    const next = async () => {
      while (ids.length) {
        const id = ids.shift();
        try {
          this.warn.set(id, await getJSON('/api/v1/areas/' +
            encodeURIComponent(id) + '/warning'));
        } catch (e) {
          this.warn.delete(id);
        }
      }
    };
    await Promise.all([next(), next()]);
  }

  render() {
    const lang = current();
    const levels = this.opts.levels();
    const thead = this.table.tHead;
    const tbody = this.table.tBodies[0];
    const tr = el('tr');
    COLS.forEach(c => {
      const th = el('th');
      th.scope = 'col';
      const b = el('button', t(c.label), 'sort');
      b.type = 'button';
      b.setAttribute('aria-label', t('sortBy', t(c.label)));
      if (this.sort.key === c.key) {
        th.setAttribute('aria-sort', this.sort.dir > 0 ? 'ascending' :
          'descending');
        b.append(el('span', this.sort.dir > 0 ? ' ▲' : ' ▼', 'arrow'));
      }
      b.addEventListener('click', () => {
        this.sort = this.sort.key === c.key ?
          {key: c.key, dir: -this.sort.dir} :
          {key: c.key, dir: c.text ? 1 : -1};
        this.render();
        const again = this.table.querySelector('th[aria-sort] button');
        if (again) again.focus();
      });
      th.append(b);
      if (!c.text) th.className = 'num';
      tr.append(th);
    });
    thead.replaceChildren(tr);

    const col = COLS.find(c => c.key === this.sort.key);
    const rows = this.areas.map(a => {
      const w = this.warn.get(a.id);
      return Object.assign({}, a, {exceedHours: this.exceed.has(a.id) ?
        this.exceed.get(a.id) : null, warning: w || null,
      warnRank: w && WARN[w.level] ? WARN[w.level][0] : null});
    });
    rows.sort((a, b) => {
      const x = col.get(a, lang), y = col.get(b, lang);
      if (x === null || x === undefined) return y === null ||
        y === undefined ? 0 : 1;
      if (y === null || y === undefined) return -1;
      const c = col.text ? String(x).localeCompare(String(y), lang) :
        x - y;
      return c * this.sort.dir || a.id.localeCompare(b.id);
    });
    tbody.replaceChildren(...rows.map(a => {
      const r = el('tr');
      const name = el('th');
      name.scope = 'row';
      const nm = lang === 'zh' ? a.name : a.name_en || a.name;
      name.append(el('span', nm || a.id));
      if (nm !== a.id) name.append(el('span', ' ' + a.id, 'muted small'));
      const worst = el('td', null, 'num');
      if (a.worst) {
        const chip = el('button', a.worst.aqi, 'chip');
        chip.type = 'button';
        const lv = levels[a.worst.level - 1];
        if (lv) {
          chip.style.background = lv.color;
          chip.style.color = inkFor(a.worst.level);
        }
        chip.setAttribute('aria-label', t('showCell', a.worst.cell) +
          ' (AQI ' + a.worst.aqi + ')');
        chip.addEventListener('click', () => this.opts.onCell(a.worst.cell));
        worst.append(chip, el('span', ' ' + a.worst.cell, 'muted small'));
      } else {
        worst.textContent = '—';
      }
      const lvls = el('td', null, 'levels');
      for (let l = 1; l <= 6; l++) {
        if (!a.levels[l]) continue;
        const lv = levels[l - 1];
        const s = el('span', lv.roman + ' ' + a.levels[l], 'lvchip');
        s.style.background = lv.color;
        s.style.color = inkFor(l);
        s.title = lang === 'zh' ? lv.zh : lv.en;
        lvls.append(s);
      }
      if (a.levels.unknown)
        lvls.append(el('span', t('levelsUnknown', a.levels.unknown),
          'lvchip unknown'));
      r.append(name, el('td', a.cells, 'num'), worst,
        el('td', num(a.mean.pm25_1h), 'num'), el('td', num(a.mean.o3_1h),
          'num'), lvls, el('td', a.exceedHours === null ? '—' :
          a.exceedHours, 'num'), warnCell(a.warning));
      return r;
    }));
  }
}
