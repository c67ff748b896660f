// Account: who you are, change password, API tokens (as far as the server has them).
import { h, mount, notice, clear, timeEl, copyButton } from './dom.js';
import { get, post, del, auth } from './api.js';

export async function accountPage() {
  const u = auth.user || {};
  const msg = h('div', { 'aria-live': 'polite' });
  const show = (kind, text, ...more) => clear(msg).append(notice(kind, text, ...more));
  const cur = h('input', { type: 'password', id: 'cur', autocomplete: 'current-password', required: true });
  const nw = h('input', { type: 'password', id: 'new', autocomplete: 'new-password', minlength: 12, required: true });
  const pw = h('form', { class: 'card' }, h('h2', {}, 'Change password'), h('label', { for: 'cur' }, 'Current password'), cur, h('label', { for: 'new' }, 'New password (12 characters or more)'), nw, h('button', { type: 'submit' }, 'Change password'));
  pw.addEventListener('submit', async (e) => {
    e.preventDefault();
    try { await post('/api/0/auth/password', { current_password: cur.value, new_password: nw.value }); show('ok', 'Password changed.'); } catch (err) { show('error', err.status === 404 ? 'This server cannot change passwords from the UI yet.' : err.message); }
  });
  const tokens = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const label = h('input', { id: 'tlabel', required: true, placeholder: 'ci-deploy' });
  const tform = h('form', { class: 'inline' }, h('label', { for: 'tlabel' }, 'New token label'), label, h('button', { type: 'submit' }, 'Create token'));
  const load = async () => {
    clear(tokens);
    try {
      const list = await get('/api/0/tokens/');
      tokens.append(h('ul', { class: 'tokens' }, list.map((t) => h('li', { class: 'row' }, h('strong', {}, t.name || t.id), ' ', t.created_at ? timeEl(t.created_at) : '', ' ',
        h('button', { type: 'button', class: 'small', onclick: async () => { await del(`/api/0/tokens/${t.id}/`); load(); } }, 'Revoke')))));
    } catch (e) { tokens.append(notice('info', e.status === 404 ? 'API tokens are managed with `bilor token add` on this server.' : e.message)); }
  };
  tform.addEventListener('submit', async (e) => {
    e.preventDefault();
    try { const t = await post('/api/0/tokens/', { name: label.value }); show('ok', 'Token created. It is shown once: ', h('code', {}, t.token), copyButton(t.token)); load(); } catch (err) { show('error', err.message); }
  });
  mount(h('h1', {}, 'Account'), h('p', {}, `Signed in as ${u.email || u.name || 'an API token'}${u.is_admin ? ' (instance admin)' : ''}.`), msg,
    u.token ? null : pw, h('section', { class: 'card' }, h('h2', {}, 'API tokens'), tokens, tform));
  load();
}
