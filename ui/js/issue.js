// One issue: status actions, counts, tag distributions, and one event in
// full (exception chain, breadcrumbs, request, user, contexts, extra) with
// the log lines around it. Event data is shown as text only.
import { h, mount, timeEl, levelBadge, fmtNum, notice, clear, exactTime, download } from './dom.js';
import { get, getPage, put } from './api.js';
import { histogram, bars } from './chart.js';
import { setHash } from './app.js';

function kv(obj) {
  const dl = h('dl', { class: 'kv' });
  for (const [k, v] of Object.entries(obj || {})) {
    if (v === null || v === undefined || v === '') continue;
    dl.append(h('dt', {}, k), h('dd', {}, typeof v === 'object' ? JSON.stringify(v, null, 2) : String(v)));
  }
  return dl.children.length ? dl : null;
}

function section(title, ...content) {
  const c = content.filter(Boolean);
  if (!c.length) return null;
  return h('section', { class: 'panel' }, h('h3', {}, title), ...c);
}

function frameEl(f) {
  const where = [f.filename || f.abs_path || f.module || '?', f.lineno ? `:${f.lineno}` : '', f.colno ? `:${f.colno}` : ''].join('');
  const d = h('details', { class: 'frame' + (f.in_app ? ' in-app' : '') });
  if (f.in_app) d.open = true;
  d.append(h('summary', {}, h('span', { class: 'fn' }, f.function || '<anonymous>'), h('span', { class: 'muted' }, ' in '), h('span', { class: 'file' }, where),
    f.in_app ? h('span', { class: 'badge' }, 'in app') : null));
  if (f.context_line !== undefined && f.context_line !== null) {
    const pre = h('ol', { class: 'source', start: Math.max(1, (f.lineno || 1) - (f.pre_context || []).length) });
    for (const l of f.pre_context || []) pre.append(h('li', {}, l));
    pre.append(h('li', { class: 'hl' }, f.context_line));
    for (const l of f.post_context || []) pre.append(h('li', {}, l));
    d.append(pre);
  }
  if (f.vars && Object.keys(f.vars).length) d.append(h('h4', {}, 'Local variables'), kv(f.vars));
  return d;
}

function exceptionEl(ev) {
  const vals = (ev.exception && ev.exception.values) || [];
  if (!vals.length) return null;
  const out = h('div', {});
  // The raised exception first, then its causes (the API lists oldest cause first).
  [...vals].reverse().forEach((x, i) => {
    const frames = (x.stacktrace && x.stacktrace.frames) || [];
    const box = h('div', { class: 'exception' },
      i > 0 ? h('p', { class: 'muted' }, 'caused by') : null,
      h('h4', {}, h('span', { class: 'exc-type' }, x.type || 'Error'), ': ', h('span', { class: 'exc-value' }, x.value || '')),
      x.mechanism ? h('p', { class: 'muted' }, `mechanism: ${x.mechanism.type || ''}${x.mechanism.handled === false ? ' (unhandled)' : ''}`) : null);
    const stack = h('div', { class: 'stack' });
    const rev = [...frames].reverse(); // newest call first
    let folded = [];
    const flush = () => {
      if (!folded.length) return;
      const d = h('details', { class: 'lib-frames' }, h('summary', {}, `${folded.length} library frame${folded.length > 1 ? 's' : ''}`));
      folded.forEach((f) => d.append(frameEl(f)));
      stack.append(d);
      folded = [];
    };
    for (const f of rev) {
      if (f.in_app) { flush(); stack.append(frameEl(f)); } else folded.push(f);
    }
    flush();
    box.append(stack);
    out.append(box);
  });
  return out;
}

function breadcrumbsEl(ev) {
  const crumbs = Array.isArray(ev.breadcrumbs) ? ev.breadcrumbs : (ev.breadcrumbs && ev.breadcrumbs.values) || [];
  if (!crumbs.length) return null;
  const ol = h('ol', { class: 'timeline' });
  for (const b of crumbs) {
    const ts = typeof b.timestamp === 'number' ? new Date(b.timestamp * 1000).toISOString() : b.timestamp;
    ol.append(h('li', { class: 'crumb' },
      h('span', { class: 'when', title: exactTime(ts) }, ts ? new Date(Date.parse(ts)).toLocaleTimeString() : ''),
      levelBadge(b.level || 'info'), ' ',
      h('span', { class: 'cat' }, b.category || b.type || ''), ' ',
      h('span', { class: 'msg' }, b.message || ''),
      b.data ? h('code', { class: 'data' }, JSON.stringify(b.data)) : null));
  }
  return ol;
}

// "Around this event": lines with the same trace/request id, else the same
// host within two minutes, interleaved with the event itself.
async function aroundEl(ev, pid) {
  const box = h('div', { class: 'around' }, h('p', { class: 'muted' }, 'Loading…'));
  const t = Date.parse(ev.timestamp);
  const win = { since: new Date(t - 120e3).toISOString(), until: new Date(t + 120e3).toISOString() };
  const fill = async () => {
    let lines = null, how = '', query = '';
    const ids = [['trace_id', ev.trace_id], ['request_id', ev.request_id]].filter(([, v]) => v);
    for (const [f, v] of ids) {
      query = `${f}:${v}`;
      const same = (l) => l[f] === v || (l.attributes && l.attributes[f] === v);
      how = `sharing ${f} ${v}`;
      try {
        // Filtered here too: a server without the search language ignores query.
        // Within ±1 h: a trace or request is short, and a bounded time range
        // lets the server read one hour's lines, not the whole retention.
        lines = (await get(`/api/0/projects/${pid}/logs/`, { query, limit: 200, since: new Date(t - 3600e3).toISOString(), until: new Date(t + 3600e3).toISOString() })).filter(same);
      } catch (e) {
        if (e.status !== 400) throw e;
        lines = [];
      }
      // No query support, or nothing found: read the ±2 min window and match here.
      if (!lines.length) lines = (await get(`/api/0/projects/${pid}/logs/`, Object.assign({ limit: 1000 }, win))).filter(same);
      if (lines.length) break;
    }
    if (!lines || !lines.length) {
      query = ev.server_name ? `server_name:${ev.server_name}` : '';
      const all = await get(`/api/0/projects/${pid}/logs/`, Object.assign({ limit: 200 }, win));
      lines = ev.server_name ? all.filter((l) => !l.server_name || l.server_name === ev.server_name) : all;
      how = ev.server_name ? `from ${ev.server_name} within ±2 minutes` : 'within ±2 minutes';
    }
    clear(box);
    const rows = lines.map((l) => ({ t: Date.parse(l.timestamp), l })).concat([{ t, self: true }]).sort((a, b) => a.t - b.t);
    const ul = h('ul', { class: 'loglines' });
    for (const r of rows) {
      if (r.self) { ul.append(h('li', { class: 'self' }, h('span', { class: 'ts' }, new Date(r.t).toLocaleTimeString()), levelBadge(ev.level), ' ', h('strong', {}, '▶ this event: '), ev.title || ev.message || '')); continue; }
      ul.append(h('li', { class: 'logline' }, h('span', { class: 'ts', title: exactTime(r.l.timestamp) }, new Date(r.t).toLocaleTimeString()), levelBadge(r.l.level), ' ', h('span', { class: 'msg' }, r.l.message || r.l.title || '')));
    }
    box.append(h('p', { class: 'muted' }, `${lines.length} log line${lines.length === 1 ? '' : 's'} ${how}. `,
      h('a', { href: `#/logs?${new URLSearchParams({ project: pid, query, since: win.since, until: win.until })}` }, 'Open in the logs explorer')), ul);
  };
  fill().catch((e) => { clear(box).append(notice('error', `Could not load the logs: ${e.message}`)); });
  return box;
}

function tagsEl(ev) {
  const tags = Array.isArray(ev.tags) ? ev.tags : Object.entries(ev.tags || {});
  if (!tags.length) return null;
  return h('ul', { class: 'tags' }, tags.map(([k, v]) => h('li', {}, h('span', { class: 'k' }, k), h('span', { class: 'v' }, String(v)))));
}

function tagDistributions(events) {
  const by = new Map();
  for (const e of events) {
    const tags = Array.isArray(e.tags) ? e.tags : Object.entries(e.tags || {});
    const add = (k, v) => { if (!v) return; if (!by.has(k)) by.set(k, new Map()); const m = by.get(k); m.set(String(v), (m.get(String(v)) || 0) + 1); };
    for (const [k, v] of tags) add(k, v);
    add('environment', e.environment);
    add('release', e.release);
  }
  const out = h('div', { class: 'tagdist' });
  for (const [k, m] of by) {
    const rows = [...m].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([label, count]) => ({ label, count }));
    out.append(h('div', {}, h('h4', {}, k), bars(rows)));
  }
  return by.size ? out : null;
}

async function eventView(issue, events, idx) {
  const sum = events[idx];
  const pid = issue.project_id;
  const ev = await get(`/api/0/projects/${pid}/events/${sum.event_id}/`);
  const navTo = (i) => setHash('issue', [issue.id], { event: events[i].event_id }, true) || window.dispatchEvent(new HashChangeEvent('hashchange'));
  const nav = h('div', { class: 'eventnav' },
    h('strong', {}, 'Event '), h('code', {}, ev.event_id), ' ', timeEl(ev.timestamp), h('span', { class: 'grow' }),
    h('button', { type: 'button', disabled: idx === 0, onclick: () => navTo(0) }, 'Newest'),
    h('button', { type: 'button', disabled: idx === 0, onclick: () => navTo(idx - 1) }, 'Newer'),
    h('button', { type: 'button', disabled: idx >= events.length - 1, onclick: () => navTo(idx + 1) }, 'Older'),
    h('button', { type: 'button', disabled: idx >= events.length - 1, onclick: () => navTo(events.length - 1) }, 'Oldest'),
    h('button', { type: 'button', onclick: () => download(`event-${ev.event_id}.json`, 'application/json', JSON.stringify(ev.raw !== undefined ? ev.raw : ev, null, 2)) }, 'Raw JSON'));
  let attachments = null;
  if (Array.isArray(ev.attachments) && ev.attachments.length)
    attachments = h('ul', {}, ev.attachments.map((a) => h('li', {}, h('a', { href: `/api/0/projects/${pid}/events/${ev.event_id}/attachments/${a.id}/`, download: a.name }, a.name), ` ${a.mimetype || ''} ${fmtNum(a.size)} bytes`)));
  return h('div', { class: 'event' }, nav,
    ev.message && ev.message !== ev.title ? section('Message', h('pre', { class: 'message' }, ev.message)) : null,
    section('Exception', exceptionEl(ev)),
    section('Around this event', await aroundEl(ev, pid)),
    section('Breadcrumbs', breadcrumbsEl(ev)),
    section('Tags', tagsEl(ev)),
    section('Request', kv(ev.request)),
    section('User', kv(ev.user)),
    section('Contexts', ...Object.entries(ev.contexts || {}).map(([k, v]) => h('div', {}, h('h4', {}, k), kv(v)))),
    section('Extra', kv(ev.extra)),
    section('Details', kv({ logger: ev.logger, platform: ev.platform, release: ev.release, environment: ev.environment, server_name: ev.server_name, transaction: ev.transaction, trace_id: ev.trace_id, request_id: ev.request_id, sdk: ev.sdk && `${ev.sdk.name || ''} ${ev.sdk.version || ''}` })),
    section('Attachments', attachments));
}

export async function issuePage({ args, params, signal }) {
  const id = args[0];
  // Feedback is asked for at once too (older servers answer 404: no feedback).
  const period = ['14d', '90d'].includes(params.get('period')) ? params.get('period') : '24h';
  const [issue, { data: events }, fb] = await Promise.all([get(`/api/0/issues/${id}/`, { period }, signal), getPage(`/api/0/issues/${id}/events/`, { limit: 100 }, signal),
    get(`/api/0/issues/${id}/feedback/`, undefined, signal).catch(() => [])]);
  const status = h('span', { class: 'badge status-' + issue.status, id: 'issue-status' }, issue.status);
  const act = async (st) => { await put(`/api/0/issues/${id}/`, { status: st }); window.dispatchEvent(new HashChangeEvent('hashchange')); };
  const actions = h('div', { class: 'actions' },
    issue.status !== 'resolved' ? h('button', { type: 'button', class: 'primary', id: 'resolve', onclick: () => act('resolved') }, 'Resolve') : null,
    issue.status !== 'resolved' && issue.last_release ? h('button', { type: 'button', id: 'resolve-next', title: `Resolved; only an event of a release other than ${issue.last_release} reopens it`, onclick: () => act('resolved_in_next_release') }, 'Resolve in next release') : null,
    issue.status !== 'ignored' ? h('button', { type: 'button', id: 'ignore', onclick: () => act('ignored') }, 'Ignore') : null,
    issue.status !== 'unresolved' ? h('button', { type: 'button', id: 'reopen', onclick: () => act('unresolved') }, 'Reopen') : null);
  // The counts of the period in the URL (?period=24h|14d|90d); hourly for 24 h, daily else.
  const counts = Array.isArray(issue.counts) ? issue.counts : issue.hourly;
  const since = Date.parse(issue.counts ? issue.counts_since : issue.hourly_since);
  const step = (issue.counts_interval || 3600) * 1e3;
  const chart = Array.isArray(counts) && !Number.isNaN(since)
    ? histogram(counts.map((c, i) => ({ t: since + i * step, counts: { events: c } })), { step, series: [{ key: 'events', cls: 'lvl-error' }], height: 110 })
    : null;
  const periods = h('div', { class: 'tabs periods', role: 'tablist' }, ['24h', '14d', '90d'].map((p) =>
    h('a', { href: `#/issue/${id}?period=${p}`, class: p === period ? 'active' : '', 'aria-selected': String(p === period), id: `period-${p}` }, p.replace('h', ' h').replace('d', ' d'))));
  const header = h('header', { class: 'issue-head' },
    h('p', {}, h('a', { href: `#/issues?project=${issue.project_id}` }, '← Issues')),
    h('h1', {}, levelBadge(issue.level), ' ', h('span', { class: 'title' }, issue.title)),
    h('p', { class: 'culprit' }, issue.culprit || ''),
    h('div', { class: 'meta' }, status, ' ', h('span', {}, `${fmtNum(issue.count)} events`), ' · first ', timeEl(issue.first_seen), ' · last ', timeEl(issue.last_seen),
      issue.first_release ? ` · release ${issue.first_release}` : '',
      issue.resolved_in_release ? ` · resolved in the release after ${issue.resolved_in_release}` : ''),
    actions);
  const evBox = h('div', {}, h('p', { class: 'muted' }, 'Loading event…'));
  const feedback = fb.length ? h('ul', { class: 'feedback' }, fb.map((f) => h('li', {}, h('blockquote', {}, f.comments || ''), h('span', { class: 'muted' }, `${f.name || ''} ${f.email || ''} `), timeEl(f.date_created)))) : null;
  mount(signal, header, section(`Events, last ${period.replace('h', ' h').replace('d', ' d')}`, periods, chart), section('Tags', tagDistributions(events)), section('User feedback', feedback), evBox);
  if (!events.length) { clear(evBox).append(notice('info', 'No events kept for this issue.')); return; }
  let idx = events.findIndex((e) => e.event_id === params.get('event'));
  if (idx < 0) idx = 0;
  const view = await eventView(issue, events, idx);
  if (!signal.aborted) clear(evBox).append(view);
  performance.mark('bilor-issue-shown'); // first results (tools/measure/ui_perf.py)
}
