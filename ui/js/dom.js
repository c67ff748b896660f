// DOM helpers. Every value that came from an event goes in as text: h() makes
// elements with textContent children only, and href() refuses any scheme but
// http(s) and the UI's own "#/" links, so no data can become markup or script.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = String(v);
    else if (k === 'href') el.setAttribute('href', safeHref(v));
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

export function append(el, ...children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function safeHref(v) {
  const s = String(v);
  if (s.startsWith('#/') || /^https?:\/\//i.test(s) || (s.startsWith('/') && !s.startsWith('//'))) return s;
  return '#';
}

export function clear(el) { while (el.firstChild) el.firstChild.remove(); return el; }

// Replaces the page. A page that was left while it awaited (signal aborted)
// must not draw over the next one: it throws AbortError instead.
export function mount(...children) {
  if (children[0] instanceof AbortSignal) {
    const sig = children.shift();
    if (sig.aborted) throw new DOMException('page left', 'AbortError');
  }
  const main = document.getElementById('main');
  clear(main);
  append(main, children);
  return main;
}

const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto', style: 'short' });

export function relTime(iso) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  const s = (t - Date.now()) / 1000;
  const abs = Math.abs(s);
  if (abs < 60) return rtf.format(Math.round(s), 'second');
  if (abs < 3600) return rtf.format(Math.round(s / 60), 'minute');
  if (abs < 86400) return rtf.format(Math.round(s / 3600), 'hour');
  return rtf.format(Math.round(s / 86400), 'day');
}

export function exactTime(iso) {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? String(iso || '') : new Date(t).toLocaleString();
}

// A <time> showing "3 min ago" with the exact local time on hover.
export function timeEl(iso) {
  return h('time', { datetime: iso, title: exactTime(iso) }, relTime(iso));
}

export function levelBadge(level) {
  const l = String(level || 'info');
  return h('span', { class: 'level level-' + l.replace(/[^a-z]/g, '') }, l);
}

export function fmtNum(n) { return new Intl.NumberFormat().format(Number(n) || 0); }

export function download(name, type, text) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h('a', { download: name });
  a.href = url;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function copyButton(text, label = 'Copy') {
  const b = h('button', { type: 'button', class: 'small' }, label);
  b.addEventListener('click', async () => {
    try { await navigator.clipboard.writeText(typeof text === 'function' ? text() : text); b.textContent = 'Copied'; } catch { b.textContent = 'Select and copy'; }
    setTimeout(() => { b.textContent = label; }, 1500);
  });
  return b;
}

export function notice(kind, ...children) {
  return h('div', { class: 'notice ' + kind, role: kind === 'error' ? 'alert' : 'status' }, ...children);
}

// A message area: show(kind, text...) replaces its content.
export function msgArea() {
  const el = h('div', { class: 'msg', 'aria-live': 'polite' });
  el.show = (kind, ...text) => clear(el).append(notice(kind, ...text));
  return el;
}

// A labelled form field; hint is a line of help under it.
export function field(id, label, input, hint) {
  input.id = id;
  return h('div', { class: 'field' }, h('label', { for: id }, label), input, hint ? h('span', { class: 'muted hint' }, hint) : null);
}
