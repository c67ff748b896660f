// Sign in with email and password (a session cookie), or with an API token
// kept for this browser tab only. A 429 shows how long to wait.
import { h, mount, notice, clear } from './dom.js';
import { login, auth, whoami } from './api.js';

export async function signinPage({ params }) {
  const next = params.get('next') || '/projects';
  const go = () => { location.hash = next.startsWith('/') ? next : '/projects'; };
  const msg = h('div', { class: 'msg', 'aria-live': 'polite' });
  const show = (kind, text) => { clear(msg).append(notice(kind, text)); };

  const email = h('input', { type: 'email', name: 'email', id: 'email', autocomplete: 'username', required: true });
  const password = h('input', { type: 'password', name: 'password', id: 'password', autocomplete: 'current-password', required: true });
  const form = h('form', { class: 'card', id: 'signin-form' },
    h('h2', {}, 'Sign in'),
    h('label', { for: 'email' }, 'Email or login'), email,
    h('label', { for: 'password' }, 'Password'), password,
    h('button', { type: 'submit', class: 'primary' }, 'Sign in'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await login(email.value, password.value);
      go();
    } catch (e) {
      if (e.status === 429) show('error', `Too many attempts. Try again in ${e.retryAfter || 'a few'} seconds.`);
      else if (e.status === 401) show('error', 'Wrong email or password.');
      else if (e.status === 404 || e.status === 405) show('error', 'This server has no password sign-in yet: use an API token below.');
      else show('error', e.message);
    }
  });

  const token = h('input', { type: 'password', name: 'token', id: 'token', autocomplete: 'off', placeholder: 'bilor_…', required: true });
  const tform = h('form', { class: 'card', id: 'token-form' },
    h('h2', {}, 'Use an API token'),
    h('p', { class: 'muted' }, 'The token `bilor serve` printed on first start, or one from `bilor token add`. Kept for this tab only.'),
    h('label', { for: 'token' }, 'API token'), token,
    h('button', { type: 'submit' }, 'Continue with token'));
  tform.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    auth.token = token.value.trim();
    if (await whoami()) go();
    else show('error', 'That token was not accepted.');
  });

  mount(h('div', { class: 'signin' }, h('h1', { class: 'brand-big' }, 'Bilor'), msg, form, tform));
  email.focus();
}
