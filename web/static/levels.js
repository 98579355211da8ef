/*
 * levels: the AQI levels of the standard in force (STANDARDS.md 1.5 for
 * HJ 633, 4.4 for the US AQI), the colours of unknown cells, and the
 * continuous scales of the pollutant view.
 */

/* HJ 633 (2012 and 2026 share them).  The Chinese purple is not EPA's. */
const HJ633 = [
  {level: 1, from: 0, to: 50, color: '#00E400', roman: 'I',
    zh: '一级 优', en: 'I Excellent'},
  {level: 2, from: 51, to: 100, color: '#FFFF00', roman: 'II',
    zh: '二级 良', en: 'II Good'},
  {level: 3, from: 101, to: 150, color: '#FF7E00', roman: 'III',
    zh: '三级 轻度污染', en: 'III Lightly polluted'},
  {level: 4, from: 151, to: 200, color: '#FF0000', roman: 'IV',
    zh: '四级 中度污染', en: 'IV Moderately polluted'},
  {level: 5, from: 201, to: 300, color: '#99004C', roman: 'V',
    zh: '五级 重度污染', en: 'V Heavily polluted'},
  {level: 6, from: 301, to: null, color: '#7E0023', roman: 'VI',
    zh: '六级 严重污染', en: 'VI Severely polluted'}
];

const EPA = [
  {level: 1, from: 0, to: 50, color: '#00E400', roman: '1',
    zh: '良好', en: 'Good'},
  {level: 2, from: 51, to: 100, color: '#FFFF00', roman: '2',
    zh: '中等', en: 'Moderate'},
  {level: 3, from: 101, to: 150, color: '#FF7E00', roman: '3',
    zh: '对敏感人群不健康', en: 'Unhealthy for sensitive groups'},
  {level: 4, from: 151, to: 200, color: '#FF0000', roman: '4',
    zh: '不健康', en: 'Unhealthy'},
  {level: 5, from: 201, to: 300, color: '#8F3F97', roman: '5',
    zh: '非常不健康', en: 'Very unhealthy'},
  {level: 6, from: 301, to: null, color: '#7E0023', roman: '6',
    zh: '危险', en: 'Hazardous'}
];

/* The table of a standard's name as /api/v1/status gives it. */
export function levelsFor(standard) {
  return standard === 'epa-2024' ? EPA : HJ633;
}

/*
 * Unknown cells are grey with diagonal stripes, never a level colour:
 * "unknown" when there is no valid AQI, darker "offline" when every
 * sensor of the cell is silent.
 */
export const UNKNOWN = {base: '#E4E6E8', stripe: '#A2A8AE'};
export const OFFLINE = {base: '#9EA3A8', stripe: '#5B6168'};

/* Text on a level colour: dark on the light ones. */
export function inkFor(level) {
  return level >= 4 ? '#FFFFFF' : '#111111';
}

/*
 * The pollutant view: concentration on a continuous ramp from 0 to the
 * concentration of IAQI 300 (HJ 633 table, 24-hour columns for PM as
 * the real-time report reads them), so colours mean the same every hour.
 */
export const SCALES = {
  pm25_1h: {max: 250, unit: 'μg/m³', label: 'PM2.5 1h'},
  pm25_24h: {max: 250, unit: 'μg/m³', label: 'PM2.5 24h'},
  pm10_1h: {max: 420, unit: 'μg/m³', label: 'PM10 1h'},
  o3_1h: {max: 800, unit: 'μg/m³', label: 'O3 1h'},
  o3_8h: {max: 800, unit: 'μg/m³', label: 'O3 8h'}
};

/* A perceptually even ramp (viridis' stops), dark to light. */
const RAMP = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98],
  [253, 231, 37]];

function hex2(n) {
  return n.toString(16).padStart(2, '0');
}

/* Colour of t in [0, 1] on the ramp, as #RRGGBB. */
export function rampColor(t) {
  const x = Math.min(1, Math.max(0, t)) * (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(x));
  const f = x - i;
  const c = [0, 1, 2].map(k =>
    Math.round(RAMP[i][k] + (RAMP[i + 1][k] - RAMP[i][k]) * f));
  return '#' + c.map(hex2).join('').toUpperCase();
}

/* 64 precomputed steps: the map fills thousands of cells a frame. */
export const RAMP_STEPS = Array.from({length: 64}, (_, k) => rampColor(k / 63));

export function scaleColor(ind, v) {
  const s = SCALES[ind];
  return RAMP_STEPS[Math.round(Math.min(1, Math.max(0, v / s.max)) * 63)];
}
