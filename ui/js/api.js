// The REST API client. Two ways to be signed in: a session cookie from
// POST /api/0/auth/login (state-changing requests then carry X-CSRF-Token),
// or an API token pasted on the sign-in page, kept in sessionStorage and sent
// as a Bearer token.

const TOKEN_KEY = 'bilor.token';
const CSRF_KEY = 'bilor.csrf';

export class ApiError extends Error {
  constructor(status, message, retryAfter, data) {
    super(message);
    this.status = status;
    this.retryAfter = retryAfter;
    this.data = data; // the error body, e.g. a grouping rule's field, line and column
  }
}

export const auth = {
  get token() { return sessionStorage.getItem(TOKEN_KEY); },
  set token(v) { if (v) sessionStorage.setItem(TOKEN_KEY, v); else sessionStorage.removeItem(TOKEN_KEY); },
  get csrf() { return sessionStorage.getItem(CSRF_KEY); },
  set csrf(v) { if (v) sessionStorage.setItem(CSRF_KEY, v); else sessionStorage.removeItem(CSRF_KEY); },
  user: null,
};

function headers(method, extra) {
  const hd = Object.assign({ Accept: 'application/json' }, extra || {});
  if (auth.token) hd.Authorization = 'Bearer ' + auth.token;
  if (method !== 'GET' && method !== 'HEAD' && auth.csrf) hd['X-CSRF-Token'] = auth.csrf;
  return hd;
}

export function url(path, params) {
  const u = new URL(path, location.origin);
  for (const [k, v] of Object.entries(params || {}))
    if (v !== undefined && v !== null && v !== '') u.searchParams.set(k, v);
  return u.pathname + u.search;
}

// Fetches JSON; returns {data, next} where next is the cursor of the Link header.
export async function request(method, path, { params, body, signal } = {}) {
  const init = { method, headers: headers(method), credentials: 'same-origin', signal };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  const res = await fetch(url(path, params), init);
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) {
    const msg = (data && data.error) || `${res.status} ${res.statusText}`;
    throw new ApiError(res.status, msg, res.headers.get('Retry-After'), data);
  }
  const link = res.headers.get('Link') || '';
  const m = /cursor="([^"]*)"/.exec(link);
  return { data, next: m ? m[1] : null };
}

export const get = async (path, params, signal) => (await request('GET', path, { params, signal })).data;
export const getPage = (path, params, signal) => request('GET', path, { params, signal });
export const put = async (path, body) => (await request('PUT', path, { body })).data;
export const post = async (path, body) => (await request('POST', path, { body })).data;
export const del = async (path) => (await request('DELETE', path)).data;

// Who is signed in: the session (auth/me), else the pasted token. null when neither.
export async function whoami() {
  try {
    const me = await get('/api/0/auth/me');
    auth.user = me.user || me;
    if (me.csrf_token) auth.csrf = me.csrf_token;
    return auth.user;
  } catch (e) {
    if (!auth.token) return null;
  }
  try {
    await get('/api/0/');
    auth.user = { name: 'API token', email: '', is_admin: true, token: true };
    return auth.user;
  } catch (e) {
    if (e.status === 401) auth.token = null;
    return null;
  }
}

export async function login(email, password) {
  const res = await post('/api/0/auth/login', { email, password });
  auth.user = res.user;
  auth.csrf = res.csrf_token;
  return res.user;
}

export async function logout() {
  if (!auth.token) {
    try { await post('/api/0/auth/logout', {}); } catch { /* signed out anyway */ }
  }
  auth.token = null;
  auth.csrf = null;
  auth.user = null;
}

// Reads a text/event-stream with fetch (so the Bearer token and cookie both
// work) and calls onEvent(name, data) per event until signal aborts.
export async function stream(path, params, onEvent, signal) {
  const res = await fetch(url(path, params), {
    headers: headers('GET', { Accept: 'text/event-stream' }), credentials: 'same-origin', signal,
  });
  if (!res.ok) {
    let msg = `${res.status} ${res.statusText}`;
    try { msg = (await res.json()).error || msg; } catch { /* not JSON */ }
    throw new ApiError(res.status, msg);
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value;
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      let name = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) name = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length) onEvent(name, data.join('\n'));
    }
  }
}

// Whether the server has the search language (query=, histograms, facets).
// Older servers ignore query=, so pages then filter what they show themselves.
let searchProbe = null;
export function hasSearch(pid) {
  if (!searchProbe) {
    searchProbe = get(`/api/0/projects/${pid}/logs/histogram/`, { since: new Date(Date.now() - 60e3).toISOString() })
      .then(() => true, (e) => !(e.status === 404 || e.status === 405));
  }
  return searchProbe;
}
