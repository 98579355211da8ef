/*
 * aqgrid dashboard: every cell on a canvas, coloured by the AQI level the
 * API reports, and a panel with one cell's details.  Plain DOM, no
 * libraries; text goes in with textContent only.  Refreshes every 15 s.
 */
'use strict';

(function () {
  const REFRESH_MS = 15000;
  const CELL_MAX = 40; /* largest cell drawn, CSS pixels */
  const CELL_MIN = 3;
  const NO_DATA = '#b0b4b8';
  const OFFLINE = '#6b7075';
  /* Indicator names as people write them. */
  const IND = {
    pm25_1h: 'PM2.5 1h', pm25_24h: 'PM2.5 24h', pm10_1h: 'PM10 1h',
    pm10_24h: 'PM10 24h', so2_1h: 'SO2 1h', so2_24h: 'SO2 24h',
    no2_1h: 'NO2 1h', no2_24h: 'NO2 24h', co_1h: 'CO 1h', co_8h: 'CO 8h',
    co_24h: 'CO 24h', o3_1h: 'O3 1h', o3_8h: 'O3 8h'
  };
  const STATUS = {
    ok: '正常 OK', no_data: '无数据 No data', offline: '离线 Offline'
  };

  const canvas = document.getElementById('grid');
  const ctx = canvas.getContext('2d');
  const panel = document.getElementById('panel');
  const detail = document.getElementById('detail');
  const statusLine = document.getElementById('status');
  const hourEl = document.getElementById('hour');
  const areasBody = document.getElementById('areas');

  let cells = [];      /* summaries with x, y in cell units */
  let layout = null;   /* {size, width, height} */
  let selected = null; /* id of the cell in the panel */
  let hatch = {};      /* canvas patterns by base colour */

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  function fmt(v) {
    return v === null || v === undefined ? '—' : String(v);
  }

  function localTime(iso) {
    /* The API writes the zone's own clock time; show it as written. */
    return iso ? iso.replace('T', ' ').replace(/:00([+-]\d\d:\d\d|Z)$/, ' $1')
      : '—';
  }

  async function getJSON(url) {
    const r = await fetch(url, {headers: {Accept: 'application/json'}});
    if (!r.ok) throw new Error(url + ': HTTP ' + r.status);
    return r.json();
  }

  /*
   * Grid cells sit at their row and column.  Cells listed on their own
   * (no row/col) are placed by latitude and longitude, with the scale
   * fitted from the grid cells, or from their own extent without a grid.
   */
  function place(list) {
    const grid = list.filter(c => c.row !== null && c.col !== null);
    const loose = list.filter(c => c.row === null || c.col === null);
    let lat0 = 0, dlat = 0, lon0 = 0, dlon = 0;

    grid.forEach(c => { c.x = c.col; c.y = c.row; });
    if (grid.length > 0) {
      const a = grid.reduce((m, c) => (c.row < m.row ||
        (c.row === m.row && c.col < m.col) ? c : m));
      const b = grid.reduce((m, c) => (c.row > m.row ||
        (c.row === m.row && c.col > m.col) ? c : m));
      dlat = b.row !== a.row ? (a.lat - b.lat) / (b.row - a.row) : 0;
      dlon = b.col !== a.col ? (b.lon - a.lon) / (b.col - a.col) : 0;
      lat0 = a.lat + a.row * dlat;
      lon0 = a.lon - a.col * dlon;
    }
    if (loose.length > 0 && (dlat <= 0 || dlon <= 0)) {
      const lats = loose.map(c => c.lat), lons = loose.map(c => c.lon);
      const span = Math.max(Math.max(...lats) - Math.min(...lats),
        Math.max(...lons) - Math.min(...lons), 1e-6);
      const n = Math.max(2, Math.ceil(Math.sqrt(loose.length)) * 2);
      lat0 = Math.max(...lats);
      lon0 = Math.min(...lons);
      dlat = dlon = span / n;
    }
    loose.forEach(c => {
      c.x = Math.round((c.lon - lon0) / dlon);
      c.y = Math.round((lat0 - c.lat) / dlat);
    });
    const minX = Math.min(0, ...list.map(c => c.x));
    const minY = Math.min(0, ...list.map(c => c.y));
    list.forEach(c => { c.x -= minX; c.y -= minY; });
    const w = Math.max(1, ...list.map(c => c.x + 1));
    const h = Math.max(1, ...list.map(c => c.y + 1));
    const avail = Math.max(200, canvas.parentElement.clientWidth - 24);
    const size = Math.max(CELL_MIN, Math.min(CELL_MAX, Math.floor(avail / w)));
    return {size: size, width: w * size, height: h * size};
  }

  /* Grey with diagonal stripes: plainly "unknown", never a level. */
  function pattern(base) {
    if (hatch[base]) return hatch[base];
    const p = document.createElement('canvas');
    p.width = p.height = 6;
    const g = p.getContext('2d');
    g.fillStyle = base === OFFLINE ? '#9ea3a8' : '#e4e6e8';
    g.fillRect(0, 0, 6, 6);
    g.strokeStyle = base;
    g.lineWidth = 2;
    g.beginPath();
    g.moveTo(-1, 7); g.lineTo(7, -1);
    g.moveTo(-1, 1); g.lineTo(1, -1);
    g.moveTo(5, 7); g.lineTo(7, 5);
    g.stroke();
    hatch[base] = ctx.createPattern(p, 'repeat');
    return hatch[base];
  }

  function draw() {
    const dpr = window.devicePixelRatio || 1;
    const s = layout.size;

    canvas.width = Math.round(layout.width * dpr);
    canvas.height = Math.round(layout.height * dpr);
    canvas.style.width = layout.width + 'px';
    canvas.style.height = layout.height + 'px';
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, layout.width, layout.height);
    cells.forEach(c => {
      if (c.color && c.status !== 'offline')
        ctx.fillStyle = c.color;
      else
        ctx.fillStyle = pattern(c.status === 'offline' ? OFFLINE : NO_DATA);
      ctx.fillRect(c.x * s, c.y * s, s, s);
      if (s >= 6) {
        ctx.strokeStyle = 'rgba(0,0,0,0.15)';
        ctx.lineWidth = 1;
        ctx.strokeRect(c.x * s + 0.5, c.y * s + 0.5, s - 1, s - 1);
      }
      if (c.id === selected) {
        ctx.strokeStyle = '#000';
        ctx.lineWidth = 2;
        ctx.strokeRect(c.x * s + 1, c.y * s + 1, s - 2, s - 2);
      }
    });
  }

  function renderAreas(areas) {
    areasBody.replaceChildren();
    areas.results.forEach(a => {
      const tr = el('tr');
      const name = el('td', a.name || a.id);
      if (a.name_en) name.append(' ', el('span', a.name_en, 'en'));
      tr.append(name, el('td', a.cells, 'num'));
      const worst = el('td', a.worst ? a.worst.aqi + ' (' + a.worst.cell +
        ')' : '—', 'num');
      tr.append(worst, el('td', fmt(a.mean.pm25_1h), 'num'),
        el('td', fmt(a.mean.o3_1h), 'num'),
        el('td', a.levels.unknown, 'num'));
      areasBody.append(tr);
    });
  }

  async function refresh() {
    try {
      const [list, areas] = await Promise.all([
        getJSON('/api/v1/cells?limit=10000'),
        getJSON('/api/v1/areas')
      ]);
      cells = list.results;
      layout = place(cells);
      draw();
      renderAreas(areas);
      const hours = cells.map(c => c.hour).filter(h => h);
      const latest = hours.reduce((m, h) =>
        (m === null || Date.parse(h) > Date.parse(m) ? h : m), null);
      hourEl.textContent = localTime(latest);
      if (latest) hourEl.setAttribute('datetime', latest);
      const known = cells.filter(c => c.aqi !== null).length;
      const off = cells.filter(c => c.status === 'offline').length;
      statusLine.className = 'status';
      statusLine.textContent = list.meta.count + ' 个网格 cells · ' + known +
        ' 有 AQI with AQI · ' + off + ' 离线 offline · 更新 updated ' +
        new Date().toLocaleTimeString();
      if (selected) showCell(selected);
    } catch (e) {
      statusLine.className = 'status error';
      statusLine.textContent = '加载失败 Failed to load: ' + e.message;
    }
  }

  function aqiBlock(a) {
    const box = el('div', null, 'aqi');
    const v = el('div', fmt(a.value), 'value');
    if (a.color) {
      v.style.background = a.color;
      if (a.level >= 4) v.classList.add('dark');
    } else {
      v.classList.add('nodata');
    }
    const txt = el('div');
    txt.append(el('div', a.level ? '级别 Level ' + a.level + ' · ' +
      a.category : 'AQI 不可用 not available'));
    if (a.category_en) txt.append(el('div', a.category_en, 'en'));
    txt.append(el('div', '首要污染物 Primary: ' + (a.primary.length ?
      a.primary.map(i => IND[i] || i).join(', ') : '—')));
    box.append(v, txt);
    return box;
  }

  function indicatorTable(conc, hours, iaqi, exceeds, units) {
    const t = el('table');
    const head = el('tr');
    ['指标 Indicator', '浓度 Value', 'IAQI', '有效小时 Hours'].forEach(h =>
      head.append(el('th', h)));
    t.append(head);
    Object.keys(conc).forEach(k => {
      const tr = el('tr');
      const unit = units && units[k] ? ' ' + units[k] : '';
      const value = el('td', conc[k] === null ? '—' : conc[k] + unit, 'num');
      if (exceeds.indexOf(k) >= 0) value.classList.add('over');
      tr.append(el('td', IND[k] || k), value,
        el('td', k in iaqi ? fmt(iaqi[k]) : '', 'num'),
        el('td', fmt(hours[k]), 'num'));
      t.append(tr);
    });
    return t;
  }

  async function showCell(id) {
    let d;
    try {
      d = await getJSON('/api/v1/cells/' + encodeURIComponent(id));
    } catch (e) {
      detail.replaceChildren(el('p', e.message, 'status error'));
      panel.hidden = false;
      return;
    }
    if (selected !== id) return; /* another cell was chosen meanwhile */
    const parts = [el('h2', d.id)];
    if (d.area) parts.push(el('p', '区域 Area: ' + (d.area_name || d.area)));
    parts.push(el('p', '小时 Hour: ' + localTime(d.hour)),
      el('p', '状态 Status: ' + (STATUS[d.status] || d.status)),
      aqiBlock(d.aqi));
    d.aqi.notes.forEach(n => parts.push(el('p', n, 'note')));
    parts.push(indicatorTable(d.concentrations, d.valid_hours, d.aqi.iaqi,
      d.exceeds, d.units));
    if (d.exceeds.length)
      parts.push(el('p', '超标 Over the limit: ' +
        d.exceeds.map(i => IND[i] || i).join(', '), 'over'));
    if (d.day) {
      parts.push(el('h3', '日报 Daily ' + d.day.date), aqiBlock(d.day.aqi),
        indicatorTable(d.day.concentrations, d.day.valid_hours,
          d.day.aqi.iaqi, d.day.exceeds, d.units));
    }
    parts.push(el('h3', '传感器 Sensors (' + d.sensors_total + ')'));
    const ul = el('ul');
    d.sensors.forEach(s => ul.append(el('li', s.id + ' · ' +
      (STATUS[s.status] || s.status) + ' · ' + localTime(s.last))));
    parts.push(ul);
    detail.replaceChildren(...parts);
    panel.hidden = false;
  }

  canvas.addEventListener('click', ev => {
    if (!layout) return;
    const r = canvas.getBoundingClientRect();
    const x = Math.floor((ev.clientX - r.left) / layout.size);
    const y = Math.floor((ev.clientY - r.top) / layout.size);
    const c = cells.find(k => k.x === x && k.y === y);
    if (!c) return;
    selected = c.id;
    draw();
    showCell(c.id);
  });

  document.getElementById('close').addEventListener('click', () => {
    selected = null;
    panel.hidden = true;
    draw();
  });

  window.addEventListener('resize', () => {
    if (!layout) return;
    layout = place(cells);
    draw();
  });

  refresh();
  setInterval(refresh, REFRESH_MS);
})();
