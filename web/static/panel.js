/*
 * panel: one cell in detail -- AQI, level, primary pollutant, every
 * indicator with its IAQI and validity, exceedances, the sensors, and the
 * 48 hours of PM2.5 and O3 from the history API with the limits in force,
 * and the next 24 hours' forecast with its 80% band when the cell has one.
 * Text goes in with textContent only.
 */

import {t, indName, when, num, current} from './i18n.js';
import {getJSON} from './api.js';
import {drawChart} from './chart.js';
import {inkFor} from './levels.js';

/* Valid hours an indicator needs (STANDARDS.md 2). */
const NEED = {_1h: 1, _8h: 6, _24h: 20};

function need(ind) {
  const m = /_(1h|8h|24h)$/.exec(ind);
  return m ? NEED['_' + m[1]] : 1;
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

/* The big AQI value with its level colour, and the words beside it. */
function aqiBlock(a, levels) {
  const box = el('div', null, 'aqi');
  const v = el('div', a.value === null ? '—' : a.value, 'aqi-value');
  const lv = a.level ? levels[a.level - 1] : null;
  if (a.value !== null && lv) {
    v.style.background = lv.color;
    v.style.color = inkFor(a.level);
  } else {
    v.classList.add('unknown');
  }
  const words = el('div', null, 'aqi-words');
  words.append(el('div', a.value !== null && lv ?
    t('level') + ' ' + (current() === 'zh' ? lv.zh : lv.en) : t('aqiNA'),
  'aqi-level'));
  words.append(el('div', t('primary') + ': ' + (a.primary.length ?
    a.primary.map(indName).join(', ') : t('none'))));
  box.append(v, words);
  return box;
}

function indicatorTable(d, conc, hours, iaqi, exceeds) {
  const tbl = el('table', null, 'ind');
  const head = el('tr');
  [t('indicator'), t('value'), 'IAQI', t('validity')].forEach(h => {
    const th = el('th', h);
    th.scope = 'col';
    head.append(th);
  });
  const thead = el('thead');
  thead.append(head);
  const body = el('tbody');
  Object.keys(conc).forEach(k => {
    const tr = el('tr');
    const unit = d.units && d.units[k] ? ' ' + d.units[k].replace('ug/m3',
      'μg/m³').replace('mg/m3', 'mg/m³') : '';
    const th = el('th', indName(k));
    th.scope = 'row';
    const value = el('td', conc[k] === null ? '—' : num(conc[k]) + unit,
      'num');
    if (exceeds.indexOf(k) >= 0) {
      value.classList.add('over');
      value.append(el('span', ' ▲ ' + t('overLimit', num(d.limits &&
        d.limits[k])), 'sr-hint'));
    }
    const ok = conc[k] !== null;
    const validity = el('td', (ok ? '✓ ' + t('valid') : '✗ ' + t('invalid')) +
      ' · ' + t('hoursN', hours[k] + (ok ? '' : '/' + need(k))),
    ok ? 'valid' : 'invalid');
    tr.append(th, value, el('td', k in iaqi ? num(iaqi[k], 0) : '', 'num'),
      validity);
    body.append(tr);
  });
  tbl.append(thead, body);
  return tbl;
}

function exceedList(d, exceeds) {
  if (!exceeds.length) return el('p', t('noExceedance'), 'muted');
  const ul = el('ul', null, 'exceed');
  exceeds.forEach(k => ul.append(el('li', indName(k) + ' ' +
    num(d.concentrations[k] !== undefined ? d.concentrations[k] : null) +
    ' — ' + t('overLimit', num(d.limits && d.limits[k])))));
  return ul;
}

function sensorTable(d) {
  const tbl = el('table', null, 'sensors');
  const head = el('tr');
  [t('sensor'), t('status'), t('lastSeen')].forEach(h => {
    const th = el('th', h);
    th.scope = 'col';
    head.append(th);
  });
  const thead = el('thead');
  thead.append(head);
  const body = el('tbody');
  d.sensors.forEach(s => {
    const tr = el('tr');
    // A sensor flagged faulty shows its faults beside its status.
    const kinds = s.faults && s.faults.kinds ? s.faults.kinds : [];
    const status = kinds.length ?
      t('st_' + s.status) + ' · ' + t('fault') + ': ' + kinds.join(', ') :
      t('st_' + s.status);
    tr.append(el('td', s.id), el('td', status,
      kinds.length ? 'st-fault' : 'st-' + s.status), el('td', when(s.last)));
    body.append(tr);
  });
  tbl.append(thead, body);
  return tbl;
}

function tick(ms) {
  /* Hours as the daemon's zone wrote them: offsets come with the data. */
  const d = new Date(ms + tick.offset);
  const hh = String(d.getUTCHours()).padStart(2, '0');
  return hh === '00' ? (d.getUTCMonth() + 1) + '-' + d.getUTCDate() :
    hh + ':00';
}
tick.offset = 0;

function offsetOf(iso) {
  const m = /([+-])(\d\d):(\d\d)$/.exec(iso || '');
  return m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) *
    60e3 : 0;
}

/* The 48-hour charts under el, once the history has come. */
async function charts(box, d) {
  const to = d.hour ? Date.parse(d.hour) : Date.now();
  const from = to - 47 * 3600e3;
  let hist;
  try {
    hist = await getJSON('/api/v1/cells/' + encodeURIComponent(d.id) +
      '/history?indicators=pm25_1h,pm25_24h,o3_1h,o3_8h&limit=100&from=' +
      Math.floor(from / 1000) + '&to=' + Math.floor(to / 1000));
  } catch (e) {
    box.replaceChildren(el('p', e.status === 503 ? t('chartNoStore') :
      t('loadFailed', e.message), 'muted'));
    return;
  }
  /* The cell's forecast, when its model has one: 24 hours of it. */
  let fc = null;
  try {
    fc = await getJSON('/api/v1/cells/' + encodeURIComponent(d.id) +
      '/forecast');
    if (!fc.ready) fc = null;
  } catch (e) {
    fc = null;
  }
  const end = fc ? to + 24 * 3600e3 : to;
  tick.offset = offsetOf(d.hour);
  const rows = hist.results;
  if (!rows.length) {
    box.replaceChildren(el('p', t('chartEmpty'), 'muted'));
    return;
  }
  const pts = ind => rows.map(r => [Date.parse(r.hour),
    r.concentrations[ind] === undefined ? null : r.concentrations[ind]]);
  const lim = d.limits || {};
  const fhours = fc ? fc.hours.slice(0, 24) : [];
  /* The forecast's line starts from the last hour observed, if valid. */
  const fpts = (pol, ind) => pts(ind).slice(-1).filter(p => p[0] === to &&
    p[1] !== null).concat(fhours.map(h => [Date.parse(h.time),
    h[pol] ? h[pol].value : null]));
  const fband = (pol, color) => ({color, points: fhours.filter(h => h[pol])
    .map(h => [Date.parse(h.time), h[pol].lo, h[pol].hi])});
  const specs = [
    {title: 'PM2.5', unit: 'μg/m³', series: [
      {label: 'PM2.5 1h', color: '#1F5FBF', points: pts('pm25_1h')},
      {label: 'PM2.5 24h', color: '#6A8FCF', dash: [3, 2], width: 1.5,
        points: pts('pm25_24h')}],
    limits: lim.pm25_24h ? [{label: t('chartLimit', 'PM2.5 24h',
      lim.pm25_24h), value: lim.pm25_24h}] : [],
    bands: fc ? [fband('pm25', 'rgba(31, 95, 191, 0.15)')] : []},
    {title: 'O3', unit: 'μg/m³', series: [
      {label: 'O3 1h', color: '#00796B', points: pts('o3_1h')},
      {label: 'O3 8h', color: '#4DB6AC', dash: [3, 2], width: 1.5,
        points: pts('o3_8h')}],
    limits: [lim.o3_1h ? {label: t('chartLimit', 'O3 1h', lim.o3_1h),
      value: lim.o3_1h} : null, lim.o3_8h ? {label: t('chartLimit', 'O3 8h',
      lim.o3_8h), value: lim.o3_8h} : null].filter(x => x),
    bands: fc ? [fband('o3', 'rgba(0, 121, 107, 0.15)')] : []}
  ];
  if (fc) {
    specs[0].series.push({label: t('chartForecast', 'PM2.5'),
      color: '#1F5FBF', dash: [6, 3], width: 1.5, points: fpts('pm25',
        'pm25_1h')});
    specs[1].series.push({label: t('chartForecast', 'O3'),
      color: '#00796B', dash: [6, 3], width: 1.5, points: fpts('o3',
        'o3_1h')});
  }
  const parts = [];
  specs.forEach(spec => {
    const fig = el('figure', null, 'chart');
    const cv = el('canvas');
    let hi = null;
    spec.series[0].points.forEach(p => {
      if (p[1] !== null && (hi === null || p[1] > hi)) hi = p[1];
    });
    cv.setAttribute('role', 'img');
    cv.setAttribute('aria-label', t('chartSummary', spec.series[0].label,
      num(hi), spec.unit, spec.limits.map(l => l.value).join(', ') || '—'));
    if (fc) cv.dataset.forecast = String(fhours.length);
    fig.append(cv, el('figcaption', spec.title + ' · ' +
      t(fc ? 'chartTitleFc' : 'chartTitle')));
    parts.push([fig, cv, spec]);
  });
  box.replaceChildren(...parts.map(p => p[0]));
  parts.forEach(([, cv, spec]) => drawChart(cv, Object.assign({from: from,
    to: end, tick: tick}, spec)));
}

/*
 * Fills root with cell d.  ctx: {levels, areaName(id), onSilence(kind,
 * id, label)}.
 */
export function renderPanel(root, d, ctx) {
  const parts = [];
  const title = el('h2', d.id);
  title.id = 'panel-title';
  title.tabIndex = -1;
  parts.push(title);
  const facts = el('dl', null, 'facts');
  const fact = (k, v) => facts.append(el('dt', k), el('dd', v));
  if (d.area) fact(t('area'), ctx.areaName(d.area));
  fact(t('hour'), when(d.hour));
  fact(t('status'), t('st_' + d.status));
  parts.push(facts, aqiBlock(d.aqi, ctx.levels));
  d.aqi.notes.forEach(n => parts.push(el('p', n, 'note')));
  parts.push(indicatorTable(d, d.concentrations, d.valid_hours, d.aqi.iaqi,
    d.exceeds));
  parts.push(el('h3', t('exceedances')), exceedList(d, d.exceeds));

  const chartBox = el('div', null, 'charts');
  chartBox.append(el('p', '…', 'muted'));
  parts.push(el('h3', t('chartTitle')), chartBox);

  if (d.day) {
    parts.push(el('h3', t('daily', d.day.date)), aqiBlock(d.day.aqi,
      ctx.levels));
  }
  parts.push(el('h3', t('sensors', d.sensors_total)), sensorTable(d));

  const acts = el('div', null, 'actions');
  const b1 = el('button', t('silenceCell'));
  b1.type = 'button';
  b1.addEventListener('click', () => ctx.onSilence('cell', d.id, d.id));
  acts.append(b1);
  if (d.area) {
    const b2 = el('button', t('silenceArea'));
    b2.type = 'button';
    b2.addEventListener('click', () => ctx.onSilence('area', d.area,
      ctx.areaName(d.area)));
    acts.append(b2);
  }
  parts.push(acts);
  root.replaceChildren(...parts);
  charts(chartBox, d);
}
