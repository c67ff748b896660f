// Logs explorer: query, time range, histogram by level, facets, expandable
// rows (click a value to filter on it), context, live tail, export.
import { h, mount, levelBadge, notice, clear, exactTime, download, fmtNum } from './dom.js';
import { get, getPage, stream, hasSearch } from './api.js';
import { terms, matches } from './query.js';
import { histogram, bars } from './chart.js';
import { projects, setHash } from './app.js';

const RANGES = [['15m', 900], ['1h', 3600], ['6h', 21600], ['24h', 86400], ['7d', 604800], ['30d', 2592000]];
const LEVELS = ['fatal', 'error', 'warning', 'info', 'debug', 'trace'];
const FACETS = ['level', 'logger', 'server_name', 'environment', 'release'];

function missing(what, e) {
  return notice('info', e.status === 404 ? `${what} needs a newer server (the API answered 404).` : `${what}: ${e.message}`);
}

export async function logsPage({ params, signal }) {
  const list = await projects();
  if (!list.length) { mount(signal, notice('info', 'No projects yet.')); return; }
  const pid = params.get('project') || String(list[0].id);
  const query = params.get('query') || '';
  const range = params.get('range') || (params.get('since') ? '' : '24h');
  const secs = (RANGES.find((r) => r[0] === range) || [, 86400])[1];
  const since = params.get('since') || new Date(Date.now() - secs * 1000).toISOString();
  const until = params.get('until') || '';
  const cursor = params.get('cursor') || '';
  const state = { project: pid, query, range, since: range ? '' : since, until: range ? '' : until };
  const go = (ch, replace) => setHash('logs', [], Object.assign({}, state, { cursor: '' }, ch), replace);
  const addTerm = (term) => go({ query: (query ? query + ' ' : '') + term });

  const search = h('input', { type: 'search', name: 'query', value: query, placeholder: 'level:error service:api "timeout" (press /)', 'aria-label': 'Search logs' });
  const projSel = h('select', { 'aria-label': 'Project', onchange: (e) => go({ project: e.target.value }) }, list.map((p) => h('option', { value: p.id, selected: String(p.id) === pid }, p.name)));
  const rangeSel = h('select', { 'aria-label': 'Time range', onchange: (e) => go({ range: e.target.value, since: '', until: '' }) },
    RANGES.map(([k]) => h('option', { value: k, selected: k === range }, `Last ${k}`)), range ? null : h('option', { value: '', selected: true }, `${exactTime(since)} – ${until ? exactTime(until) : 'now'}`));
  const form = h('form', { class: 'searchbar', role: 'search', onsubmit: (e) => { e.preventDefault(); go({ query: search.value.trim() }); } }, projSel, search, rangeSel, h('button', { type: 'submit' }, 'Search'));
  const chartBox = h('div', { class: 'histwrap' });
  const facetBox = h('aside', { class: 'facets' }, h('h3', {}, 'Fields'));
  const results = h('div', { class: 'results' });
  const tailBtn = h('button', { type: 'button', id: 'tail', 'aria-pressed': 'false' }, 'Live tail');
  const rate = h('span', { class: 'muted rate', 'aria-live': 'off' });
  const exportBtns = [h('button', { type: 'button', onclick: () => exportAs('ndjson') }, 'NDJSON'), h('button', { type: 'button', onclick: () => exportAs('csv') }, 'CSV')];
  const pager = h('div', { class: 'pager' });
  mount(signal, h('h1', {}, 'Logs'), form, chartBox, h('div', { class: 'toolbar' }, tailBtn, rate, h('span', { class: 'grow' }), h('span', { class: 'muted' }, 'Export: '), ...exportBtns),
    h('div', { class: 'logs-layout' }, facetBox, h('div', {}, results, pager)));

  const base = { query, since, until };
  // The lines are asked for first: they are the first results. The facets,
  // which read many more rows, start once the lines are in, so on a server
  // with few read threads they never delay them.
  const listP = getPage(`/api/0/projects/${pid}/logs/`, Object.assign({ limit: 100, cursor }, base), signal);
  listP.catch(() => {}); // handled where it is awaited
  const searchable = await hasSearch(pid);
  const drawHistogram = (step, buckets) => chartBox.append(histogram(buckets, { step, series: LEVELS.map((l) => ({ key: l, cls: 'lvl-' + l })),
    onZoom: (a, z) => go({ range: '', since: new Date(a).toISOString(), until: new Date(z).toISOString() }) }));
  const drawFacets = (entries) => {
    for (const [field, values] of entries) {
      if (!values || !values.length) continue;
      facetBox.append(h('h4', {}, field), bars(values.map((v) => ({ label: String(v.value), count: v.count })),
        { onClick: (row) => addTerm(`${field}:${/[\s"]/.test(row.label) ? JSON.stringify(row.label) : row.label}`) }));
    }
  };
  if (searchable) {
    get(`/api/0/projects/${pid}/logs/histogram/`, Object.assign({ interval: 'auto' }, base), signal).then((r) => {
      drawHistogram((r.interval || 60) * 1000, (r.buckets || []).map((b) => ({ t: Date.parse(b.t), counts: b.levels && Object.keys(b.levels).length ? b.levels : { info: b.count || 0 } })));
    }).catch((e) => { if (e.name !== 'AbortError') chartBox.append(missing('The histogram', e)); });
    const facetParams = new URLSearchParams(Object.entries(base).filter(([, v]) => v));
    FACETS.forEach((f) => facetParams.append('field', f));
    const facets = () => get(`/api/0/projects/${pid}/logs/facets/?${facetParams}`, { limit: 8 }, signal).then((r) => {
      const fields = r.fields || r.facets || r;
      drawFacets(Array.isArray(fields) ? fields.map((f) => [f.field || f.name, f.values || []]) : Object.entries(fields));
    }).catch((e) => { if (e.name !== 'AbortError') facetBox.append(missing('Facets', e)); });
    listP.then(facets, facets);
  }

  let rows = [];
  const table = h('ul', { class: 'loglist', id: 'log-list' });
  const rowEl = (l) => {
    const attrs = Object.assign({ level: l.level, logger: l.logger, server_name: l.server_name, trace_id: l.trace_id, request_id: l.request_id, release: l.release, environment: l.environment }, l.attributes || {});
    const detail = h('div', { class: 'attrs' });
    const li = h('li', { class: 'row logline lvl-row-' + (l.level || 'info') },
      h('button', { type: 'button', class: 'expand', 'aria-expanded': 'false', onclick: (e) => {
        const open = e.currentTarget.getAttribute('aria-expanded') !== 'true';
        e.currentTarget.setAttribute('aria-expanded', String(open));
        detail.hidden = !open;
      } }, h('span', { class: 'ts', title: exactTime(l.timestamp) }, new Date(Date.parse(l.timestamp)).toLocaleString()), ' ', levelBadge(l.level), ' ', h('span', { class: 'msg' }, l.message || l.title || '')),
      detail);
    detail.hidden = true;
    const dl = h('dl', { class: 'kv' });
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === '') continue;
      const val = typeof v === 'object' ? JSON.stringify(v) : String(v);
      const term = `${k}:${/[\s"]/.test(val) ? JSON.stringify(val) : val}`;
      dl.append(h('dt', {}, k), h('dd', {}, h('span', { class: 'val' }, val), ' ',
        h('button', { type: 'button', class: 'small', title: `Add ${term}`, onclick: () => addTerm(term) }, '+'),
        h('button', { type: 'button', class: 'small', title: `Add -${term}`, onclick: () => addTerm('-' + term) }, '−')));
    }
    const ctx = h('div', { class: 'context' });
    detail.append(dl, h('button', { type: 'button', class: 'small', onclick: async () => {
      clear(ctx);
      try {
        const r = await get(`/api/0/projects/${pid}/logs/context/`, { line: l.event_id, before: 10, after: 10 });
        const lines = Array.isArray(r) ? r : [...(r.before || []), l, ...(r.after || [])];
        ctx.append(h('ul', { class: 'loglines' }, lines.map((c) => h('li', { class: c.event_id === l.event_id ? 'self' : '' }, new Date(Date.parse(c.timestamp)).toLocaleTimeString(), ' ', levelBadge(c.level), ' ', c.message || ''))));
      } catch (e) { ctx.append(missing('Context', e)); }
    } }, 'Show context'), ctx);
    return li;
  };
  try {
    let next;
    ({ data: rows, next } = await listP);
    if (next) pager.append(h('a', { href: '#', class: 'next', onclick: (e) => { e.preventDefault(); setHash('logs', [], Object.assign({}, state, { cursor: next })); } }, 'Older →'));
  } catch (e) {
    if (e.status === 400) { results.append(notice('error', `The query was not understood: ${e.message}`)); return; }
    throw e;
  }
  if (!searchable) {
    // This server predates the search API: filter, count and chart the lines we have.
    if (query) rows = rows.filter((l) => matches(l, terms(query), (r) => `${r.message || ''} ${r.logger || ''}`));
    localCharts(rows);
  }
  if (!rows.length) results.append(notice('info', query ? `No lines match “${query}” in this time range. Widen the range or remove a term.` : 'No log lines in this time range. Send some with the JSON lines door: POST /api/' + pid + '/logs'));
  rows.forEach((l) => table.append(rowEl(l)));
  results.append(table);
  performance.mark('bilor-logs-shown'); // first results (tools/measure/ui_perf.py)

  function localCharts(list) {
    const t0 = Date.parse(since), t1 = until ? Date.parse(until) : Date.now();
    const step = Math.max(60e3, Math.ceil((t1 - t0) / 60 / 60e3) * 60e3);
    const buckets = [];
    for (let t = Math.floor(t0 / step) * step; t < t1; t += step) buckets.push({ t, counts: {} });
    for (const l of list) {
      const b = buckets[Math.floor((Date.parse(l.timestamp) - buckets[0].t) / step)];
      if (b) b.counts[l.level || 'info'] = (b.counts[l.level || 'info'] || 0) + 1;
    }
    chartBox.append(h('p', { class: 'muted small' }, `Chart and fields of the ${list.length} lines shown (this server has no histogram API).`));
    drawHistogram(step, buckets);
    drawFacets(FACETS.map((f) => {
      const m = new Map();
      for (const l of list) { const v = l[f] ?? (l.attributes || {})[f]; if (v !== undefined && v !== null && v !== '') m.set(String(v), (m.get(String(v)) || 0) + 1); }
      return [f, [...m].sort((x, y) => y[1] - x[1]).slice(0, 8).map(([value, count]) => ({ value, count }))];
    }));
  }

  function exportAs(kind) {
    if (kind === 'ndjson') { download('logs.ndjson', 'application/x-ndjson', rows.map((r) => JSON.stringify(r)).join('\n') + '\n'); return; }
    const cols = ['timestamp', 'level', 'logger', 'server_name', 'message'];
    const esc = (v) => { let s = v === undefined || v === null ? '' : String(v); if (/^[=+\-@]/.test(s)) s = "'" + s; return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s; };
    download('logs.csv', 'text/csv', [cols.join(','), ...rows.map((r) => cols.map((c) => esc(r[c])).join(','))].join('\n') + '\n');
  }

  // Live tail
  let tailing = null, paused = false, count = 0, pending = [];
  const tick = setInterval(() => { rate.textContent = tailing ? `${paused ? 'paused · ' : ''}${fmtNum(count)} lines/s` : ''; count = 0; }, 1000);
  signal.addEventListener('abort', () => { clearInterval(tick); if (tailing) tailing.abort(); });
  tailBtn.addEventListener('click', () => {
    if (tailing && !paused) { paused = true; tailBtn.textContent = 'Resume'; return; }
    if (tailing && paused) { paused = false; tailBtn.textContent = 'Pause'; pending.forEach((l) => table.prepend(rowEl(l))); pending = []; return; }
    tailing = new AbortController();
    tailBtn.textContent = 'Pause';
    tailBtn.setAttribute('aria-pressed', 'true');
    stream(`/api/0/projects/${pid}/logs/tail/`, { query }, (name, data) => {
      if (name !== 'message' && name !== 'line' && name !== 'log') return;
      let l;
      try { l = JSON.parse(data); } catch { return; }
      count++;
      if (paused) pending.push(l); else table.prepend(rowEl(l));
      while (table.children.length > 1000) table.lastChild.remove();
    }, tailing.signal).catch((e) => {
      if (e.name === 'AbortError') return;
      tailing = null;
      tailBtn.textContent = 'Live tail';
      results.prepend(missing('Live tail', e));
    });
  });
}
