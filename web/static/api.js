/*
 * api: requests to aqgridd.  A bearer token, once given, is kept in
 * sessionStorage (gone when the tab closes) and sent with every request;
 * writes ask for one through the prompt the page registers, once per
 * session, and again only when the daemon refuses it.
 */

const KEY = 'aqgrid.token';
let prompter = null;

export class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function token() {
  try {
    return sessionStorage.getItem(KEY);
  } catch (e) {
    return null;
  }
}

export function setToken(tok) {
  try {
    if (tok) sessionStorage.setItem(KEY, tok);
    else sessionStorage.removeItem(KEY);
  } catch (e) {
    /* storage off: asked again next time */
  }
}

/* fn(retry: bool) resolves to a token, or null when the user cancels. */
export function setPrompt(fn) {
  prompter = fn;
}

function headers(extra) {
  const h = Object.assign({Accept: 'application/json'}, extra || {});
  const tok = token();
  if (tok) h.Authorization = 'Bearer ' + tok;
  return h;
}

async function errorOf(r) {
  let msg = 'HTTP ' + r.status;
  try {
    const j = await r.json();
    if (j && j.error) msg = j.error + ' (HTTP ' + r.status + ')';
  } catch (e) {
    /* not JSON */
  }
  return new HttpError(r.status, msg);
}

export async function getJSON(url) {
  const r = await fetch(url, {headers: headers(), cache: 'no-store'});
  if (!r.ok) throw await errorOf(r);
  return r.json();
}

/*
 * POSTs body as JSON with the token, asking for one first when there is
 * none, and again (once) when the daemon answers 401 or 403.
 */
export async function postJSON(url, body) {
  for (let round = 0; round < 2; round++) {
    if (!token()) {
      const tok = prompter ? await prompter(round > 0) : null;
      if (!tok) throw new HttpError(0, 'no token');
      setToken(tok);
    }
    const r = await fetch(url, {
      method: 'POST',
      headers: headers({'Content-Type': 'application/json'}),
      body: JSON.stringify(body || {})
    });
    if (r.status === 401 || r.status === 403) {
      setToken(null);
      if (round === 0) continue;
    }
    if (!r.ok) throw await errorOf(r);
    return r.json();
  }
  throw new HttpError(401, 'token refused');
}
