/*
 * sites: the dust sites (扬尘监管) -- a marker on the map for each, in its
 * status colour (green, yellow, red; grey when inactive), a list with the
 * status, PM10 and excess over the background, and a site's detail (its
 * status changes and latest hours) when one is chosen.  Reads
 * /api/v1/sites and /api/v1/sites/{id}; a "site" event of the stream
 * refreshes it.  Text goes in with textContent only.
 */

import {current, when} from './i18n.js';
import {getJSON} from './api.js';

export const SITE_COLORS = {green: '#1E8E3E', yellow: '#F9AB00',
  red: '#D93025', inactive: '#9AA0A6'};

const WORDS = {
  zh: {title: '扬尘监管点', none: '未配置扬尘监管点', off: '告警服务未开启',
    green: '绿', yellow: '黄', red: '红', inactive: '未在施工期',
    construction: '工地', plant: '搅拌站', yard: '堆场', road: '道路',
    pm10: 'PM10 1小时', pm25: 'PM2.5 1小时', tsp: 'TSP 1小时', bg: '背景', excess: '超出背景', since: '自',
    month: '本月红色小时', episodes: '红色次数', changes: '状态变化',
    hours: '最近小时', company: '责任单位', contact: '联系人'},
  en: {title: 'Dust sites', none: 'No dust sites configured',
    off: 'Alerts are off', green: 'green', yellow: 'yellow', red: 'red',
    inactive: 'inactive', construction: 'construction site',
    plant: 'concrete plant', yard: 'yard', road: 'road', pm10: 'PM10 1h',
    pm25: 'PM2.5 1h', tsp: 'TSP 1h',
    bg: 'background', excess: 'excess', since: 'since',
    month: 'red hours this month', episodes: 'red episodes',
    changes: 'Status changes', hours: 'Latest hours',
    company: 'company', contact: 'contact'}
};

function w(key) {
  return (WORDS[current()] || WORDS.en)[key] || key;
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function num(v) {
  return v === null || v === undefined ? '—' : String(Math.round(v));
}

function colorOf(s) {
  return s.active ? SITE_COLORS[s.status] : SITE_COLORS.inactive;
}

function badge(s) {
  const b = el('span', s.active ? w(s.status) : w('inactive'), 'site-badge');
  b.style.background = colorOf(s);
  b.dataset.status = s.active ? s.status : 'inactive';
  return b;
}

export class SiteLayer {
  /* list: the <ol> of sites; status: a <p> for messages; opts: {map,
   * onSite(site) to show a site's detail}. */
  constructor(list, status, opts) {
    this.list = list;
    this.status = status;
    this.opts = opts;
    this.sites = [];
    this.busy = false;
  }

  async refresh() {
    if (this.busy) return;
    this.busy = true;
    try {
      const j = await getJSON('/api/v1/sites');
      this.sites = j.results;
      this.status.textContent = this.sites.length ? '' : w('none');
    } catch (e) {
      this.sites = [];
      this.status.textContent = e && e.status === 503 ? w('off') :
        String(e && e.message ? e.message : e);
    } finally {
      this.busy = false;
    }
    this.render();
  }

  render() {
    this.opts.map.setMarkers(this.sites.map(s => ({id: s.id, cell: s.cell,
      color: colorOf(s), label: s.name})));
    this.list.replaceChildren(...this.sites.map(s => {
      const li = el('li', null, 'site');
      li.dataset.site = s.id;
      const b = el('button', null, 'site-open');
      b.type = 'button';
      b.append(badge(s), el('span', s.name, 'site-name'),
        el('span', w(s.kind), 'muted'));
      b.addEventListener('click', () => this.opts.onSite(s.id));
      li.append(b, el('div', w('pm10') + ' ' + num(s.pm10_1h) + ' · ' +
        w('bg') + ' ' + num(s.background) + ' · ' + w('excess') + ' ' +
        num(s.excess), 'site-values'));
      return li;
    }));
  }

  /* The site whose marker is in cell id, if any. */
  inCell(id) {
    return this.sites.find(s => s.cell === id) || null;
  }

  /* A site's detail into box (the side panel). */
  async detail(id, box) {
    const s = await getJSON('/api/v1/sites/' + encodeURIComponent(id));
    const head = el('div', null, 'site-head');
    head.append(el('h2', s.name), badge(s));
    const facts = el('dl', null, 'site-facts');
    [[w('company'), s.company], [w('contact'), s.contact],
     ['', w(s.kind) + ' · ' + s.cell],
     [w('pm10'), num(s.pm10_1h) + ' µg/m³'], [w('bg'), num(s.background)],
     [w('excess'), num(s.excess)],
     // PM2.5 and TSP only when the site's monitor measures them.
     ...(s.pm25_1h != null ? [[w('pm25'), num(s.pm25_1h) + ' µg/m³']] : []),
     ...(s.tsp_1h != null ? [[w('tsp'), num(s.tsp_1h) + ' µg/m³']] : []),
     [w('since'), s.since ? when(s.since) : '—'],
     [w('month'), s.red_hours], [w('episodes'), s.episodes]]
      .forEach(([k, v]) => facts.append(el('dt', k), el('dd', v)));
    const ch = el('ol', null, 'site-changes');
    s.changes.forEach(c => {
      const li = el('li');
      li.append(el('time', when(c.hour)), ' ',
        el('span', w(c.from) + ' → ' + w(c.status)), ' ',
        el('span', w('pm10') + ' ' + num(c.pm10_1h) + ', ' + w('bg') + ' ' +
          num(c.background), 'muted'));
      ch.append(li);
    });
    const hours = el('ol', null, 'site-hours');
    s.hours.slice(0, 12).forEach(h => {
      hours.append(el('li', when(h.hour) + ': ' + num(h.pm10_1h) + ' / ' +
        num(h.background)));
    });
    box.replaceChildren(head, facts, el('h3', w('changes')), ch,
      el('h3', w('hours')), hours);
    return s;
  }
}

export function sitesTitle() {
  return w('title');
}
