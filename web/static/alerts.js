/*
 * alerts: firing, pending and recently resolved alerts, newest change
 * first (the API's order), with acknowledge and silence.  Writes go
 * through api.postJSON, which asks for the token once per session.
 */

import {t, when, num, current} from './i18n.js';
import {getJSON, postJSON} from './api.js';

const RESOLVED_KEEP = 24 * 3600e3; /* "recently resolved": a day */

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

export class AlertList {
  constructor(list, status, opts) {
    this.list = list;
    this.status = status;
    this.opts = opts; /* {onCell(id), onSilence(kind, id, label), say(msg)} */
    this.alerts = [];
    this.off = false;
    this.busy = false;
    this.again = false;
  }

  /* Fetches the alerts again; calls made meanwhile fold into one more. */
  async refresh() {
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    try {
      const j = await getJSON('/api/v1/alerts');
      this.off = false;
      const now = Date.now();
      this.alerts = j.results.filter(a => a.state === 'firing' ||
        a.state === 'pending' || (a.state === 'resolved' &&
        (!a.ends_at || now - Date.parse(a.ends_at) < RESOLVED_KEEP)));
    } catch (e) {
      this.off = e.status === 503;
      this.alerts = [];
      if (!this.off) this.status.textContent = t('loadFailed', e.message);
    }
    this.busy = false;
    this.render();
    if (this.again) {
      this.again = false;
      this.refresh();
    }
  }

  render() {
    if (this.off) {
      this.status.textContent = t('alertsOff');
      this.list.replaceChildren();
      return;
    }
    const counts = {firing: 0, pending: 0, resolved: 0};
    this.alerts.forEach(a => { counts[a.state]++; });
    this.status.textContent = this.alerts.length ?
      ['firing', 'pending', 'resolved'].map(s => t('state_' + s) + ' ' +
        counts[s]).join(' · ') : t('alertsNone');
    this.list.replaceChildren(...this.alerts.map(a => this.item(a)));
  }

  item(a) {
    const li = el('li', null, 'alert ' + a.state + ' sev-' + a.severity);
    li.dataset.fingerprint = a.fingerprint;
    const head = el('div', null, 'alert-head');
    head.append(el('span', t('state_' + a.state), 'badge ' + a.state),
      el('span', t('sev_' + a.severity), 'sev'),
      el('strong', a.rule, 'rule'));
    const obj = el('div', null, 'alert-obj');
    if (a.cell) {
      const b = el('button', a.cell, 'link');
      b.type = 'button';
      b.setAttribute('aria-label', t('showCell', a.cell));
      b.addEventListener('click', () => this.opts.onCell(a.cell));
      obj.append(b);
    } else {
      obj.append(el('span', a.object));
    }
    if (a.area) obj.append(el('span', ' · ' + this.opts.areaName(a.area)));
    if (a.value !== null) obj.append(el('span', ' · ' + num(a.value)));
    const times = el('div', a.state === 'resolved' ?
      t('resolvedAt', when(a.ends_at)) :
      t('since', when(a.state === 'firing' ? a.starts_at : a.pending_since)),
    'muted');
    const flags = [];
    if (a.acked && a.ack) flags.push(t('ackedBy', a.ack.by));
    if (a.silenced) flags.push(t('silenced'));
    li.append(head, obj, times);
    if (flags.length) li.append(el('div', flags.join(' · '), 'flags'));
    const acts = el('div', null, 'actions');
    if ((a.state === 'firing' || a.state === 'pending') && !a.acked) {
      const ack = el('button', t('ack'), 'primary');
      ack.type = 'button';
      ack.dataset.action = 'ack';
      ack.addEventListener('click', () => this.ack(a, ack));
      acts.append(ack);
    }
    if (a.state !== 'resolved') {
      const sil = el('button', t('silence'));
      sil.type = 'button';
      sil.dataset.action = 'silence';
      sil.addEventListener('click', () => (a.cell ?
        this.opts.onSilence('cell', a.cell, a.cell, a.area) :
        this.opts.onSilence('area', a.area, this.opts.areaName(a.area))));
      acts.append(sil);
    }
    if (acts.childNodes.length) li.append(acts);
    return li;
  }

  async ack(a, button) {
    button.disabled = true;
    try {
      await postJSON('/api/v1/alerts/' + encodeURIComponent(a.fingerprint) +
        '/ack', {comment: current() === 'zh' ? '值班确认（仪表盘）' :
        'acknowledged on the dashboard'});
      this.opts.say(t('ackDone', a.rule + ' ' + (a.cell || a.object)));
    } catch (e) {
      if (e.status !== 0) this.opts.say(t('ackFailed', e.message));
    }
    button.disabled = false;
    this.refresh();
  }
}
