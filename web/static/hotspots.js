/*
 * hotspots: the map's hotspot overlay.  While the toggle is on, the ranking
 * from /api/v1/hotspots is fetched now and every minute (the daemon judges
 * hourly) and handed to the map, which rings each hotspot with its rank and,
 * when the wind tells, an arrow from the side its source lies on.  A short
 * list under the map names them for screen readers and for the keyboard.
 */

import {getJSON} from './api.js';
import {t, num} from './i18n.js';

const EVERY_MS = 60000;

export class HotspotOverlay {
  constructor(toggle, list, map) {
    this.toggle = toggle;
    this.list = list;
    this.map = map;
    this.timer = null;
    this.last = [];
    toggle.addEventListener('change', () => this.apply());
  }

  apply() {
    clearInterval(this.timer);
    this.timer = null;
    if (!this.toggle.checked) {
      this.map.setHotspots([]);
      this.list.replaceChildren();
      this.list.hidden = true;
      return;
    }
    this.load();
    this.timer = setInterval(() => this.load(), EVERY_MS);
  }

  async load() {
    try {
      const j = await getJSON('/api/v1/hotspots');
      if (!this.toggle.checked) return;
      this.last = j.results;
      this.map.setHotspots(j.results);
      this.render();
    } catch (e) {
      this.list.textContent = t('hotspotsError');
      this.list.hidden = false;
    }
  }

  /* The list, again in the language now shown. */
  render() {
    if (!this.toggle.checked) return;
    const items = this.last.map(h => {
      const li = document.createElement('li');
      const where = h.source === 'upwind' ?
        t('hotspotUpwind', h.source_compass) :
        h.source === 'local' ? t('hotspotLocal') : '';
      li.textContent = h.rank + '. ' + h.cell + ' +' + num(h.mean_excess, 0) +
        ' µg/m³ · ' + t('hotspotHours', h.hours) + (where ? ' · ' + where : '');
      return li;
    });
    if (!items.length) {
      const li = document.createElement('li');
      li.textContent = t('hotspotsNone');
      items.push(li);
    }
    this.list.replaceChildren(...items);
    this.list.hidden = false;
  }
}
