/*
 * aqgrid dashboard: one map of the grid, live from the daemon's event
 * stream, a cell's panel, the areas and the alerts.  Plain modules, no
 * libraries, nothing from outside the daemon (see the CSP); text goes in
 * with textContent only.
 *
 * Live updates: "cell" events are queued and applied once per animation
 * frame, whatever their number; alert, ack and silence events refetch the
 * alerts.  The cell list and the areas are read again every minute (the
 * stream says nothing of sensors going offline or of the pollutant
 * values), and every 15 s while there is no stream.
 */

import * as i18n from './i18n.js';
import {t} from './i18n.js';
import {getJSON, postJSON, setPrompt} from './api.js';
import {connect} from './live.js';
import {GridMap} from './map.js';
import {levelsFor, SCALES, RAMP_STEPS} from './levels.js';
import {renderPanel} from './panel.js';
import {AreaTable} from './areas.js';
import {AlertList} from './alerts.js';
import {HotspotOverlay} from './hotspots.js';
import {SiteLayer} from './sites.js';
import {PlanPanel} from './indicators.js';

const RECONCILE_MS = 60000;
const POLL_MS = 15000;
const ALERTS_MS = 30000;

const $ = id => document.getElementById(id);

const state = {
  standard: 'hj633-2026',
  levels: levelsFor('hj633-2026'),
  areas: [],
  latest: null,     /* ISO of the latest hour of any cell */
  latestMs: 0,
  selected: null,   /* cell id in the panel */
  conn: 'connecting',
  connDetail: 0,
  queue: new Map(), /* cell id -> {aqi, level, hour}: this frame's events */
  frame: 0,
  stream: null,
  polling: null,
  loaded: false
};

const map = new GridMap($('map'), {onDraw: () => {}});
const hotspots = new HotspotOverlay($('hotspots-toggle'), $('hotspots'), map);
const planPanel = new PlanPanel($('plan'));
const areaTable = new AreaTable($('areas'), {
  levels: () => state.levels,
  onCell: id => openCell(id, true)
});
const alertList = new AlertList($('alerts'), $('alerts-status'), {
  onCell: id => openCell(id, true),
  onSilence: (kind, id, label, area) => silenceDialog(kind, id, label, area),
  areaName: id => areaName(id),
  say: msg => say(msg)
});

const siteLayer = new SiteLayer($('sites'), $('sites-status'), {
  map: map,
  onSite: id => openSite(id)
});

/* A dust site's detail in the side panel. */
async function openSite(id) {
  state.selected = null;
  showSeq++;
  map.select(-1);
  try {
    await siteLayer.detail(id, $('detail'));
    $('panel').hidden = false;
  } catch (e) {
    say(t('loadFailed', e.message));
  }
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function areaName(id) {
  const a = state.areas.find(x => x.id === id);
  if (!a) return id || '—';
  return (i18n.current() === 'zh' ? a.name : a.name_en || a.name) || id;
}

let sayTimer = 0;
function say(msg) {
  $('say').textContent = msg;
  $('say').classList.add('show');
  clearTimeout(sayTimer);
  sayTimer = setTimeout(() => $('say').classList.remove('show'), 6000);
}

/* ---- The legend ---- */

function swatch(cls, color) {
  const s = el('span', null, 'swatch ' + (cls || ''));
  if (color) s.style.background = color;
  s.setAttribute('aria-hidden', 'true');
  return s;
}

function renderLegend() {
  const box = $('legend');
  const mode = $('mode').value;
  const items = [];
  if (mode === 'aqi') {
    state.levels.forEach(lv => {
      const li = el('span', null, 'item');
      li.append(swatch('', lv.color), el('span', (i18n.current() === 'zh' ?
        lv.zh : lv.en) + ' (' + lv.from + (lv.to ? '–' + lv.to : '+') + ')'));
      items.push(li);
    });
  } else {
    const sc = SCALES[mode];
    const li = el('span', null, 'item ramp-item');
    const bar = el('span', null, 'ramp');
    bar.setAttribute('aria-hidden', 'true');
    bar.style.background = 'linear-gradient(to right, ' +
      RAMP_STEPS.filter((_, k) => k % 9 === 0 || k === 63).join(', ') + ')';
    li.append(el('span', sc.label + ' 0'), bar, el('span', '≥ ' + sc.max +
      ' ' + sc.unit));
    items.push(li);
  }
  const unk = el('span', null, 'item');
  unk.append(swatch('unknown'), el('span', t('unknown')));
  const off = el('span', null, 'item');
  off.append(swatch('offline'), el('span', t('offline')));
  const line = el('span', null, 'item');
  line.append(swatch('outline'), el('span', t('areaOutline')));
  items.push(unk, off, line);
  box.replaceChildren(...items);
}

/* ---- Header: connection and latest hour ---- */

function renderConn() {
  const c = $('conn');
  c.className = 'conn ' + state.conn;
  const text = {
    connecting: t('connConnecting'),
    live: t('connLive'),
    retry: t('connRetry', Math.round(state.connDetail / 1000)),
    unavailable: t('connPolling', POLL_MS / 1000),
    auth: t('connAuth')
  }[state.conn] || state.conn;
  $('conn-text').textContent = text;
}

function noteHour(iso, ms) {
  if (!iso || ms <= state.latestMs) return;
  state.latestMs = ms;
  state.latest = iso;
  $('hour').textContent = i18n.when(iso);
  $('hour').setAttribute('datetime', iso);
}

/* An hour's end (Unix s) from an event, as the API writes it. */
function isoOf(sec) {
  const off = state.latest ? /([+-]\d\d:\d\d|Z)$/.exec(state.latest) : null;
  const z = off ? off[1] : 'Z';
  const m = z === 'Z' ? 0 : (z[0] === '-' ? -1 : 1) *
    (Number(z.slice(1, 3)) * 60 + Number(z.slice(4, 6)));
  const d = new Date(sec * 1000 + m * 60e3);
  return d.toISOString().slice(0, 19) + (z === 'Z' ? 'Z' : z);
}

function renderSummary() {
  let known = 0, unknown = 0, off = 0;
  for (const c of map.cells) {
    if (c.status === 'offline') off++;
    else if (c.aqi === null || c.aqi === undefined) unknown++;
    else known++;
  }
  $('summary').textContent = t('summary', map.cells.length, known, unknown,
    off);
}

/* ---- Loading ---- */

async function loadCells() {
  let list = [];
  let url = '/api/v1/cells?limit=10000';
  for (;;) {
    const j = await getJSON(url);
    list = list.concat(j.results);
    if (!j.meta.next) break;
    url = '/api/v1/cells?limit=10000&cursor=' + encodeURIComponent(j.meta.next);
  }
  return list;
}

function latestOf(list) {
  let best = null, bestMs = 0;
  for (const c of list) {
    if (!c.hour) continue;
    const ms = Date.parse(c.hour);
    if (ms > bestMs) {
      bestMs = ms;
      best = c.hour;
    }
  }
  return [best, bestMs];
}

async function reload(first) {
  try {
    const [list, areas] = await Promise.all([loadCells(),
      getJSON('/api/v1/areas')]);
    state.areas = areas.results;
    map.setAreas(state.areas);
    if (first) map.setCells(list);
    else map.refreshCells(list);
    const [iso, ms] = latestOf(list);
    noteHour(iso, ms);
    areaTable.set(state.areas);
    areaTable.loadExceedances(state.latest);
    planPanel.setAreas(state.areas);
    planPanel.load();
    renderSummary();
    state.loaded = true;
    if (state.selected) showCell(state.selected, false);
  } catch (e) {
    $('summary').textContent = t('loadFailed', e.message);
    if (e.status === 401) {
      state.conn = 'auth';
      renderConn();
    }
  }
}

/* ---- Live ---- */

function onEvent(ev) {
  if (ev.type === 'cell') {
    state.queue.set(ev.data.cell, ev.data);
    if (!state.frame) state.frame = requestAnimationFrame(applyQueue);
  } else if (ev.type === 'alert' || ev.type === 'ack' ||
             ev.type === 'silence') {
    alertSoon();
  } else if (ev.type === 'site') {
    siteLayer.refresh();
  } else if (ev.type === 'reset') {
    reload(false);
    alertSoon();
    siteLayer.refresh();
  }
}

/* One frame's cell events, applied together. */
function applyQueue() {
  state.frame = 0;
  let hourMax = 0;
  let touched = false;
  for (const [id, d] of state.queue) {
    if (map.update(id, d.aqi, d.level)) touched = true;
    if (d.hour > hourMax) hourMax = d.hour;
    if (id === state.selected) panelSoon();
  }
  state.queue.clear();
  if (hourMax && hourMax * 1000 > state.latestMs)
    noteHour(isoOf(hourMax), hourMax * 1000);
  if (touched) summarySoon();
}

let summaryTimer = 0;
function summarySoon() {
  if (!summaryTimer) summaryTimer = setTimeout(() => {
    summaryTimer = 0;
    renderSummary();
  }, 500);
}

let alertTimer = 0;
function alertSoon() {
  clearTimeout(alertTimer);
  alertTimer = setTimeout(() => alertList.refresh(), 200);
}

let panelTimer = 0;
function panelSoon() {
  clearTimeout(panelTimer);
  panelTimer = setTimeout(() => {
    if (state.selected) showCell(state.selected, false);
  }, 1000);
}

function onState(s, detail) {
  const was = state.conn;
  state.conn = s;
  state.connDetail = detail || 0;
  renderConn();
  /* Without a stream, poll; back on it, catch up once. */
  if (s === 'unavailable' || s === 'auth') {
    if (!state.polling) state.polling = setInterval(() => {
      reload(false);
      alertList.refresh();
    }, POLL_MS);
  } else if (s === 'live') {
    if (state.polling) {
      clearInterval(state.polling);
      state.polling = null;
    }
    if (was !== 'live' && was !== 'connecting' && state.loaded) {
      reload(false);
      alertList.refresh();
    }
  }
}

/* ---- The panel ---- */

let showSeq = 0;
async function showCell(id, focus) {
  const seq = ++showSeq;
  let d;
  try {
    d = await getJSON('/api/v1/cells/' + encodeURIComponent(id));
  } catch (e) {
    say(e.status === 404 ? t('noSuchCell', id) : t('loadFailed', e.message));
    return;
  }
  if (seq !== showSeq || state.selected !== id) return;
  const panel = $('panel');
  renderPanel($('detail'), d, {
    levels: state.levels,
    areaName: areaName,
    onSilence: (kind, x, label) => silenceDialog(kind, x, label,
      kind === 'cell' ? d.area : null)
  });
  panel.hidden = false;
  if (focus) $('panel-title').focus();
}

function openCell(id, focus) {
  const c = map.cell(id);
  if (!c) {
    say(t('noSuchCell', id));
    return;
  }
  state.selected = id;
  const k = map.byId.get(id);
  map.select(k);
  map.setFocus(k);
  showCell(id, focus);
}

function closePanel() {
  state.selected = null;
  showSeq++;
  map.select(-1);
  $('panel').hidden = true;
  $('map').focus();
}

/* ---- Dialogs: token and silence ---- */

function tokenPrompt(retry) {
  const dlg = $('token-dialog');
  $('token-bad').hidden = !retry;
  $('token-input').value = '';
  return new Promise(resolve => {
    const done = () => {
      dlg.removeEventListener('close', done);
      const v = $('token-input').value.trim();
      resolve(dlg.returnValue === 'ok' && v ? v : null);
    };
    dlg.addEventListener('close', done);
    dlg.returnValue = '';
    dlg.showModal();
    $('token-input').focus();
  });
}

let silenceTarget = null;
function silenceDialog(kind, id, label, area) {
  const dlg = $('silence-dialog');
  silenceTarget = {cell: kind === 'cell' ? id : null,
    area: kind === 'area' ? id : area || null};
  $('sil-cell').disabled = !silenceTarget.cell;
  $('sil-area').disabled = !silenceTarget.area;
  $('sil-cell-text').textContent = t('findCell') + ' ' +
    (silenceTarget.cell || '—');
  $('sil-area-text').textContent = t('area') + ' ' +
    (silenceTarget.area ? areaName(silenceTarget.area) : '—');
  (kind === 'cell' ? $('sil-cell') : $('sil-area')).checked = true;
  $('sil-comment').value = '';
  dlg.returnValue = '';
  dlg.showModal();
}

async function createSilence() {
  const kind = $('sil-cell').checked ? 'cell' : 'area';
  const id = silenceTarget[kind];
  const hours = Number($('sil-hours').value);
  const ends = Math.floor(Date.now() / 1000) + hours * 3600;
  try {
    await postJSON('/api/v1/silences', {
      matchers: kind + '=' + id,
      ends_at: ends,
      comment: $('sil-comment').value || (i18n.current() === 'zh' ?
        '仪表盘静默' : 'silenced on the dashboard')
    });
    say(t('silenceDone', kind === 'cell' ? id : areaName(id),
      i18n.when(new Date(ends * 1000 - new Date().getTimezoneOffset() *
        60e3).toISOString())));
    alertList.refresh();
  } catch (e) {
    if (e.status !== 0) say(t('silenceFailed', e.message));
  }
}

/* ---- Words ---- */

function applyLang() {
  i18n.apply(document);
  const zh = i18n.current() === 'zh';
  Array.from($('sil-hours').options).forEach(o => {
    o.textContent = o.value === '1' ? t('hours1') : t('hoursN2', o.value);
  });
  map.setLang(i18n.current());
  renderLegend();
  renderConn();
  renderSummary();
  areaTable.render();
  alertList.render();
  siteLayer.render();
  planPanel.render();
  if (state.selected) showCell(state.selected, false);
  $('lang').setAttribute('lang', zh ? 'en' : 'zh-CN');
}

/* ---- Events of the page ---- */

function wire() {
  const canvas = $('map');
  canvas.addEventListener('click', ev => {
    const r = canvas.getBoundingClientRect();
    const site = map.markerAt(ev.clientX - r.left, ev.clientY - r.top);
    if (site) {
      openSite(site.id);
      return;
    }
    const k = map.indexAt(ev.clientX - r.left, ev.clientY - r.top);
    if (k >= 0) openCell(map.cells[k].id, false);
  });
  canvas.addEventListener('keydown', ev => {
    const moves = {ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1],
      ArrowDown: [0, 1]};
    let k = map.focus;
    if (moves[ev.key]) {
      k = map.step(k, moves[ev.key][0], moves[ev.key][1]);
    } else if (ev.key === 'Home') {
      k = 0;
    } else if (ev.key === 'End') {
      k = map.cells.length - 1;
    } else if ((ev.key === 'Enter' || ev.key === ' ') && k >= 0) {
      ev.preventDefault();
      openCell(map.cells[k].id, false);
      return;
    } else if (ev.key === 'Escape' && state.selected) {
      closePanel();
      return;
    } else {
      return;
    }
    ev.preventDefault();
    if (k < 0) return;
    map.setFocus(k);
    const c = map.cells[k];
    const lv = c.level ? state.levels[c.level - 1] : null;
    $('announce').textContent = c.id + ', ' + (c.status === 'offline' ?
      t('offline') : c.aqi === null ? t('unknown') : 'AQI ' + c.aqi + ', ' +
      (i18n.current() === 'zh' ? lv.zh : lv.en));
  });
  canvas.addEventListener('focus', () => {
    if (map.focus < 0 && map.cells.length) map.setFocus(0);
    map.request();
  });
  canvas.addEventListener('blur', () => map.request());
  $('close').addEventListener('click', closePanel);
  $('panel').addEventListener('keydown', ev => {
    if (ev.key === 'Escape') closePanel();
  });
  $('mode').addEventListener('change', () => {
    map.setMode($('mode').value);
    renderLegend();
  });
  $('find').addEventListener('submit', ev => {
    ev.preventDefault();
    const id = $('find-cell').value.trim().toLowerCase();
    if (id) openCell(id, true);
  });
  $('lang').addEventListener('click', () => {
    i18n.set(i18n.current() === 'zh' ? 'en' : 'zh');
    applyLang();
    hotspots.render();
  });
  $('token-cancel').addEventListener('click', () =>
    $('token-dialog').close('cancel'));
  $('sil-cancel').addEventListener('click', () =>
    $('silence-dialog').close('cancel'));
  $('silence-dialog').addEventListener('close', () => {
    if ($('silence-dialog').returnValue === 'ok') createSilence();
  });
  let resizeFrame = 0;
  new ResizeObserver(() => {
    if (resizeFrame) return;
    resizeFrame = requestAnimationFrame(() => {
      resizeFrame = 0;
      if (map.cells.length) map.layout();
    });
  }).observe($('map-wrap'));
}

async function start() {
  i18n.set(i18n.current());
  setPrompt(tokenPrompt);
  wire();
  try {
    const st = await getJSON('/api/v1/status');
    state.standard = st.standard.aqi;
    state.levels = levelsFor(state.standard);
    map.setLevels(state.levels);
  } catch (e) {
    map.setLevels(state.levels);
  }
  applyLang();
  await reload(true);
  alertList.refresh();
  siteLayer.refresh();
  state.stream = connect(onEvent, onState);
  setInterval(() => {
    if (!state.polling) reload(false);
  }, RECONCILE_MS);
  setInterval(() => alertList.refresh(), ALERTS_MS);
  setInterval(() => siteLayer.refresh(), ALERTS_MS);
}

/* For the browser tests and the benchmark: the map's geometry and stats. */
window.aqgrid = {
  map: map,
  box: id => map.box(id),
  sites: siteLayer,
  state: state,
  ready: () => state.loaded && map.stats.firstFull !== null
};

start();
