// The settings tabs that show more than a form: grouping rules (with the
// server's parse error pointed at), storage per day partition, ingest stats.
import { h, append, notice, timeEl, fmtNum, msgArea, field } from './dom.js';
import { get, put } from './api.js';
import { bars, histogram } from './chart.js';

export function fmtBytes(n) {
  const u = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = Number(n) || 0, i = 0;
  while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
  return `${i ? v.toFixed(v < 10 ? 1 : 0) : v} ${u[i]}`;
}

// Selects line `line` of a textarea, so the rule the server refused is visible.
function markLine(ta, line) {
  const lines = ta.value.split('\n');
  const from = lines.slice(0, Math.max(0, line - 1)).reduce((a, l) => a + l.length + 1, 0);
  ta.focus();
  ta.setSelectionRange(from, from + (lines[line - 1] || '').length);
}

export async function groupingTab({ p, box, ro, act }) {
  const g = await get(`/api/0/projects/${p.id}/grouping/`);
  const msg = msgArea();
  const area = (name, value, ph) => h('textarea', { name, rows: 8, spellcheck: 'false', readonly: ro, placeholder: ph, class: 'rules' }, value || '');
  const fp = area('fingerprint_rules', g.fingerprint_rules, 'error.type:ChunkLoadError -> chunkloaderror\nmessage:"*timed out*" -> timeout, {{ tags.region }}');
  const st = area('stack_rules', g.stack_rules, 'stack.module:vendor/** -app\nfunction:log_* -group');
  const form = h('form', { class: 'card form', id: 'grouping-form' },
    h('p', { class: 'muted' }, `Version ${g.version}`, g.updated_at ? [', changed ', timeEl(g.updated_at)] : ', never changed',
      '. Sentry’s syntax, one rule a line (docs/api.md, “Grouping rules”). New events are grouped with the saved rules; existing issues keep theirs.'),
    field('g-fp', 'Fingerprint rules', fp), field('g-stack', 'Stack trace rules', st),
    ro ? null : h('button', { type: 'submit', class: 'primary' }, 'Save rules'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    fp.removeAttribute('aria-invalid');
    st.removeAttribute('aria-invalid');
    try {
      await put(`/api/0/projects/${p.id}/grouping/`, { fingerprint_rules: fp.value, stack_rules: st.value });
    } catch (err) {
      const d = err.data || {};
      if (d.field === 'fingerprint_rules' || d.field === 'stack_rules') {
        const ta = d.field === 'fingerprint_rules' ? fp : st;
        ta.setAttribute('aria-invalid', 'true');
        msg.show('error', h('strong', {}, d.field === 'fingerprint_rules' ? 'Fingerprint rules' : 'Stack trace rules'),
          `, line ${d.line}, column ${d.column}: ${d.detail || err.message}. Nothing was saved.`);
        if (d.line > 0) markLine(ta, d.line);
      } else msg.show('error', err.message);
      return;
    }
    await act(async () => {}, 'Grouping rules saved.');
  });
  append(box, msg, form);
}

// A day partition is named by its first instant; the date is what matters.
export const dayOf = (d) => String(d || '').slice(0, 10);
const plural = (n, one, many) => `${fmtNum(n)} ${Number(n) === 1 ? one : many}`;

export async function storageTab({ p, box }) {
  const s = await get(`/api/0/projects/${p.id}/storage/`);
  const parts = s.partitions || [];
  append(box, h('div', { class: 'card' }, h('h2', {}, 'Storage'),
    h('p', { id: 'storage-total' }, h('span', { class: 'big' }, fmtBytes(s.bytes)), ` in ${plural(s.rows, 'row', 'rows')} over ${plural(parts.length, 'day partition', 'day partitions')}; kept ${plural(s.retention_days, 'day', 'days')}.`),
    h('p', { class: 'muted' }, 'The project’s share of each day’s file, by rows. The retention on the General tab decides when a day goes.')),
  parts.length ? h('div', { class: 'scroll' }, h('table', { class: 'grid', id: 'partition-list' },
    h('thead', {}, h('tr', {}, ['Day', 'Rows', 'This project', 'Whole day file'].map((t) => h('th', {}, t)))),
    h('tbody', {}, [...parts].reverse().map((x) => h('tr', { class: 'row' }, h('td', {}, dayOf(x.day)), h('td', { class: 'n' }, fmtNum(x.rows)), h('td', { class: 'n' }, fmtBytes(x.bytes)), h('td', { class: 'n' }, fmtBytes(x.file_bytes))))))) : notice('info', 'Nothing stored yet.'),
  parts.length > 1 ? h('div', { class: 'card' }, h('h3', {}, 'Bytes per day'), bars(parts.map((x) => ({ label: dayOf(x.day), count: x.bytes })), { fmt: fmtBytes })) : null);
}

export async function statsTab({ p, box }) {
  const s = await get(`/api/0/projects/${p.id}/stats/`);
  const d = s.ingest_24h || {};
  const hourly = [...(s.ingest_hourly || [])].reverse();
  const buckets = hourly.map((x) => ({ t: Date.parse(x.hour), counts: { accepted: x.accepted, rate_limited: x.rate_limited, rejected: x.rejected } }));
  const series = [{ key: 'accepted', cls: 'lvl-info' }, { key: 'rate_limited', cls: 'lvl-warning' }, { key: 'rejected', cls: 'lvl-error' }];
  append(box, h('div', { class: 'card' }, h('h2', {}, 'What the doors did, last 24 h'),
    h('div', { class: 'stats', id: 'ingest-24h' }, [['accepted', 'accepted'], ['rate_limited', 'rate-limited'], ['rejected', 'rejected']].map(([k, l]) =>
      h('span', { class: 'stat' }, h('span', { class: 'big' }, fmtNum(d[k])), h('span', { class: 'muted' }, ' ' + l)))),
    buckets.length ? histogram(buckets, { step: 3600e3, series, height: 120 }) : null,
    h('p', { class: 'muted' }, 'Counted in memory since the server started. Blue: accepted, amber: refused by a rate limit, red: other refusals.')),
  (s.received_not_stored || []).length ? h('div', { class: 'card' }, h('h3', {}, 'Accepted, not stored'), bars(s.received_not_stored.map((x) => ({ label: x.type, count: x.quantity })))) : null,
  (s.client_reports || []).length ? h('div', { class: 'card' }, h('h3', {}, 'SDK loss reports'), bars(s.client_reports.map((x) => ({ label: `${x.reason} (${x.category})`, count: x.quantity })))) : null);
}
