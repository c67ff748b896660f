// The web UI: a hash router ("#/issues?project=1&status=resolved"), so every
// view is a shareable URL, and the top bar. Pages live in their own modules
// and get (params, ctx); they use only the public REST API (api.js).
import { h, append, clear, mount, notice } from './dom.js';
import { whoami, logout, auth, get } from './api.js';
// Each page's module is loaded when it is first shown, so a first load parses
// only the page it shows (and its imports), not every page.
const routes = {
  signin: () => import('./signin.js').then((m) => m.signinPage),
  projects: () => import('./projects.js').then((m) => m.projectsPage),
  issues: () => import('./issues.js').then((m) => m.issuesPage),
  issue: () => import('./issue.js').then((m) => m.issuePage),
  logs: () => import('./logs.js').then((m) => m.logsPage),
  account: () => import('./account.js').then((m) => m.accountPage),
  settings: () => import('./settings.js').then((m) => m.settingsPage),
  admin: () => import('./admin.js').then((m) => m.adminPage),
};

// The projects whose settings the caller may see: admin or member (settings.js).
export function settingsProjects(list) { return list.filter((p) => p.role === 'admin' || p.role === 'member'); }

export function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, qs] = raw.split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { page: parts[0] || 'projects', args: parts.slice(1), params: new URLSearchParams(qs || '') };
}

// Sets the URL for the current view: replace=true for a state change within
// the view (typing a query) so Back goes to the previous view.
export function setHash(page, args, params, replace = false) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== null && v !== '') qs.set(k, v);
  const s = `#/${[page, ...(args || [])].map(encodeURIComponent).join('/')}${qs.toString() ? '?' + qs : ''}`;
  if (replace) history.replaceState(null, '', s);
  else location.hash = s;
}

// The promise is kept, so the menu and the page share one request.
let projectsCache = null;
export function projects() {
  if (!projectsCache) {
    const p = get('/api/0/projects/').catch((e) => { if (projectsCache === p) projectsCache = null; throw e; });
    projectsCache = p;
  }
  return projectsCache;
}
export function forgetProjects() { projectsCache = null; }

// Settings shows only for a project member or admin, Admin only for an
// instance admin; the pages check again (a URL can be typed).
let navSeq = 0;
async function nav(page) {
  const seq = ++navSeq;
  const items = [['projects', 'Projects'], ['issues', 'Issues'], ['logs', 'Logs']];
  let list = [];
  try { list = await projects(); } catch { /* the page shows the error */ }
  if (settingsProjects(list).length) items.push(['settings', 'Settings']);
  if (auth.user && auth.user.is_admin) items.push(['admin', 'Admin']);
  items.push(['account', 'Account']);
  if (seq !== navSeq) return; // a newer view drew the menu meanwhile
  const el = clear(document.getElementById('nav'));
  el.dataset.user = auth.user ? (auth.user.email || 'token') : '';
  for (const [p, label] of items)
    el.append(h('a', { href: '#/' + p, class: p === page || (p === 'issues' && page === 'issue') ? 'active' : '', 'aria-current': p === page ? 'page' : null }, label));
  const who = clear(document.getElementById('who'));
  if (auth.user) {
    append(who, [h('span', { class: 'muted' }, auth.user.email || auth.user.name || ''), ' ',
      h('button', { type: 'button', class: 'link', id: 'signout', onclick: async () => { await logout(); projectsCache = null; setHash('signin'); } }, 'Sign out')]);
  }
}

let current = null;
async function render() {
  const { page, args, params } = parseHash();
  if (current && current.abort) current.abort();
  current = new AbortController();
  const { signal } = current;
  const top = document.getElementById('top');
  // On a first load the project list is asked for with "who am I", not after it:
  // one round trip less before the first rows (a 401 just clears it again).
  if (page !== 'signin' && !auth.user) projects().catch(() => {});
  if (page !== 'signin' && !auth.user && !(await whoami())) {
    setHash('signin', [], { next: location.hash.slice(1) }, true);
    return render();
  }
  top.hidden = page === 'signin';
  nav(page); // not awaited: the page need not wait for the menu
  const load = routes[page];
  if (!load) { mount(notice('error', 'No such page. ', h('a', { href: '#/projects' }, 'Go to projects'))); return; }
  try {
    const fn = await load();
    if (signal.aborted) return;
    await fn({ args, params, signal });
  } catch (e) {
    if (e.name === 'AbortError' || signal.aborted) return;
    if (e.status === 401) { auth.user = null; projectsCache = null; setHash('signin'); return; }
    mount(notice('error', `Could not load this page: ${e.message}`));
  }
}

// Keyboard: "/" focuses the search box; j/k move through lists (pages mark
// rows with .row and a link inside); Enter opens the focused row.
document.addEventListener('keydown', (ev) => {
  const t = ev.target;
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
  if (t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement) {
    if (ev.key === 'Escape') t.blur();
    return;
  }
  if (ev.key === '/') {
    const q = document.querySelector('input[type=search]');
    if (q) { ev.preventDefault(); q.focus(); q.select(); }
  } else if (ev.key === 'j' || ev.key === 'k') {
    const rows = [...document.querySelectorAll('.row')];
    if (!rows.length) return;
    const i = rows.findIndex((r) => r.contains(document.activeElement));
    const n = ev.key === 'j' ? Math.min(rows.length - 1, i + 1) : Math.max(0, i - 1);
    const target = rows[n].querySelector('a, button, [tabindex]') || rows[n];
    target.focus();
    rows[n].scrollIntoView({ block: 'nearest' });
  }
});

window.addEventListener('hashchange', render);
render();
