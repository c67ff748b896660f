// Instance administration (instance admins): users (add, disable, make admin,
// set a new password), storage per project and day partition, and the
// journal backlog and ingest rates from /metrics. The tab is in the URL.
import { h, append, mount, notice, clear, timeEl, fmtNum, msgArea, field } from './dom.js';
import { get, put, post, auth } from './api.js';
import { bars } from './chart.js';
import { projects } from './app.js';
import { fmtBytes, dayOf } from './settings_more.js';

const TABS = [['users', 'Users'], ['storage', 'Storage'], ['ingest', 'Ingest']];

function userRow(u, act) {
  const self = auth.user && auth.user.id === u.id;
  const pw = h('input', { type: 'password', name: 'password', autocomplete: 'new-password', minlength: 8, required: true, 'aria-label': `New password for ${u.email}` });
  const reset = h('form', { class: 'inline reset', hidden: true }, pw, h('button', { type: 'submit' }, 'Set password'));
  reset.addEventListener('submit', (e) => { e.preventDefault(); act(() => put(`/api/0/users/${u.id}/`, { password: pw.value }), `${u.email} has a new password; their sessions ended.`); });
  return h('tr', { class: 'row' + (u.disabled ? ' revoked' : ''), dataset: { user: u.id, email: u.email } },
    h('td', {}, h('strong', {}, u.email), u.name ? h('div', { class: 'muted' }, u.name) : null),
    h('td', {}, u.is_admin ? h('span', { class: 'badge' }, 'instance admin') : null, u.disabled ? h('span', { class: 'badge state' }, 'disabled') : null),
    h('td', {}, u.last_login ? timeEl(u.last_login) : h('span', { class: 'muted' }, 'never')),
    h('td', {}, h('div', { class: 'acts' },
      self ? h('span', { class: 'muted' }, 'you') : [
        h('button', { type: 'button', class: 'small ' + (u.disabled ? 'enable' : 'danger disable'), onclick: () => act(() => put(`/api/0/users/${u.id}/`, { disabled: !u.disabled }), `${u.email} ${u.disabled ? 'enabled' : 'disabled: their sessions ended and their tokens are refused'}.`) }, u.disabled ? 'Enable' : 'Disable'),
        h('button', { type: 'button', class: 'small admin-toggle', onclick: () => act(() => put(`/api/0/users/${u.id}/`, { is_admin: !u.is_admin }), `${u.email} is ${u.is_admin ? 'no longer' : 'now'} an instance admin.`) }, u.is_admin ? 'Remove admin' : 'Make admin')],
      h('button', { type: 'button', class: 'small reset-pw', onclick: () => { reset.hidden = !reset.hidden; if (!reset.hidden) pw.focus(); } }, 'Reset password'),
      reset)));
}

async function usersTab({ box, act }) {
  const users = await get('/api/0/users/');
  const msg = msgArea();
  const email = h('input', { type: 'email', name: 'email', required: true, autocomplete: 'off' });
  const name = h('input', { name: 'name', maxlength: 127, autocomplete: 'off' });
  const pw = h('input', { type: 'password', name: 'password', minlength: 8, required: true, autocomplete: 'new-password' });
  const admin = h('input', { type: 'checkbox', name: 'is_admin' });
  const add = h('form', { class: 'card form', id: 'user-add' }, h('h2', {}, 'Add a user'),
    field('u-email', 'Email', email), field('u-name', 'Name (optional)', name),
    field('u-pw', 'Password (8 characters or more; they can change it on their Account page)', pw),
    h('label', { class: 'check' }, admin, ' Instance admin (every project, users, new projects)'),
    h('button', { type: 'submit', class: 'primary' }, 'Add user'));
  add.addEventListener('submit', (e) => {
    e.preventDefault();
    const who = email.value.trim();
    act(() => post('/api/0/users/', { email: who, name: name.value.trim() || undefined, password: pw.value, is_admin: admin.checked }),
      `${who} added. Give them a role in a project on its Settings › Members tab.`);
  });
  append(box, msg, h('div', { class: 'scroll' }, h('table', { class: 'grid', id: 'user-list' },
    h('thead', {}, h('tr', {}, ['User', '', 'Last sign-in', ''].map((t) => h('th', {}, t)))),
    h('tbody', {}, users.map((u) => userRow(u, act))))), add);
}

async function storageTab({ box }) {
  const list = await projects();
  const rows = await Promise.all(list.map((p) => get(`/api/0/projects/${p.id}/storage/`).then((s) => ({ p, s }), () => ({ p, s: null }))));
  const days = new Map();
  for (const { s } of rows) for (const x of (s && s.partitions) || []) days.set(dayOf(x.day), x.file_bytes);
  const total = [...days.values()].reduce((a, b) => a + b, 0);
  append(box, h('div', { class: 'card' }, h('h2', {}, 'Storage'),
    h('p', { id: 'storage-total' }, h('span', { class: 'big' }, fmtBytes(total)), ` in ${days.size} day file${days.size === 1 ? '' : 's'}.`),
    h('div', { class: 'scroll' }, h('table', { class: 'grid', id: 'project-storage' },
      h('thead', {}, h('tr', {}, ['Project', 'Rows', 'Bytes', 'Days', 'Kept'].map((t) => h('th', {}, t)))),
      h('tbody', {}, rows.map(({ p, s }) => h('tr', { class: 'row' }, h('td', {}, h('a', { href: `#/settings/${p.id}?tab=storage` }, p.name)),
        s ? [h('td', { class: 'n' }, fmtNum(s.rows)), h('td', { class: 'n' }, fmtBytes(s.bytes)), h('td', { class: 'n' }, String((s.partitions || []).length)), h('td', { class: 'n' }, `${s.retention_days} d`)]
          : h('td', { colspan: 4 }, '?'))))))),
  days.size ? h('div', { class: 'card' }, h('h3', {}, 'Day files'), bars([...days].sort().reverse().map(([day, b]) => ({ label: day, count: b })), { fmt: fmtBytes })) : null);
}

// The Prometheus text format, summed per metric name (labels dropped).
function parseMetrics(text) {
  const m = new Map();
  for (const line of text.split('\n')) {
    const r = /^([a-z_:][a-z0-9_:]*)(\{[^}]*\})?\s+(\S+)/i.exec(line);
    if (r) m.set(r[1], (m.get(r[1]) || 0) + Number(r[3]));
  }
  return m;
}

const RATES = [['bilor_events_accepted_total', 'accepted / s'], ['bilor_events_digested_total', 'stored / s'], ['bilor_events_rejected_total', 'rejected / s'], ['bilor_ingest_bytes_total', 'bytes / s']];

async function ingestTab({ box, signal }) {
  const read = async () => {
    const res = await fetch('/metrics', { signal });
    if (!res.ok) throw new Error(`/metrics: ${res.status}`);
    return { t: performance.now(), m: parseMetrics(await res.text()) };
  };
  const a = await read();
  const now = h('dl', { class: 'kv', id: 'ingest-now' },
    h('dt', {}, 'Journal backlog'), h('dd', {}, fmtBytes(a.m.get('bilor_journal_backlog_bytes') || 0)),
    h('dt', {}, 'Journal segments'), h('dd', {}, fmtNum(a.m.get('bilor_journal_segments') || 0)),
    h('dt', {}, 'Events accepted since start'), h('dd', {}, fmtNum(a.m.get('bilor_events_accepted_total') || 0)),
    h('dt', {}, 'Events stored since start'), h('dd', {}, fmtNum(a.m.get('bilor_events_digested_total') || 0)),
    h('dt', {}, 'Disk free'), h('dd', {}, fmtBytes(a.m.get('bilor_disk_free_bytes') || 0)));
  const rates = h('div', { class: 'stats', id: 'ingest-rates' }, h('span', { class: 'muted' }, 'Measuring rates over 3 s…'));
  append(box, h('div', { class: 'card' }, h('h2', {}, 'Ingest'), now, h('h3', {}, 'Rates now'), rates,
    h('p', { class: 'muted' }, 'From /metrics (Prometheus text), which a scraper can read as well.')));
  await new Promise((r) => setTimeout(r, 3000));
  if (signal.aborted) return;
  const b = await read();
  const dt = (b.t - a.t) / 1000;
  clear(rates).append(...RATES.map(([k, label]) => h('span', { class: 'stat' },
    h('span', { class: 'big' }, k.includes('bytes') ? fmtBytes(((b.m.get(k) || 0) - (a.m.get(k) || 0)) / dt) : fmtNum(Math.round(((b.m.get(k) || 0) - (a.m.get(k) || 0)) / dt))),
    h('span', { class: 'muted' }, ' ' + label))));
}

const TAB_FN = { users: usersTab, storage: storageTab, ingest: ingestTab };

export async function adminPage({ params, signal }) {
  if (!auth.user || !auth.user.is_admin) {
    mount(signal, h('h1', {}, 'Admin'), notice('error', 'This page is for instance admins.'));
    return;
  }
  const tab = TAB_FN[params.get('tab')] ? params.get('tab') : 'users';
  const box = h('div', { id: 'admin-body', dataset: { tab } }, h('p', { class: 'muted' }, 'Loading…'));
  mount(signal, h('h1', {}, 'Admin'), h('nav', { class: 'tabs wrap', 'aria-label': 'Admin sections' }, TABS.map(([k, label]) =>
    h('a', { href: `#/admin?tab=${k}`, class: k === tab ? 'active' : '', 'aria-current': k === tab ? 'page' : null, dataset: { tab: k } }, label))), box);
  const ctx = { box, signal };
  const reload = async () => {
    const fresh = h('div', {});
    const p = TAB_FN[tab](Object.assign({}, ctx, { box: fresh }));
    if (tab === 'ingest') { clear(box).append(fresh); return p; } // it fills in as it measures
    await p;
    if (!signal.aborted) clear(box).append(...fresh.childNodes);
  };
  ctx.act = async (fn, ok) => {
    try { await fn(); } catch (e) { const m = box.querySelector('.msg'); if (m) m.show('error', e.message); return false; }
    await reload();
    const m = box.querySelector('.msg');
    if (m && ok) m.show('ok', ok);
    return true;
  };
  await reload();
}
