// Project settings: general (name, issue level, retention, project-wide rate
// limits, scrubbing), DSN keys, members, grouping rules, storage, ingest stats.
// The tab is in the URL (#/settings/ID?tab=keys). Project admins change things;
// members see the same read-only (the API lets them read); viewers are not
// shown settings, as the issue asks, even though the API would let them read.
import { h, append, mount, notice, clear, timeEl, copyButton, msgArea, field } from './dom.js';
import { get, put, post, del } from './api.js';
import { projects, setHash, forgetProjects, settingsProjects } from './app.js';
import { groupingTab, statsTab, storageTab } from './settings_more.js';

const TABS = [['general', 'General'], ['keys', 'DSN keys'], ['members', 'Members'], ['grouping', 'Grouping'], ['storage', 'Storage'], ['stats', 'Ingest stats']];
export const LEVELS = ['debug', 'info', 'warning', 'error', 'fatal'];
const LIMITS = [['events_per_minute', 'Events / minute'], ['events_per_hour', 'Events / hour'], ['lines_per_minute', 'Log lines / minute']];




const num = (name, value, ro) => h('input', { type: 'number', min: 0, step: 1, name, value: value ?? 0, inputmode: 'numeric', readonly: ro, class: 'num' });

function limitValues(form) {
  const out = {};
  for (const [k] of LIMITS) out[k] = Number(form.elements[k].value || 0);
  return out;
}

async function generalTab({ p, box, ro, act }) {
  const [proj, st] = await Promise.all([get(`/api/0/projects/${p.id}/`), get(`/api/0/projects/${p.id}/settings/`)]);
  const msg = msgArea();
  const name = h('input', { name: 'name', value: proj.name, required: true, maxlength: 127, readonly: ro });
  const level = h('select', { name: 'issue_level', disabled: ro }, LEVELS.map((l) => h('option', { value: l, selected: l === proj.issue_level }, l)));
  const days = h('input', { type: 'number', name: 'retention_days', min: 1, max: 36500, value: proj.retention_days, readonly: ro, class: 'num' });
  const f1 = h('form', { class: 'card form', id: 'project-form' }, h('h2', {}, 'Project'),
    field('p-name', 'Name', name),
    field('p-level', 'Issue level', level, 'Events at or above this level become issues; the rest are log lines.'),
    field('p-days', 'Retention (days)', days, 'Events older than this are not shown and their day files are dropped.'),
    ro ? null : h('button', { type: 'submit', class: 'primary' }, 'Save project'));
  f1.addEventListener('submit', async (e) => {
    e.preventDefault();
    const changed = name.value.trim() !== proj.name;
    if (await act(() => put(`/api/0/projects/${p.id}/`, { name: name.value.trim(), issue_level: level.value, retention_days: Number(days.value) }), 'Project saved.') && changed) {
      forgetProjects(); // the name is in the cached project list
      window.dispatchEvent(new HashChangeEvent('hashchange'));
    }
  });
  const scrub = h('input', { name: 'scrub_fields', value: st.scrub_fields || '', readonly: ro, placeholder: 'ssn, card_number' });
  const safe = h('input', { name: 'safe_fields', value: st.safe_fields || '', readonly: ro, placeholder: 'token_type' });
  const f2 = h('form', { class: 'card form', id: 'quota-form' }, h('h2', {}, 'Rate limits over all keys'),
    h('p', { class: 'muted' }, '0 is unlimited. Each key can have its own limits as well (DSN keys).'),
    h('div', { class: 'limits' }, LIMITS.map(([k, label]) => field('q-' + k, label, num(k, st[k], ro)))),
    h('h2', {}, 'Data scrubbing'),
    field('q-scrub', 'Also scrub these keys', scrub, 'Comma-separated, added to the built-in list (passwords, tokens, cookies...).'),
    field('q-safe', 'Never scrub these keys', safe),
    ro ? null : h('button', { type: 'submit', class: 'primary' }, 'Save limits and scrubbing'));
  f2.addEventListener('submit', async (e) => {
    e.preventDefault();
    await act(() => put(`/api/0/projects/${p.id}/settings/`, Object.assign(limitValues(f2), { scrub_fields: scrub.value.trim(), safe_fields: safe.value.trim() })), 'Limits and scrubbing saved.');
  });
  append(box, msg, h('div', { class: 'cols' }, f1, f2));
}

function keyRow({ p, ro, act }, k) {
  const label = h('input', { name: 'label', value: k.label || '', readonly: ro, maxlength: 127 });
  const form = h('form', { class: 'keyform' });
  // Each input inside its label: the label names it for screen readers.
  append(form, h('label', { class: 'field' }, 'Label', label),
    LIMITS.map(([f, l]) => h('label', { class: 'field' }, l, Object.assign(num(f, k[f], ro), { title: '0: unlimited' }))),
    ro ? null : h('button', { type: 'submit' }, 'Save'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    await act(() => put(`/api/0/projects/${p.id}/keys/${k.id}/`, Object.assign({ label: label.value }, limitValues(form))), `Key “${label.value}” saved.`);
  });
  const toggle = ro ? null : k.enabled
    ? h('button', { type: 'button', class: 'danger revoke', onclick: () => act(() => del(`/api/0/projects/${p.id}/keys/${k.id}/`), `Key “${k.label}” revoked: the doors refuse it within a second.`) }, 'Revoke')
    : h('button', { type: 'button', class: 'restore', onclick: () => act(() => put(`/api/0/projects/${p.id}/keys/${k.id}/`, { enabled: true }), `Key “${k.label}” enabled again.`) }, 'Enable');
  return h('li', { class: 'row key card' + (k.enabled ? '' : ' revoked'), dataset: { id: k.id, publicKey: k.public_key } },
    h('div', { class: 'keyhead' }, h('strong', { class: 'klabel' }, k.label || `Key ${k.id}`), ' ',
      h('span', { class: 'badge state' }, k.enabled ? 'enabled' : 'revoked'), ' ',
      h('span', { class: 'muted' }, 'created '), timeEl(k.created_at), h('span', { class: 'grow' }), toggle),
    h('div', { class: 'dsn' }, h('code', { class: 'kdsn' }, k.dsn), copyButton(k.dsn, 'Copy DSN')),
    form);
}

async function keysTab(ctx) {
  const { p, box, ro, act } = ctx;
  const keys = await get(`/api/0/projects/${p.id}/keys/`);
  const msg = msgArea();
  const list = h('ul', { class: 'keys', id: 'key-list' }, keys.map((k) => keyRow(ctx, k)));
  let add = null;
  if (!ro) {
    const label = h('input', { name: 'label', required: true, maxlength: 127, placeholder: 'frontend' });
    add = h('form', { class: 'card form', id: 'key-add' }, h('h2', {}, 'New key'), field('k-label', 'Label', label),
      h('div', { class: 'limits' }, LIMITS.map(([k, l]) => field('k-' + k, l, num(k, 0, false)))), h('button', { type: 'submit', class: 'primary' }, 'Create key'));
    add.addEventListener('submit', async (e) => {
      e.preventDefault();
      let made = null;
      await act(async () => { made = await post(`/api/0/projects/${p.id}/keys/`, Object.assign({ label: label.value.trim() }, limitValues(add))); },
        () => [`Key “${made.label}” created. Its DSN: `, h('code', { id: 'new-dsn' }, made.dsn), ' ', copyButton(made.dsn, 'Copy DSN')]);
    });
  }
  append(box, msg, keys.length ? null : notice('info', 'No keys: nothing can send to this project.'), list, add);
}

async function membersTab({ p, box, ro, act }) {
  const members = await get(`/api/0/projects/${p.id}/members/`);
  const msg = msgArea();
  const roles = ['viewer', 'member', 'admin'];
  const roleSel = (cur, extra) => h('select', Object.assign({ disabled: ro }, extra), roles.map((r) => h('option', { value: r, selected: r === cur }, r)));
  const rows = members.map((m) => h('tr', { class: 'row', dataset: { user: m.user_id } },
    h('td', {}, m.email), h('td', {}, m.name || ''),
    h('td', {}, roleSel(m.role, { 'aria-label': `Role of ${m.email}`, onchange: (e) => act(() => put(`/api/0/projects/${p.id}/members/${m.user_id}/`, { role: e.target.value }), `${m.email} is now a ${e.target.value}.`) })),
    h('td', {}, timeEl(m.created_at)),
    h('td', {}, ro ? null : h('button', { type: 'button', class: 'small danger', onclick: () => act(() => del(`/api/0/projects/${p.id}/members/${m.user_id}/`), `${m.email} removed.`) }, 'Remove'))));
  const table = h('div', { class: 'scroll' }, h('table', { class: 'grid', id: 'member-list' },
    h('thead', {}, h('tr', {}, ['Email', 'Name', 'Role', 'Since', ''].map((t) => h('th', {}, t)))), h('tbody', {}, rows)));
  let add = null;
  if (!ro) {
    const email = h('input', { type: 'email', name: 'email', required: true, placeholder: 'jane@example.com' });
    const role = roleSel('viewer', { name: 'role' });
    add = h('form', { class: 'card form', id: 'member-add' }, h('h2', {}, 'Add a member'),
      h('p', { class: 'muted' }, 'The user must exist (instance admins add users on the Admin page). An existing member gets the new role.'),
      field('m-email', 'Email', email), field('m-role', 'Role', role), h('button', { type: 'submit', class: 'primary' }, 'Add member'));
    add.addEventListener('submit', async (e) => {
      e.preventDefault();
      const who = email.value.trim();
      await act(() => post(`/api/0/projects/${p.id}/members/`, { email: who, role: role.value }), `${who} is a ${role.value} of ${p.name}.`);
    });
  }
  append(box, msg, h('p', { class: 'muted' }, 'Viewers read; members also change issue status; admins also change these settings.'), table, add);
}

const TAB_FN = { general: generalTab, keys: keysTab, members: membersTab, grouping: groupingTab, storage: storageTab, stats: statsTab };

export async function settingsPage({ args, params, signal }) {
  const all = await projects();
  const mine = settingsProjects(all);
  const asked = args[0] ? all.find((p) => String(p.id) === args[0]) : mine[0];
  if (!asked || !mine.includes(asked)) {
    mount(signal, h('h1', {}, 'Project settings'), notice('error', asked || args[0]
      ? 'Project settings are for the project’s members and admins. Ask a project admin for a role.'
      : 'You have no project whose settings you may see.'));
    return;
  }
  const p = asked;
  const ro = p.role !== 'admin';
  const tab = TAB_FN[params.get('tab')] ? params.get('tab') : 'general';
  const sel = h('select', { 'aria-label': 'Project', onchange: (e) => setHash('settings', [e.target.value], { tab }) },
    mine.map((x) => h('option', { value: x.id, selected: x === p }, x.name)));
  const tabs = h('nav', { class: 'tabs wrap', 'aria-label': 'Settings sections' }, TABS.map(([k, label]) =>
    h('a', { href: `#/settings/${p.id}?tab=${k}`, class: k === tab ? 'active' : '', 'aria-current': k === tab ? 'page' : null, dataset: { tab: k } }, label)));
  const box = h('div', { id: 'settings-body', dataset: { tab } }, h('p', { class: 'muted' }, 'Loading…'));
  mount(signal, h('div', { class: 'toolbar' }, h('h1', { class: 'grow' }, 'Settings'), sel), tabs,
    ro ? notice('info', `You are a ${p.role} of ${p.name}: settings are read-only for you.`) : null, box);
  const ctx = { p, ro, box, signal };
  const reload = async () => {
    const fresh = h('div', {});
    await TAB_FN[tab](Object.assign({}, ctx, { box: fresh }));
    if (signal.aborted) return;
    clear(box).append(...fresh.childNodes);
  };
  // act(fn, ok): a change through the API; on success the tab is read again and
  // shows ok (text, or a function giving nodes); on failure the API's error
  // shows and what was typed stays.
  ctx.act = async (fn, ok) => {
    try { await fn(); } catch (e) { const m = box.querySelector('.msg'); if (m) m.show('error', e.message); return false; }
    await reload();
    const m = box.querySelector('.msg');
    if (m && ok) m.show('ok', ...[].concat(typeof ok === 'function' ? ok() : ok));
    return true;
  };
  await reload();
}
