// Issues of a project: search, status tabs, sort, environment and release
// filters, bulk actions, pagination. Everything that defines the view is in the URL.
import { h, mount, timeEl, levelBadge, fmtNum, notice, clear } from './dom.js';
import { getPage, put, get, hasSearch } from './api.js';
import { terms, matches } from './query.js';
import { sparkline } from './chart.js';
import { projects, setHash } from './app.js';
import { setupBlock } from './projects.js';

const STATUSES = [['unresolved', 'Unresolved'], ['resolved', 'Resolved'], ['ignored', 'Ignored'], ['all', 'All']];
const SORTS = [['last_seen', 'Last seen'], ['first_seen', 'First seen'], ['count', 'Events']];
const RELEASES_SHOWN = 50; // the most recently seen; one in the URL is kept even when older

// A filter select: "All …" then the project's names, most recently seen first.
// Until they arrive (or when the server has no such listing) it holds the URL's value only.
function filterSelect(label, all, value, onchange) {
  const sel = h('select', { 'aria-label': label, class: 'filter', onchange: (e) => onchange(e.target.value) },
    h('option', { value: '' }, all), value ? h('option', { value, selected: true }, value) : null);
  sel.fill = (names) => {
    const have = new Set(names);
    clear(sel);
    sel.append(h('option', { value: '' }, all));
    for (const n of value && !have.has(value) ? [value, ...names] : names)
      sel.append(h('option', { value: n, selected: n === value }, n));
  };
  return sel;
}

export async function issuesPage({ params, signal }) {
  const list = await projects();
  if (!list.length) { mount(signal, notice('info', 'No projects yet.')); return; }
  const pid = params.get('project') || String(list[0].id);
  const project = list.find((p) => String(p.id) === pid) || list[0];
  const status = params.get('status') || 'unresolved';
  const sort = params.get('sort') || 'last_seen';
  const query = params.get('query') || '';
  const cursor = params.get('cursor') || '';
  const prev = params.get('prev') || '';
  const environment = params.get('environment') || '';
  const release = params.get('release') || '';
  const state = { project: pid, status, sort, query, environment, release };
  const go = (changes, replace) => setHash('issues', [], Object.assign({}, state, { cursor: '', prev: '' }, changes), replace);

  const projSel = h('select', { 'aria-label': 'Project', onchange: (e) => go({ project: e.target.value, environment: '', release: '' }) },
    list.map((p) => h('option', { value: p.id, selected: String(p.id) === pid }, p.name)));
  const search = h('input', { type: 'search', name: 'query', value: query, placeholder: 'Search issues (press /)', 'aria-label': 'Search issues' });
  const form = h('form', { class: 'searchbar', role: 'search', onsubmit: (e) => { e.preventDefault(); go({ query: search.value.trim() }); } },
    projSel, search, h('button', { type: 'submit' }, 'Search'));
  const tabs = h('nav', { class: 'tabs', 'aria-label': 'Status' }, STATUSES.map(([k, label]) =>
    h('a', { href: '#', class: k === status ? 'active' : '', 'aria-current': k === status ? 'page' : null, dataset: { status: k },
      onclick: (e) => { e.preventDefault(); go({ status: k }); } }, label)));
  const sortSel = h('select', { 'aria-label': 'Sort', onchange: (e) => go({ sort: e.target.value }) },
    SORTS.map(([k, label]) => h('option', { value: k, selected: k === sort }, label)));
  const envSel = filterSelect('Environment', 'All environments', environment, (v) => go({ environment: v }));
  const relSel = filterSelect('Release', 'All releases', release, (v) => go({ release: v }));
  const names = (path, limit) => get(path, { limit }, signal).then((v) => v.map((x) => x.name)).catch(() => null);
  Promise.all([names(`/api/0/projects/${pid}/environments/`, 100), names(`/api/0/projects/${pid}/releases/`, RELEASES_SHOWN)])
    .then(([envs, rels]) => {
      if (signal.aborted) return;
      if (envs) envSel.fill(envs);
      if (rels) relSel.fill(rels);
    });
  const selected = new Set();
  const bulkBtns = [['resolved', 'Resolve'], ['ignored', 'Ignore'], ['unresolved', 'Unresolve']].map(([st, label]) =>
    h('button', { type: 'button', disabled: true, dataset: { bulk: st }, onclick: () => bulk(st) }, label));
  const body = h('div', { class: 'list', id: 'issue-list' }, h('p', { class: 'muted' }, 'Loading…'));
  const pager = h('div', { class: 'pager' });
  mount(signal, h('h1', {}, 'Issues'), form, h('div', { class: 'toolbar' }, tabs, h('span', { class: 'grow' }), ...bulkBtns, h('span', { class: 'filters' }, envSel, relSel, sortSel)), body, pager);

  async function bulk(st) {
    const ids = [...selected];
    await Promise.all(ids.map((id) => put(`/api/0/issues/${id}/`, { status: st })));
    go({}, true);
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  }
  const updateBulk = () => bulkBtns.forEach((b) => { b.disabled = selected.size === 0; });

  let data, next;
  const t0 = performance.now();
  try {
    ({ data, next } = await getPage(`/api/0/projects/${pid}/issues/`, { status, sort, query, environment, release, cursor, limit: 50, hourly: 1 }, signal));
  } catch (e) {
    if (e.status === 400 && query) {
      // A server without issue search: list and filter the free words here.
      ({ data, next } = await getPage(`/api/0/projects/${pid}/issues/`, { status, sort, environment, release, cursor, limit: 50, hourly: 1 }, signal));
    } else throw e;
  }
  // A server without the search language ignores query=: filter this page here.
  if (query && !(await hasSearch(pid))) data = data.filter((i) => matches(i, terms(query), (r) => `${r.title} ${r.culprit}`));
  clear(body);
  const where = [environment && `environment “${environment}”`, release && `release “${release}”`].filter(Boolean).join(' and ');
  if (!data.length) {
    if (where && !query) body.append(notice('info', `No ${status === 'all' ? '' : status + ' '}issues have events in ${where}. Try All environments, All releases or the All tab.`));
    else if (query) body.append(notice('info', `No ${status === 'all' ? '' : status + ' '}issues match “${query}”. Try fewer words, or the All tab.`));
    else if (status === 'unresolved') {
      const any = await get(`/api/0/projects/${pid}/issues/`, { status: 'all', limit: 1 });
      body.append(any.length ? notice('info', 'No unresolved issues. Well done.') : h('div', {}, notice('info', 'No events yet. Send a first one:'), setupBlock(project)));
    } else body.append(notice('info', `No ${status} issues.`));
  }
  const table = h('ul', { class: 'issues' });
  const sparks = [];
  for (const i of data) {
    const cb = h('input', { type: 'checkbox', 'aria-label': 'Select issue', onchange: (e) => { if (e.target.checked) selected.add(i.id); else selected.delete(i.id); updateBulk(); } });
    const spark = h('span', { class: 'sparkwrap' });
    table.append(h('li', { class: 'row issue', dataset: { id: i.id } },
      cb,
      h('div', { class: 'main' },
        h('a', { class: 'title', href: `#/issue/${i.id}` }, i.title || '(no title)'),
        h('div', { class: 'sub' }, levelBadge(i.level), ' ', h('span', { class: 'culprit' }, i.culprit || ''),
          i.status !== 'unresolved' ? h('span', { class: 'badge' }, i.status) : null)),
      h('div', { class: 'when' }, h('span', { class: 'muted' }, 'last '), timeEl(i.last_seen), h('br'), h('span', { class: 'muted' }, 'first '), timeEl(i.first_seen)),
      spark,
      h('div', { class: 'count', title: i.count_14d !== undefined ? `${i.count} events in all` : 'events' }, fmtNum(i.count),
        i.count_14d !== undefined ? h('div', { class: 'muted', title: 'events in the last 14 days' }, `${fmtNum(i.count_14d)} in 14 d`) : null)));
    const draw = (hourly) => spark.append(sparkline(hourly, { width: 96, height: 24, label: 'last 24 h, hourly' }));
    // The list carries each row's 24 h counts (hourly=1); an older server's rows are asked one by one.
    if (i.hourly) sparks.push(() => draw(i.hourly));
    else sparks.push(() => get(`/api/0/issues/${i.id}/`, undefined, signal).then((d) => { if (d.hourly) draw(d.hourly); }).catch(() => {}));
  }
  body.append(table);
  performance.mark('bilor-issues-shown');
  document.body.dataset.firstResultsMs = String(Math.round(performance.now() - t0));
  // The sparklines come after the rows are drawn, not before.
  setTimeout(() => sparks.forEach((f) => f()), 0);
  if (cursor) pager.append(h('a', { href: '#', onclick: (e) => { e.preventDefault(); history.back(); } }, '← Newer'));
  if (next) pager.append(h('a', { href: '#', class: 'next', onclick: (e) => { e.preventDefault(); setHash('issues', [], Object.assign({}, state, { cursor: next, prev: cursor || '-' })); } }, 'Older →'));
  void prev;
}
