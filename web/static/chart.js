/*
 * chart: one pollutant's 48 hours on a canvas -- hourly lines with gaps
 * where a value is not valid, and the limits as dashed lines labelled
 * with their value.  Drawn by hand: a few lines do not need a library.
 */

/* A round step of about span / n: 1, 2 or 5 times a power of ten. */
function niceStep(span, n) {
  const raw = span / n;
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

/*
 * spec: {from, to (ms), series: [{label, color, dash, width, points:
 * [[ms, value|null]]}], limits: [{label, value}], unit, bands: optional
 * [{color, points: [[ms, lo, hi]]}] (a forecast interval, shaded)}.
 */
export function drawChart(canvas, spec) {
  const dpr = window.devicePixelRatio || 1;
  const cssW = Math.max(240, canvas.parentElement.clientWidth);
  const cssH = Math.round(Math.min(220, Math.max(150, cssW * 0.45)));
  canvas.width = Math.round(cssW * dpr);
  canvas.height = Math.round(cssH * dpr);
  canvas.style.width = cssW + 'px';
  canvas.style.height = cssH + 'px';
  const g = canvas.getContext('2d');
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, cssW, cssH);
  const font = 11;
  g.font = font + 'px system-ui, sans-serif';

  let max = 0;
  spec.series.forEach(s => s.points.forEach(p => {
    if (p[1] !== null) max = Math.max(max, p[1]);
  }));
  spec.limits.forEach(l => { max = Math.max(max, l.value); });
  (spec.bands || []).forEach(b => b.points.forEach(p => {
    max = Math.max(max, p[2]);
  }));
  max = max > 0 ? max * 1.08 : 10;
  const step = niceStep(max, 4);
  max = Math.ceil(max / step) * step;

  const left = 38, right = 8, top = 22, bottom = 20;
  const pw = cssW - left - right, ph = cssH - top - bottom;
  const X = t => left + (t - spec.from) / (spec.to - spec.from) * pw;
  const Y = v => top + ph - v / max * ph;

  /* Grid and axes. */
  g.strokeStyle = '#E1E5E9';
  g.fillStyle = '#5F6B76';
  g.lineWidth = 1;
  g.textAlign = 'right';
  g.textBaseline = 'middle';
  for (let v = 0; v <= max + 1e-9; v += step) {
    g.beginPath();
    g.moveTo(left, Math.round(Y(v)) + 0.5);
    g.lineTo(left + pw, Math.round(Y(v)) + 0.5);
    g.stroke();
    g.fillText(String(+v.toFixed(3)), left - 4, Y(v));
  }
  g.textAlign = 'center';
  g.textBaseline = 'top';
  const hour = 3600e3;
  /* Ticks every 6 hours, or 12 or 24 when their labels would touch (48
   * hours and a day's forecast in a narrow panel). */
  let every = 6 * hour;
  while (every < 24 * hour && g.measureText(spec.tick(spec.from)).width +
    8 > every / (spec.to - spec.from) * pw)
    every *= 2;
  for (let t = Math.ceil(spec.from / every) * every; t <= spec.to;
    t += every) {
    const x = X(t);
    g.beginPath();
    g.moveTo(Math.round(x) + 0.5, top);
    g.lineTo(Math.round(x) + 0.5, top + ph);
    g.stroke();
    g.fillText(spec.tick(t), x, top + ph + 4);
  }
  g.textAlign = 'left';
  g.fillText(spec.unit, 2, 4);

  /* Limits, dashed, labelled at the right. */
  g.setLineDash([6, 4]);
  g.lineWidth = 1.5;
  spec.limits.forEach(l => {
    g.strokeStyle = '#C62828';
    g.beginPath();
    g.moveTo(left, Y(l.value));
    g.lineTo(left + pw, Y(l.value));
    g.stroke();
    g.fillStyle = '#C62828';
    g.textAlign = 'right';
    g.textBaseline = 'bottom';
    g.fillText(l.label, left + pw - 2, Y(l.value) - 2);
  });

  /* Bands under the series: the area between lo and hi.  Where they
   * went, in CSS pixels, is left on the canvas (data-plot, data-bands:
   * [[x, y of hi, y of lo], ...] per band) for the browser tests. */
  g.setLineDash([]);
  canvas.dataset.plot = JSON.stringify([left, top, pw, ph]);
  canvas.dataset.bands = JSON.stringify((spec.bands || []).map(b =>
    b.points.map(p => [X(p[0]), Y(p[2]), Y(p[1])].map(v =>
      Math.round(v * 10) / 10))));
  (spec.bands || []).forEach(b => {
    if (!b.points.length) return;
    g.fillStyle = b.color;
    g.beginPath();
    b.points.forEach((p, k) => {
      if (k) g.lineTo(X(p[0]), Y(p[2]));
      else g.moveTo(X(p[0]), Y(p[2]));
    });
    for (let k = b.points.length - 1; k >= 0; k--)
      g.lineTo(X(b.points[k][0]), Y(b.points[k][1]));
    g.closePath();
    g.fill();
  });

  /* Series: a gap where a value is missing. */
  spec.series.forEach(s => {
    g.setLineDash(s.dash || []);
    g.strokeStyle = s.color;
    g.lineWidth = s.width || 2;
    g.beginPath();
    let pen = false;
    s.points.forEach(p => {
      if (p[1] === null) {
        pen = false;
        return;
      }
      if (pen) g.lineTo(X(p[0]), Y(p[1]));
      else g.moveTo(X(p[0]), Y(p[1]));
      pen = true;
    });
    g.stroke();
    /* A lone valid hour between gaps still shows, as a dot. */
    g.fillStyle = s.color;
    s.points.forEach((p, k) => {
      const prev = k > 0 ? s.points[k - 1][1] : null;
      const next = k + 1 < s.points.length ? s.points[k + 1][1] : null;
      if (p[1] !== null && prev === null && next === null) {
        g.beginPath();
        g.arc(X(p[0]), Y(p[1]), 2, 0, 2 * Math.PI);
        g.fill();
      }
    });
  });
  g.setLineDash([]);

  /* Legend along the top. */
  let lx = left + 40;
  g.textAlign = 'left';
  g.textBaseline = 'middle';
  spec.series.forEach(s => {
    g.strokeStyle = s.color;
    g.lineWidth = s.width || 2;
    g.setLineDash(s.dash || []);
    g.beginPath();
    g.moveTo(lx, 9);
    g.lineTo(lx + 16, 9);
    g.stroke();
    g.setLineDash([]);
    g.fillStyle = '#1D2329';
    g.fillText(s.label, lx + 20, 9);
    lx += 28 + g.measureText(s.label).width;
  });
}
