/*
 * indicators: the district plan's panel -- for the grid or an area and a
 * range of dates (default: the year to date), the good-days ratio, the
 * PM2.5 mean and the O3 MDA8 90th percentile against their targets and
 * the GB 3095 limits, with whether the annual validity rule holds, and
 * the exceedance days per pollutant (GET /api/v1/indicators).  Its words
 * live here, so the shared word table stays untouched.
 */

import {current} from './i18n.js';
import {getJSON} from './api.js';

const WORDS = {
  title: ['规划指标', 'Plan indicators'],
  scope: ['范围', 'Scope'],
  grid: ['全网格', 'Whole grid'],
  from: ['起', 'From'],
  to: ['止', 'To'],
  show: ['计算', 'Compute'],
  ytd: ['今年至昨日', 'Year to date'],
  range: ['{0} 至 {1}，共 {2} 天，{3} 天有数据',
    '{0} to {1}: {2} days, {3} with data'],
  indicator: ['指标', 'Indicator'],
  value: ['数值', 'Value'],
  target: ['目标', 'Target'],
  limit: ['标准限值', 'Limit'],
  validity: ['有效性', 'Validity'],
  goodDays: ['优良天数比例', 'Good days'],
  pm25: ['PM2.5 平均浓度', 'PM2.5 mean'],
  o3: ['O3 日最大 8 小时第 90 百分位', 'O3 MDA8 90th percentile'],
  met: ['达标', 'met'],
  notMet: ['未达标', 'not met'],
  over: ['超过限值', 'over the limit'],
  within: ['未超限值', 'within the limit'],
  valid: ['有效（{0}/{1} 天）', 'valid ({0} of {1} days)'],
  invalid: ['数据不足（{0}/{1} 天）', 'too few days ({0} of {1})'],
  exceedTitle: ['超标天数', 'Exceedance days'],
  pollutant: ['污染物', 'Pollutant'],
  days: ['超标天数', 'Days over'],
  ofDays: ['有效天数', 'Of days'],
  any: ['任一污染物', 'Any pollutant'],
  noHistory: ['无历史数据（未配置存储）', 'No history (no store configured)'],
  failed: ['加载失败：{0}', 'Failed to load: {0}']
};

const POLS = {pm25: 'PM2.5', pm10: 'PM10', so2: 'SO2', no2: 'NO2', co: 'CO',
  o3: 'O3'};

function w(key, ...args) {
  const pair = WORDS[key];
  let s = pair ? pair[current() === 'zh' ? 0 : 1] : key;
  args.forEach((a, k) => { s = s.split('{' + k + '}').join(String(a)); });
  return s;
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function fmt(v, digits) {
  return v === null || v === undefined ? '—' : Number(v).toFixed(digits);
}

export class PlanPanel {
  /* root: the panel's section, which this fills. */
  constructor(root) {
    this.root = root;
    this.areas = [];
    this.data = null;
    this.error = null;
    this.seq = 0;
    this.build();
  }

  build() {
    this.heading = el('h2', '', '');
    this.heading.id = 'plan-title';
    this.form = el('form', null, 'plan-form');
    this.scopeLabel = el('label', null, 'field');
    this.scopeText = el('span');
    this.scope = el('select');
    this.scope.id = 'plan-area';
    this.scopeLabel.append(this.scopeText, this.scope);
    this.fromLabel = el('label', null, 'field');
    this.fromText = el('span');
    this.from = el('input');
    this.from.type = 'date';
    this.from.id = 'plan-from';
    this.fromLabel.append(this.fromText, this.from);
    this.toLabel = el('label', null, 'field');
    this.toText = el('span');
    this.to = el('input');
    this.to.type = 'date';
    this.to.id = 'plan-to';
    this.toLabel.append(this.toText, this.to);
    this.go = el('button');
    this.go.type = 'submit';
    this.form.append(this.scopeLabel, this.fromLabel, this.toLabel, this.go);
    this.form.addEventListener('submit', ev => {
      ev.preventDefault();
      this.load();
    });
    this.scope.addEventListener('change', () => this.load());
    this.status = el('p', '', 'muted');
    this.status.id = 'plan-range';
    this.status.setAttribute('aria-live', 'polite');
    this.table = el('table', null, 'plan');
    this.table.id = 'plan-table';
    this.exceed = el('table', null, 'plan');
    this.exceed.id = 'plan-exceed';
    const wrap = el('div', null, 'table-wrap');
    wrap.append(this.table, this.exceed);
    this.root.append(this.heading, this.form, this.status, wrap);
  }

  /* The areas to choose from (GET /api/v1/areas results). */
  setAreas(areas) {
    this.areas = areas;
    this.renderScope();
  }

  renderScope() {
    const zh = current() === 'zh';
    const keep = this.scope.value;
    this.scope.textContent = '';
    const g = el('option', w('grid'));
    g.value = '';
    this.scope.append(g);
    this.areas.forEach(a => {
      const o = el('option', (zh ? a.name : a.name_en || a.name) || a.id);
      o.value = a.id;
      this.scope.append(o);
    });
    this.scope.value = keep;
    if (this.scope.value !== keep) this.scope.value = '';
  }

  async load() {
    const q = [];
    if (this.scope.value) q.push('area=' + encodeURIComponent(this.scope.value));
    if (this.from.value) q.push('from=' + this.from.value);
    if (this.to.value) q.push('to=' + this.to.value);
    const seq = ++this.seq;
    try {
      const d = await getJSON('/api/v1/indicators' +
        (q.length ? '?' + q.join('&') : ''));
      if (seq !== this.seq) return;
      this.data = d;
      this.error = null;
    } catch (e) {
      if (seq !== this.seq) return;
      this.data = null;
      this.error = e.status === 503 ? w('noHistory') : w('failed', e.message);
    }
    this.render();
  }

  /* One indicator's row: its value, target, limit and validity. */
  row(tbody, name, o, value, cmp) {
    const tr = el('tr');
    tr.append(el('th', name));
    tr.lastChild.scope = 'row';
    tr.append(el('td', value, 'num'));
    const target = el('td');
    if (o.target !== null && o.target !== undefined) {
      target.textContent = cmp + ' ' + o.target + ' ';
      if (o.meets_target !== null) {
        target.append(el('span', o.meets_target ? w('met') : w('notMet'),
          o.meets_target ? 'ok' : 'bad'));
      }
    } else {
      target.textContent = '—';
    }
    tr.append(target);
    const limit = el('td');
    if (o.limit !== null && o.limit !== undefined) {
      limit.textContent = o.limit + ' ';
      if (o.exceeds_limit !== null && o.exceeds_limit !== undefined) {
        limit.append(el('span', o.exceeds_limit ? w('over') : w('within'),
          o.exceeds_limit ? 'bad' : 'ok'));
      }
    } else {
      limit.textContent = '—';
    }
    tr.append(limit);
    const v = o.validity;
    tr.append(el('td', v ? (v.valid ? w('valid', v.days, v.need) :
      w('invalid', v.days, v.need)) : '—'));
    tbody.append(tr);
  }

  render() {
    this.heading.textContent = w('title');
    this.scopeText.textContent = w('scope');
    this.fromText.textContent = w('from');
    this.toText.textContent = w('to');
    this.go.textContent = w('show');
    this.renderScope();
    this.table.textContent = '';
    this.exceed.textContent = '';
    const d = this.data;
    if (!d) {
      this.status.textContent = this.error || '';
      return;
    }
    this.status.textContent = w('range', d.from, d.to, d.days, d.data_days);
    const head = el('tr');
    ['indicator', 'value', 'target', 'limit', 'validity'].forEach(k => {
      const th = el('th', w(k));
      th.scope = 'col';
      head.append(th);
    });
    const thead = el('thead');
    thead.append(head);
    const tbody = el('tbody');
    const g = d.good_days;
    this.row(tbody, w('goodDays'), g, g.ratio === null ? '—' :
      fmt(g.ratio, 1) + '% (' + g.good + '/' + g.valid + ')', '≥');
    this.row(tbody, w('pm25'), d.pm25, fmt(d.pm25.value, 1), '≤');
    this.row(tbody, w('o3'), d.o3_8h_p90, fmt(d.o3_8h_p90.value, 1), '≤');
    this.table.append(thead, tbody);

    const eh = el('tr');
    ['pollutant', 'days', 'ofDays', 'limit'].forEach(k => {
      const th = el('th', w(k));
      th.scope = 'col';
      eh.append(th);
    });
    const ehead = el('thead');
    ehead.append(eh);
    const cap = el('caption', w('exceedTitle'));
    const ebody = el('tbody');
    Object.keys(d.exceedances).forEach(p => {
      const x = d.exceedances[p];
      const tr = el('tr');
      tr.dataset.pollutant = p;
      tr.append(el('th', POLS[p] || p), el('td', x.days, 'num'),
        el('td', x.valid_days, 'num'),
        el('td', x.limit === null ? '—' : x.limit, 'num'));
      tr.firstChild.scope = 'row';
      ebody.append(tr);
    });
    const any = el('tr');
    any.dataset.pollutant = 'any';
    any.append(el('th', w('any')), el('td', d.exceedance_days, 'num'),
      el('td', d.data_days, 'num'), el('td', '—', 'num'));
    any.firstChild.scope = 'row';
    ebody.append(any);
    this.exceed.append(cap, ehead, ebody);
  }
}
