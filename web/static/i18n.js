/*
 * i18n: the page's words in Chinese and English.  The language comes from
 * the browser (zh* gives Chinese) unless the toggle chose one, kept in
 * localStorage.  Elements carry data-i18n (text), data-i18n-label
 * (aria-label) or data-i18n-placeholder keys; apply() fills them.
 */

const WORDS = {
  title: ['空气质量网格', 'Air-quality grid'],
  langToggle: ['English', '中文'],
  langToggleLabel: ['Switch to English', '切换到中文'],
  latestHour: ['最新小时', 'Latest hour'],
  colourBy: ['着色', 'Colour by'],
  modeAqi: ['AQI 级别', 'AQI level'],
  findCell: ['网格', 'Cell'],
  findCellPh: ['如 r003c004', 'e.g. r003c004'],
  findGo: ['查看', 'Show'],
  noSuchCell: ['没有网格 {0}', 'No cell {0}'],
  mapTitle: ['网格地图', 'Grid map'],
  mapLabel: ['各网格的 AQI 地图。聚焦后用方向键移动，回车查看详情。',
    'Map of every cell\'s AQI. Focus it, move with the arrow keys, ' +
    'press Enter for details.'],
  mapHint: ['点击网格查看详情；或聚焦地图，用方向键移动，回车打开，Esc 关闭。',
    'Click a cell for details, or focus the map: arrow keys move, Enter ' +
    'opens, Esc closes.'],
  legend: ['图例', 'Legend'],
  unknown: ['无有效数据', 'No valid data'],
  offline: ['传感器离线', 'Sensors offline'],
  areaOutline: ['区域边界', 'Area outline'],
  summary: ['{0} 个网格 · {1} 个有 AQI · {2} 个无数据 · {3} 个离线',
    '{0} cells · {1} with AQI · {2} without data · {3} offline'],
  connConnecting: ['正在连接…', 'Connecting…'],
  connLive: ['实时', 'Live'],
  connRetry: ['连接中断，{0} 秒后重连', 'Disconnected, retrying in {0} s'],
  connPolling: ['无实时推送（告警服务未开启），每 {0} 秒刷新',
    'No live stream (alerts off); refreshing every {0} s'],
  connAuth: ['需要令牌才能读取', 'A token is needed to read'],
  loadFailed: ['加载失败：{0}', 'Failed to load: {0}'],
  // panel
  close: ['关闭', 'Close'],
  area: ['区域', 'Area'],
  hour: ['小时', 'Hour'],
  status: ['状态', 'Status'],
  st_ok: ['正常', 'OK'],
  st_no_data: ['无数据', 'No data'],
  st_offline: ['离线', 'Offline'],
  fault: ['故障', 'fault'],
  hotspots: ['热点', 'Hotspots'],
  hotspotsNone: ['暂无热点', 'No hotspot'],
  hotspotsError: ['热点无法加载', 'Hotspots could not be loaded'],
  hotspotLocal: ['源在本网格', 'source within the cell'],
  hotspotUpwind: ['源在{0}方向上风', 'source upwind, to the {0}'],
  hotspotHours: ['{0} 小时', '{0} h'],
  level: ['级别', 'Level'],
  aqiNA: ['AQI 不可用', 'AQI not available'],
  primary: ['首要污染物', 'Primary pollutant'],
  none: ['无', 'None'],
  indicator: ['指标', 'Indicator'],
  value: ['浓度', 'Value'],
  validity: ['有效性', 'Validity'],
  valid: ['有效', 'valid'],
  invalid: ['无效', 'not valid'],
  hoursN: ['{0} 小时', '{0} h'],
  exceedances: ['超标', 'Exceedances'],
  overLimit: ['超过限值 {0}', 'over the limit {0}'],
  noExceedance: ['无超标', 'No exceedance'],
  daily: ['日报 {0}', 'Daily report {0}'],
  sensors: ['传感器（{0}）', 'Sensors ({0})'],
  sensor: ['传感器', 'Sensor'],
  lastSeen: ['最后上报', 'Last seen'],
  chartTitle: ['最近 48 小时', 'Last 48 hours'],
  chartNoStore: ['没有历史数据（未配置存储）', 'No history (no store configured)'],
  chartEmpty: ['这 48 小时没有数据', 'No data in these 48 hours'],
  chartLimit: ['{0} 限值 {1}', '{0} limit {1}'],
  chartForecast: ['{0} 预报', '{0} forecast'],
  chartTitleFc: ['最近 48 小时与未来 24 小时预报（阴影为 80% 区间）',
    'Last 48 hours and the next 24 forecast (shaded: 80% interval)'],
  chartSummary: ['{0}：最近 48 小时最高 {1} {2}；限值 {3}',
    '{0}: highest {1} {2} in 48 hours; limit {3}'],
  silenceCell: ['静默此网格…', 'Silence this cell…'],
  silenceArea: ['静默此区域…', 'Silence this area…'],
  // areas
  areasTitle: ['区域', 'Areas'],
  colArea: ['区域', 'Area'],
  colCells: ['网格数', 'Cells'],
  colWorst: ['最差 AQI', 'Worst AQI'],
  colPm25: ['PM2.5 均值', 'Mean PM2.5'],
  colO3: ['O3 均值', 'Mean O3'],
  colLevels: ['各级网格数', 'Cells per level'],
  colExceed: ['今日超标小时', 'Exceedance hours today'],
  colWarning: ['重污染预警', 'Heavy-pollution warning'],
  warn_none: ['无', 'none'],
  warn_blue: ['蓝色', 'blue'],
  warn_yellow: ['黄色', 'yellow'],
  warn_orange: ['橙色', 'orange'],
  warn_red: ['红色', 'red'],
  warnSource: ['依据：{0}', 'from: {0}'],
  src_model: ['本系统预报', 'this grid\'s forecast'],
  src_external: ['预报中心', 'the forecast centre'],
  sortBy: ['按{0}排序', 'Sort by {0}'],
  levelsUnknown: ['无数据 {0}', 'unknown {0}'],
  // alerts
  alertsTitle: ['告警', 'Alerts'],
  sitesTitle: ['扬尘监管点', 'Dust sites'],
  alertsNone: ['没有触发、待定或最近恢复的告警', 'No firing, pending or recently resolved alerts'],
  alertsOff: ['告警服务未开启', 'Alerts are off on this daemon'],
  state_firing: ['触发', 'Firing'],
  state_pending: ['待定', 'Pending'],
  state_resolved: ['已恢复', 'Resolved'],
  sev_info: ['提示', 'info'],
  sev_warning: ['警告', 'warning'],
  sev_critical: ['严重', 'critical'],
  since: ['自 {0}', 'since {0}'],
  resolvedAt: ['恢复于 {0}', 'resolved {0}'],
  ackedBy: ['已由 {0} 确认', 'acknowledged by {0}'],
  silenced: ['已静默', 'silenced'],
  ack: ['确认', 'Acknowledge'],
  silence: ['静默…', 'Silence…'],
  ackDone: ['已确认 {0}', 'Acknowledged {0}'],
  ackFailed: ['确认失败：{0}', 'Acknowledging failed: {0}'],
  showCell: ['在地图上查看 {0}', 'Show {0} on the map'],
  // token dialog
  tokenTitle: ['需要 API 令牌', 'API token needed'],
  tokenText: ['确认告警和静默需要具有写权限的令牌。本会话内只问一次。',
    'Acknowledging and silencing need a token with write access. It is ' +
    'asked once per session.'],
  tokenLabel: ['令牌', 'Token'],
  tokenBad: ['令牌无效或只读，请重新输入。', 'The token was refused or is read-only; enter another.'],
  ok: ['确定', 'OK'],
  cancel: ['取消', 'Cancel'],
  // silence dialog
  silenceTitle: ['新建静默', 'New silence'],
  silenceTarget: ['对象', 'For'],
  silenceFor: ['时长', 'Duration'],
  hours1: ['1 小时', '1 hour'],
  hoursN2: ['{0} 小时', '{0} hours'],
  comment: ['备注', 'Comment'],
  create: ['创建', 'Create'],
  silenceDone: ['已静默 {0}，至 {1}', 'Silenced {0} until {1}'],
  silenceFailed: ['静默失败：{0}', 'Silencing failed: {0}']
};

const KEY = 'aqgrid.lang';
let lang = pick();

function pick() {
  let saved = null;
  try {
    saved = localStorage.getItem(KEY);
  } catch (e) {
    /* storage off: follow the browser */
  }
  if (saved === 'zh' || saved === 'en') return saved;
  const langs = navigator.languages && navigator.languages.length ?
    navigator.languages : [navigator.language || 'en'];
  return /^zh\b/i.test(langs[0]) ? 'zh' : 'en';
}

export function current() {
  return lang;
}

export function set(l) {
  lang = l === 'zh' ? 'zh' : 'en';
  try {
    localStorage.setItem(KEY, lang);
  } catch (e) {
    /* not kept: fine */
  }
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
}

/* The word for key, with {0}, {1}... replaced by args. */
export function t(key, ...args) {
  const w = WORDS[key];
  let s = w ? w[lang === 'zh' ? 0 : 1] : key;
  args.forEach((a, k) => { s = s.split('{' + k + '}').join(String(a)); });
  return s;
}

export function apply(root) {
  root.querySelectorAll('[data-i18n]').forEach(e => {
    e.textContent = t(e.dataset.i18n);
  });
  root.querySelectorAll('[data-i18n-label]').forEach(e => {
    e.setAttribute('aria-label', t(e.dataset.i18nLabel));
  });
  root.querySelectorAll('[data-i18n-placeholder]').forEach(e => {
    e.setAttribute('placeholder', t(e.dataset.i18nPlaceholder));
  });
  document.title = t('title');
}

/* Indicator names as people write them. */
export const IND = {
  pm25_1h: 'PM2.5 1h', pm25_24h: 'PM2.5 24h', pm10_1h: 'PM10 1h',
  pm10_24h: 'PM10 24h', so2_1h: 'SO2 1h', so2_24h: 'SO2 24h',
  no2_1h: 'NO2 1h', no2_24h: 'NO2 24h', co_1h: 'CO 1h', co_8h: 'CO 8h',
  co_24h: 'CO 24h', o3_1h: 'O3 1h', o3_8h: 'O3 8h'
};

export function indName(k) {
  return IND[k] || k;
}

/* API times are the zone's clock with an offset: shown as written. */
export function when(iso) {
  if (!iso) return '—';
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d)/.exec(iso);
  return m ? m[1] + ' ' + m[2] : iso;
}

export function num(v, digits) {
  if (v === null || v === undefined) return '—';
  const a = Math.abs(v);
  const d = digits !== undefined ? digits : a >= 100 ? 0 : a >= 1 ? 1 : 2;
  return Number(v).toFixed(d);
}
