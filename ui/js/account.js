// Account: who you are, change password, and your API tokens (create with
// scopes and projects, the secret shown once; last use; revoke).
import { h, mount, notice, clear, timeEl, copyButton, msgArea, field } from './dom.js';
import { get, post, del, auth } from './api.js';
import { projects } from './app.js';

const SCOPES = [['read', 'read: look at everything'], ['write', 'write: also change issue status'], ['admin', 'admin: also settings, keys, members, tokens']];

function passwordForm(msg) {
  const cur = h('input', { type: 'password', autocomplete: 'current-password', required: true });
  const nw = h('input', { type: 'password', autocomplete: 'new-password', minlength: 8, required: true });
  const pw = h('form', { class: 'card form', id: 'password-form' }, h('h2', {}, 'Change password'), field('cur', 'Current password', cur),
    field('new', 'New password (8 characters or more)', nw), h('button', { type: 'submit' }, 'Change password'));
  pw.addEventListener('submit', async (e) => {
    e.preventDefault();
    try { await post('/api/0/auth/password', { current_password: cur.value, new_password: nw.value }); msg.show('ok', 'Password changed. Your other sessions were signed out.'); pw.reset(); } catch (err) { msg.show('error', err.message); }
  });
  return pw;
}

function tokenRow(t, names, load, msg) {
  const where = t.projects && t.projects.length ? 'only ' + t.projects.map((id) => names.get(id) || `#${id}`).join(', ') : 'every project you can see';
  return h('li', { class: 'row token', dataset: { id: t.id } },
    h('div', {}, h('strong', {}, t.name || `token ${t.id}`), ' ', (t.scopes || []).map((s) => h('span', { class: 'badge scope' }, s))),
    h('div', { class: 'muted' }, `${where}; created `, timeEl(t.created_at), ', last used ', t.last_used ? timeEl(t.last_used) : 'never'),
    h('button', { type: 'button', class: 'small danger revoke', 'aria-label': `Revoke ${t.name}`, onclick: async () => {
      try { await del(`/api/0/tokens/${t.id}/`); await load(); msg.show('ok', `Token “${t.name}” revoked: it is refused from the next request.`); } catch (e) { msg.show('error', e.message); }
    } }, 'Revoke'));
}

export async function accountPage({ signal }) {
  const u = auth.user || {};
  const msg = msgArea();
  const list = await projects().catch(() => []);
  const names = new Map(list.map((p) => [p.id, p.name]));
  const tokens = h('ul', { class: 'tokens', id: 'token-list' }, h('li', { class: 'muted' }, 'Loading…'));
  const label = h('input', { id: 'tlabel', required: true, maxlength: 127, placeholder: 'ci-deploy' });
  const scope = h('select', { id: 'tscope', name: 'scope' }, SCOPES.map(([k, l]) => h('option', { value: k, selected: k === 'read' }, l)));
  const boxes = list.map((p) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'project', value: p.id }), ' ', p.name));
  const tform = h('form', { class: 'form', id: 'token-add' }, h('h3', {}, 'New token'),
    field('tlabel', 'Label', label), field('tscope', 'Scope', scope),
    h('fieldset', { class: 'projects' }, h('legend', {}, 'Projects (none ticked: every project you can see, now and later)'), boxes),
    h('button', { type: 'submit', class: 'primary' }, 'Create token'));
  const load = async () => {
    const ts = await get('/api/0/tokens/');
    clear(tokens).append(...(ts.length ? ts.map((t) => tokenRow(t, names, load, msg)) : [h('li', { class: 'muted' }, 'No tokens.')]));
  };
  tform.addEventListener('submit', async (e) => {
    e.preventDefault();
    const pids = boxes.map((b) => b.querySelector('input')).filter((c) => c.checked).map((c) => Number(c.value));
    try {
      const t = await post('/api/0/tokens/', { name: label.value.trim(), scopes: [scope.value], projects: pids });
      msg.show('ok', `Token “${t.name}” created. Copy it now: it is shown this once. `, h('code', { id: 'new-token' }, t.token), ' ', copyButton(t.token));
      tform.reset();
      await load();
    } catch (err) { msg.show('error', err.message); }
  });
  mount(signal, h('h1', {}, 'Account'), h('p', {}, `Signed in as ${u.email || u.name || 'an API token'}${u.is_admin ? ' (instance admin)' : ''}.`), msg,
    u.token ? null : passwordForm(msg),
    h('section', { class: 'card' }, h('h2', {}, 'API tokens'),
      h('p', { class: 'muted' }, 'For scripts and the bilor command line: send as Authorization: Bearer TOKEN. A token can do what you can, within its scope and projects.'),
      tokens, tform));
  try { await load(); } catch (e) { clear(tokens).append(notice('info', e.status === 403 ? 'Managing tokens needs a session or a token with the admin scope.' : e.message)); }
}
