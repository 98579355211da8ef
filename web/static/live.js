/*
 * live: the daemon's Server-Sent Events (GET /api/v1/events), read with
 * fetch so the request can carry the bearer token and Last-Event-ID
 * itself.  Reconnects on its own after the server's retry delay, backing
 * off to 30 s, and resumes after the last event it saw; a stream silent
 * for longer than three heartbeats is taken for dead.
 */

import {token} from './api.js';

const BACKOFF_MAX = 30000;
const QUIET_MAX = 50000; /* the daemon sends a comment every 15 s */
const UNAVAILABLE_RETRY = 30000;

/*
 * Starts the stream.  onEvent({id, type, data}) gets each event (data
 * parsed); onState(state, detail) gets 'connecting', 'live', 'retry'
 * (detail: ms), 'unavailable' (503: alerts off or too many streams) or
 * 'auth' (401).  Returns {stop(), lastId()}.
 */
export function connect(onEvent, onState) {
  let lastId = null;
  let retry = 3000;
  let failures = 0;
  let stopped = false;
  let ctrl = null;
  let quiet = null;

  function arm() {
    clearTimeout(quiet);
    quiet = setTimeout(() => { if (ctrl) ctrl.abort(); }, QUIET_MAX);
  }

  function dispatch(ev) {
    if (ev.id !== null) lastId = ev.id;
    if (ev.data === '') return;
    let data = null;
    try {
      data = JSON.parse(ev.data);
    } catch (e) {
      return;
    }
    onEvent({id: ev.id, type: ev.type || 'message', data: data});
  }

  /* The text/event-stream grammar: fields until a blank line. */
  async function read(body) {
    const reader = body.getReader();
    const dec = new TextDecoder();
    let buf = '';
    let ev = {id: null, type: '', data: ''};
    let hasData = false;

    for (;;) {
      const {value, done} = await reader.read();
      if (done) return;
      arm();
      buf += dec.decode(value, {stream: true});
      let nl;
      while ((nl = buf.search(/\r\n|\r|\n/)) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + (buf[nl] === '\r' && buf[nl + 1] === '\n' ?
          2 : 1));
        if (line === '') {
          if (hasData || ev.id !== null) dispatch(ev);
          ev = {id: null, type: '', data: ''};
          hasData = false;
          continue;
        }
        if (line[0] === ':') continue;
        const c = line.indexOf(':');
        const field = c < 0 ? line : line.slice(0, c);
        let val = c < 0 ? '' : line.slice(c + 1);
        if (val[0] === ' ') val = val.slice(1);
        if (field === 'data') {
          ev.data += (hasData ? '\n' : '') + val;
          hasData = true;
        } else if (field === 'event') {
          ev.type = val;
        } else if (field === 'id' && val.indexOf('\0') < 0) {
          ev.id = val;
        } else if (field === 'retry' && /^\d+$/.test(val)) {
          retry = Number(val);
        }
      }
    }
  }

  async function run() {
    while (!stopped) {
      let wait;
      onState('connecting');
      try {
        const h = {Accept: 'text/event-stream'};
        const tok = token();
        if (tok) h.Authorization = 'Bearer ' + tok;
        if (lastId !== null) h['Last-Event-ID'] = lastId;
        ctrl = new AbortController();
        arm();
        const r = await fetch('/api/v1/events', {
          headers: h, cache: 'no-store', signal: ctrl.signal
        });
        if (r.status === 503 || r.status === 401) {
          onState(r.status === 503 ? 'unavailable' : 'auth');
          wait = UNAVAILABLE_RETRY;
        } else if (!r.ok || !r.body) {
          throw new Error('HTTP ' + r.status);
        } else {
          onState('live');
          failures = 0;
          await read(r.body);
        }
      } catch (e) {
        /* network error, abort or bad answer: retry below */
      }
      clearTimeout(quiet);
      ctrl = null;
      if (stopped) break;
      if (wait === undefined) {
        /* Full jitter, so many screens do not come back at once. */
        const cap = Math.min(BACKOFF_MAX, retry * Math.pow(2, failures));
        wait = Math.round(cap / 2 + Math.random() * cap / 2);
        failures++;
        onState('retry', wait);
      }
      await new Promise(res => setTimeout(res, wait));
    }
  }

  run();
  return {
    stop() {
      stopped = true;
      if (ctrl) ctrl.abort();
    },
    lastId() {
      return lastId;
    },
    /* Ends the current connection as a network failure would. */
    drop() {
      if (ctrl) ctrl.abort();
    }
  };
}
