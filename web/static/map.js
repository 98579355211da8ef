/*
 * map: every cell on one canvas at its row and column (cells outside the
 * grid by latitude and longitude), coloured by AQI level or by one
 * pollutant on a continuous scale; cells without a valid value striped
 * grey, never a level colour; area outlines and names on top.
 *
 * Three layers: the cells (an offscreen canvas, repainted cell by cell as
 * updates come), the outlines and names (offscreen, repainted only when
 * the layout or language changes), and the visible canvas, composed from
 * both with the selection and keyboard focus once per animation frame,
 * whatever the number of updates in it.
 */

import {UNKNOWN, OFFLINE, inkFor, scaleColor} from './levels.js';

const CELL_MAX = 96; /* largest cell drawn, CSS pixels */
const CELL_MIN = 2;

export class GridMap {
  constructor(canvas, opts) {
    this.canvas = canvas;
    this.ctx = canvas.getContext('2d');
    this.opts = opts || {};
    this.cells = [];        /* {id, area, x, y, aqi, level, status, v} */
    this.byId = new Map();
    this.at = null;         /* Int32Array: grid position -> cell index */
    this.w = 0;
    this.h = 0;
    this.size = 0;          /* CSS pixels per cell */
    this.dpr = 1;
    this.levels = [];
    this.mode = 'aqi';
    this.areaNames = new Map(); /* id -> {name, name_en} */
    this.lang = 'zh';
    this.selected = -1;
    this.focus = -1;
    this.dirty = new Set();
    this.full = true;
    this.outlinesStale = true;
    this.pending = 0;       /* requestAnimationFrame id */
    this.base = document.createElement('canvas');
    this.over = document.createElement('canvas');
    this.patterns = {};
    this.markers = [];      /* {id, cell, color, label}: dust sites */
    this.stats = {frames: 0, lastMs: 0, firstFull: null, flushes: []};
    this.keepStats = false;
    this.hotspots = [];     /* {k, rank, deg|null} from /api/v1/hotspots */
  }

  /* The hotspot overlay (hotspots.js): a ring and rank on each, and an
   * arrow from the side of its source when the wind tells. */
  setHotspots(list) {
    this.hotspots = [];
    for (const h of list) {
      const k = this.byId.get(h.cell);
      if (k !== undefined)
        this.hotspots.push({k, rank: h.rank,
          deg: h.source === 'upwind' ? h.source_deg : null});
    }
    this.request();
  }

  paintHotspots() {
    const s = this.size, g = this.ctx;
    for (const h of this.hotspots) {
      const c = this.cells[h.k];
      const cx = (c.x + 0.5) * s, cy = (c.y + 0.5) * s;
      const r = Math.max(3, s * 0.42);
      g.lineWidth = Math.max(2, s / 10);
      g.strokeStyle = '#fff';
      g.beginPath();
      g.arc(cx, cy, r + 1, 0, 2 * Math.PI);
      g.stroke();
      g.strokeStyle = '#8E24AA';
      g.beginPath();
      g.arc(cx, cy, r, 0, 2 * Math.PI);
      g.stroke();
      if (h.deg !== null) {
        /* From the source's side (degrees from north) to the cell. */
        const a = h.deg * Math.PI / 180, len = Math.max(8, s * 1.2);
        const fx = cx + Math.sin(a) * len, fy = cy - Math.cos(a) * len;
        g.beginPath();
        g.moveTo(fx, fy);
        g.lineTo(cx + Math.sin(a) * r, cy - Math.cos(a) * r);
        g.stroke();
      }
      if (s >= 14) {
        g.fillStyle = '#8E24AA';
        g.font = 'bold ' + Math.round(Math.min(14, s * 0.4)) + 'px sans-serif';
        g.textAlign = 'center';
        g.textBaseline = 'middle';
        g.fillText(String(h.rank), cx, cy);
      }
    }
  }

  setLevels(levels) {
    this.levels = levels;
    this.full = true;
    this.request();
  }

  setMode(mode) {
    this.mode = mode;
    this.full = true;
    this.request();
  }

  setLang(lang) {
    this.lang = lang;
    this.outlinesStale = true;
    this.request();
  }

  setAreas(list) {
    this.areaNames = new Map(list.map(a => [a.id, a]));
    this.outlinesStale = true;
    this.request();
  }

  /* Replaces every cell (a page of /api/v1/cells summaries). */
  setCells(list) {
    const sel = this.selected >= 0 ? this.cells[this.selected].id : null;
    const foc = this.focus >= 0 ? this.cells[this.focus].id : null;
    this.cells = list.map(c => ({
      id: c.id, area: c.area, row: c.row, col: c.col, lat: c.lat,
      lon: c.lon, x: 0, y: 0, aqi: c.aqi, level: c.level,
      status: c.status, hour: c.hour, v: c
    }));
    this.byId = new Map(this.cells.map((c, k) => [c.id, k]));
    this.place();
    this.selected = sel !== null && this.byId.has(sel) ? this.byId.get(sel) : -1;
    this.focus = foc !== null && this.byId.has(foc) ? this.byId.get(foc) : -1;
    this.layout();
  }

  /* Markers drawn over cells (the dust sites, sites.js). */
  setMarkers(list) {
    this.markers = list;
    this.request();
  }

  /* A marker's centre and radius in CSS pixels, or null. */
  markerBox(m) {
    const k = this.byId.get(m.cell);
    if (k === undefined) return null;
    const c = this.cells[k], s = this.size;
    return {x: c.x * s + s * 0.7, y: c.y * s + s * 0.3,
      r: Math.max(4, Math.min(12, s * 0.24))};
  }

  /* The marker under a point (CSS pixels), or null. */
  markerAt(px, py) {
    for (const m of this.markers) {
      const b = this.markerBox(m);
      if (b && Math.abs(px - b.x) + Math.abs(py - b.y) <= b.r + 2) return m;
    }
    return null;
  }

  paintMarkers() {
    const g = this.ctx;
    for (const m of this.markers) {
      const b = this.markerBox(m);
      if (!b) continue;
      g.beginPath();
      g.moveTo(b.x, b.y - b.r);
      g.lineTo(b.x + b.r, b.y);
      g.lineTo(b.x, b.y + b.r);
      g.lineTo(b.x - b.r, b.y);
      g.closePath();
      g.fillStyle = m.color;
      g.fill();
      g.lineWidth = 3;
      g.strokeStyle = '#fff';
      g.stroke();
      g.lineWidth = 1.5;
      g.strokeStyle = '#000';
      g.stroke();
    }
  }

  /* Merges fresh summaries into known cells without a new layout. */
  refreshCells(list) {
    let same = list.length === this.cells.length;
    for (const c of list) {
      const k = this.byId.get(c.id);
      if (k === undefined) {
        same = false;
        break;
      }
      Object.assign(this.cells[k], {aqi: c.aqi, level: c.level,
        status: c.status, hour: c.hour, v: c});
    }
    if (!same) {
      this.setCells(list);
      return;
    }
    this.full = true;
    this.request();
  }

  /* A live change of one cell's AQI (an SSE "cell" event). */
  update(id, aqi, level) {
    const k = this.byId.get(id);
    if (k === undefined) return false;
    const c = this.cells[k];
    c.aqi = aqi;
    c.level = aqi === null ? null : level;
    if (aqi !== null) c.status = 'ok';
    else if (c.status === 'ok') c.status = 'no_data';
    this.dirty.add(k);
    this.request();
    return true;
  }

  cell(id) {
    const k = this.byId.get(id);
    return k === undefined ? null : this.cells[k];
  }

  /*
   * Grid cells sit at their row and column.  Cells listed on their own
   * (no row or column) are placed by latitude and longitude, with the
   * scale fitted from the grid cells, or from their own extent without
   * a grid.
   */
  place() {
    const list = this.cells;
    const grid = list.filter(c => c.row !== null && c.col !== null);
    const loose = list.filter(c => c.row === null || c.col === null);
    let lat0 = 0, dlat = 0, lon0 = 0, dlon = 0;

    grid.forEach(c => { c.x = c.col; c.y = c.row; });
    if (grid.length > 1) {
      let a = grid[0], b = grid[0];
      for (const c of grid) {
        if (c.row < a.row || (c.row === a.row && c.col < a.col)) a = c;
        if (c.row > b.row || (c.row === b.row && c.col > b.col)) b = c;
      }
      dlat = b.row !== a.row ? (a.lat - b.lat) / (b.row - a.row) : 0;
      dlon = b.col !== a.col ? (b.lon - a.lon) / (b.col - a.col) : 0;
      lat0 = a.lat + a.row * dlat;
      lon0 = a.lon - a.col * dlon;
    }
    if (loose.length > 0 && (dlat <= 0 || dlon <= 0)) {
      let la0 = Infinity, la1 = -Infinity, lo0 = Infinity, lo1 = -Infinity;
      for (const c of loose) {
        la0 = Math.min(la0, c.lat); la1 = Math.max(la1, c.lat);
        lo0 = Math.min(lo0, c.lon); lo1 = Math.max(lo1, c.lon);
      }
      const span = Math.max(la1 - la0, lo1 - lo0, 1e-6);
      const n = Math.max(2, Math.ceil(Math.sqrt(loose.length)) * 2);
      lat0 = la1;
      lon0 = lo0;
      dlat = dlon = span / n;
    }
    loose.forEach(c => {
      c.x = Math.round((c.lon - lon0) / dlon);
      c.y = Math.round((lat0 - c.lat) / dlat);
    });
    let minX = 0, minY = 0, maxX = 0, maxY = 0;
    for (const c of list) {
      minX = Math.min(minX, c.x); minY = Math.min(minY, c.y);
    }
    for (const c of list) {
      c.x -= minX; c.y -= minY;
      maxX = Math.max(maxX, c.x); maxY = Math.max(maxY, c.y);
    }
    this.w = list.length ? maxX + 1 : 1;
    this.h = list.length ? maxY + 1 : 1;
    this.at = new Int32Array(this.w * this.h).fill(-1);
    list.forEach((c, k) => {
      /* Two loose cells may round to one place: the first keeps it. */
      if (this.at[c.y * this.w + c.x] < 0) this.at[c.y * this.w + c.x] = k;
    });
  }

  /* Sizes the canvas to its container (and the window's height). */
  layout() {
    const wrap = this.canvas.parentElement;
    const availW = Math.max(120, wrap.clientWidth);
    const top = wrap.getBoundingClientRect().top + window.scrollY;
    const availH = Math.max(280, window.innerHeight - Math.min(top, 200) - 40);
    const s = Math.max(CELL_MIN, Math.min(CELL_MAX,
      Math.floor(Math.min(availW / this.w, availH / this.h))));
    this.size = s;
    this.dpr = window.devicePixelRatio || 1;
    const cw = this.w * s, ch = this.h * s;
    for (const c of [this.canvas, this.base, this.over]) {
      c.width = Math.round(cw * this.dpr);
      c.height = Math.round(ch * this.dpr);
    }
    this.canvas.style.width = cw + 'px';
    this.canvas.style.height = ch + 'px';
    this.patterns = {};
    this.full = true;
    this.outlinesStale = true;
    this.request();
  }

  request() {
    if (!this.pending)
      this.pending = requestAnimationFrame(() => this.flush());
  }

  /*
   * Grey with diagonal stripes: plainly "unknown", never a level.  Set
   * pixel by pixel, so every pixel is one of the two greys (drawn lines
   * would blend them at their edges).
   */
  pattern(kind) {
    if (this.patterns[kind]) return this.patterns[kind];
    const c = kind === 'offline' ? OFFLINE : UNKNOWN;
    const n = Math.max(6, Math.round(6 * this.dpr));
    const p = document.createElement('canvas');
    p.width = p.height = n;
    const g = p.getContext('2d');
    const img = g.createImageData(n, n);
    const rgb = h => [1, 3, 5].map(k => parseInt(h.slice(k, k + 2), 16));
    const a = rgb(c.base), b = rgb(c.stripe);
    for (let y = 0; y < n; y++) {
      for (let x = 0; x < n; x++) {
        const v = (x + y) % n < n / 3 ? b : a;
        img.data.set([v[0], v[1], v[2], 255], (y * n + x) * 4);
      }
    }
    g.putImageData(img, 0, 0);
    this.patterns[kind] = this.base.getContext('2d').createPattern(p, 'repeat');
    return this.patterns[kind];
  }

  /* The fill of a cell: a colour, or a pattern for unknown. */
  fill(c) {
    if (this.mode === 'aqi') {
      if (c.status === 'offline') return this.pattern('offline');
      if (c.aqi === null || c.aqi === undefined || !c.level)
        return this.pattern('unknown');
      const lv = this.levels[c.level - 1];
      return lv ? lv.color : this.pattern('unknown');
    }
    const v = c.v ? c.v[this.mode] : null;
    if (c.status === 'offline') return this.pattern('offline');
    if (v === null || v === undefined) return this.pattern('unknown');
    return scaleColor(this.mode, v);
  }

  paintCell(g, c) {
    const s = this.size;
    const gap = s >= 8 ? 1 : 0;
    const x = c.x * s, y = c.y * s;
    g.clearRect(x, y, s, s);
    g.fillStyle = this.fill(c);
    g.fillRect(x, y, s - gap, s - gap);
    if (s >= 8 && c.v && c.v.faulty_sensors > 0) {
      /* A dark corner: a sensor of the cell is flagged faulty. */
      const t = Math.max(4, s * 0.28), r = x + s - gap;
      g.fillStyle = '#202124';
      g.beginPath();
      g.moveTo(r - t, y);
      g.lineTo(r, y);
      g.lineTo(r, y + t);
      g.closePath();
      g.fill();
    }
    if (s >= 30 && this.mode === 'aqi' && c.aqi !== null &&
        c.aqi !== undefined && c.status !== 'offline') {
      g.fillStyle = inkFor(c.level);
      g.fillText(String(c.aqi), x + (s - gap) / 2, y + (s - gap) * 0.62);
    }
  }

  paintCells(all) {
    const g = this.base.getContext('2d');
    g.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    g.font = Math.min(22, Math.round(this.size * 0.32)) + 'px system-ui, sans-serif';
    g.textAlign = 'center';
    g.textBaseline = 'middle';
    if (all) {
      g.clearRect(0, 0, this.w * this.size, this.h * this.size);
      for (const c of this.cells) this.paintCell(g, c);
    } else {
      for (const k of this.dirty) this.paintCell(g, this.cells[k]);
    }
    this.dirty.clear();
  }

  /* Area outlines: every edge between cells of different areas. */
  paintOutlines() {
    const g = this.over.getContext('2d');
    const s = this.size, w = this.w;
    g.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    g.clearRect(0, 0, this.w * s, this.h * s);
    const areaAt = k => (k < 0 ? null : this.cells[k].area);
    const path = new Path2D();
    for (let y = 0; y < this.h; y++) {
      for (let x = 0; x < w; x++) {
        const k = this.at[y * w + x];
        if (k < 0) continue;
        const a = this.cells[k].area;
        if (a === null || a === undefined) continue;
        const right = x + 1 < w ? this.at[y * w + x + 1] : -1;
        const down = y + 1 < this.h ? this.at[(y + 1) * w + x] : -1;
        const left = x > 0 ? this.at[y * w + x - 1] : -1;
        const up = y > 0 ? this.at[(y - 1) * w + x] : -1;
        if (areaAt(right) !== a) {
          path.moveTo((x + 1) * s, y * s); path.lineTo((x + 1) * s, (y + 1) * s);
        }
        if (areaAt(down) !== a) {
          path.moveTo(x * s, (y + 1) * s); path.lineTo((x + 1) * s, (y + 1) * s);
        }
        if (left < 0 || areaAt(left) === null) {
          path.moveTo(x * s, y * s); path.lineTo(x * s, (y + 1) * s);
        }
        if (up < 0 || areaAt(up) === null) {
          path.moveTo(x * s, y * s); path.lineTo((x + 1) * s, y * s);
        }
      }
    }
    const wide = Math.max(1.5, Math.min(3, s / 10));
    g.lineCap = 'round';
    g.strokeStyle = 'rgba(255,255,255,0.85)';
    g.lineWidth = wide + 2;
    g.stroke(path);
    g.strokeStyle = '#1D2329';
    g.lineWidth = wide;
    g.stroke(path);
    this.paintNames(g);
    this.outlinesStale = false;
  }

  /* Each area's name at the middle of its cells, on a light halo. */
  paintNames(g) {
    const s = this.size;
    const sums = new Map();
    for (const c of this.cells) {
      if (!c.area) continue;
      const m = sums.get(c.area) || {x: 0, y: 0, n: 0, x0: Infinity,
        x1: -Infinity};
      m.x += c.x + 0.5; m.y += c.y + 0.5; m.n++;
      m.x0 = Math.min(m.x0, c.x); m.x1 = Math.max(m.x1, c.x + 1);
      sums.set(c.area, m);
    }
    const px = Math.max(11, Math.min(18, Math.round(s * 0.42)));
    g.font = '600 ' + px + 'px system-ui, sans-serif';
    g.textAlign = 'center';
    g.textBaseline = 'middle';
    g.lineJoin = 'round';
    for (const [id, m] of sums) {
      const a = this.areaNames.get(id);
      const name = a ? (this.lang === 'zh' ? a.name : a.name_en) || a.name ||
        id : id;
      const cx = Math.min(this.w * s - 4, Math.max(4, (m.x / m.n) * s));
      const cy = (m.y / m.n) * s;
      g.lineWidth = 4;
      g.strokeStyle = 'rgba(255,255,255,0.9)';
      g.strokeText(name, cx, cy, (m.x1 - m.x0) * s + s);
      g.fillStyle = '#111';
      g.fillText(name, cx, cy, (m.x1 - m.x0) * s + s);
    }
  }

  /* Draws what changed since the last frame. */
  flush() {
    this.pending = 0;
    if (!this.cells.length) return;
    const t0 = performance.now();
    const all = this.full;
    if (this.full || this.dirty.size) this.paintCells(this.full);
    this.full = false;
    if (this.outlinesStale) this.paintOutlines();
    const g = this.ctx;
    g.setTransform(1, 0, 0, 1, 0, 0);
    g.clearRect(0, 0, this.canvas.width, this.canvas.height);
    g.drawImage(this.base, 0, 0);
    g.drawImage(this.over, 0, 0);
    g.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    this.paintHotspots();
    this.paintMarkers();
    this.ring(this.selected, '#000', '#fff', []);
    if (document.activeElement === this.canvas)
      this.ring(this.focus, '#0B57D0', '#fff', [4, 3]);
    const ms = performance.now() - t0;
    this.stats.frames++;
    this.stats.lastMs = ms;
    if (this.keepStats) this.stats.flushes.push(ms);
    if (all && this.stats.firstFull === null)
      this.stats.firstFull = performance.now();
    if (this.opts.onDraw) this.opts.onDraw(all);
  }

  ring(k, color, halo, dash) {
    if (k < 0) return;
    const c = this.cells[k], s = this.size, g = this.ctx;
    const lw = Math.max(2, Math.min(4, s / 8));
    g.setLineDash(dash);
    g.lineWidth = lw + 2;
    g.strokeStyle = halo;
    g.strokeRect(c.x * s + lw / 2, c.y * s + lw / 2, s - lw, s - lw);
    g.lineWidth = lw;
    g.strokeStyle = color;
    g.strokeRect(c.x * s + lw / 2, c.y * s + lw / 2, s - lw, s - lw);
    g.setLineDash([]);
  }

  /* The cell under a point of the canvas (CSS pixels), or -1. */
  indexAt(px, py) {
    const x = Math.floor(px / this.size), y = Math.floor(py / this.size);
    if (x < 0 || y < 0 || x >= this.w || y >= this.h) return -1;
    return this.at[y * this.w + x];
  }

  /* A cell's square in CSS pixels from the canvas' top left. */
  box(id) {
    const c = this.cell(id);
    if (!c) return null;
    return {x: c.x * this.size, y: c.y * this.size, size: this.size};
  }

  select(k) {
    this.selected = k;
    this.request();
  }

  setFocus(k) {
    this.focus = k;
    this.request();
  }

  /* The next cell from k in a direction, skipping holes in the grid. */
  step(k, dx, dy) {
    if (k < 0) return this.cells.length ? 0 : -1;
    let x = this.cells[k].x, y = this.cells[k].y;
    for (let n = 0; n < Math.max(this.w, this.h); n++) {
      x += dx; y += dy;
      if (x < 0 || y < 0 || x >= this.w || y >= this.h) return k;
      const j = this.at[y * this.w + x];
      if (j >= 0) return j;
    }
    return k;
  }
}
