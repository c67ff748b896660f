// Projects: open issues, 24 h activity, the DSN and how to send a first event.
import { h, mount, copyButton, fmtNum, notice } from './dom.js';
import { get, getPage } from './api.js';
import { sparkline } from './chart.js';
import { projects } from './app.js';

export function snippets(dsn, base, pid, key) {
  return [
    ['Python', `pip install sentry-sdk\nimport sentry_sdk\nsentry_sdk.init(dsn="${dsn}")`],
    ['Node', `npm install @sentry/node\nconst Sentry = require("@sentry/node");\nSentry.init({ dsn: "${dsn}" });`],
    ['Browser', `npm install @sentry/browser\nimport * as Sentry from "@sentry/browser";\nSentry.init({ dsn: "${dsn}" });`],
    ['curl (logs)', `curl -H "Authorization: Bearer ${key}" --data-binary '{"level":"info","message":"hello"}' ${base}/api/${pid}/logs`],
  ];
}

export function setupBlock(p) {
  const m = /^(https?):\/\/([^@]+)@([^/]+)(.*)\/(\d+)$/.exec(p.dsn || '');
  const base = m ? `${m[1]}://${m[3]}${m[4]}` : location.origin;
  const key = m ? m[2] : '';
  const tabs = h('div', { class: 'tabs small', role: 'tablist' });
  const pre = h('pre', { class: 'snippet' });
  const list = snippets(p.dsn, base, p.id, key);
  const pick = (i) => {
    pre.textContent = list[i][1];
    [...tabs.children].forEach((b, j) => b.setAttribute('aria-selected', String(i === j)));
  };
  list.forEach(([name], i) => tabs.append(h('button', { type: 'button', role: 'tab', onclick: () => pick(i) }, name)));
  pick(0);
  return h('div', { class: 'setup' }, tabs, pre, copyButton(() => pre.textContent, 'Copy'));
}

async function card(p) {
  const count = h('span', { class: 'big' }, '…');
  const spark = h('span', { class: 'sparkwrap' });
  const el = h('section', { class: 'card project row' },
    h('h2', {}, h('a', { href: `#/issues?project=${p.id}` }, p.name || p.slug)),
    h('div', { class: 'stats' },
      h('a', { href: `#/issues?project=${p.id}`, class: 'stat' }, count, h('span', { class: 'muted' }, ' open issues')),
      h('a', { href: `#/logs?project=${p.id}`, class: 'stat' }, spark, h('span', { class: 'muted' }, ' logs, 24 h'))),
    h('div', { class: 'dsn' }, h('code', {}, p.dsn), copyButton(p.dsn, 'Copy DSN')));
  try {
    const { data, next } = await getPage(`/api/0/projects/${p.id}/issues/`, { status: 'unresolved', limit: 1000 });
    count.textContent = next ? '1000+' : fmtNum(data.length);
    if (!data.length) {
      const logs = await get(`/api/0/projects/${p.id}/logs/`, { limit: 1 });
      if (!logs.length) el.append(notice('info', 'Nothing received yet. Send a first event:'), setupBlock(p));
    }
  } catch (e) { count.textContent = '?'; }
  const since = new Date(Date.now() - 23 * 3600e3).toISOString().slice(0, 14) + '00:00Z';
  try {
    const hist = await get(`/api/0/projects/${p.id}/logs/histogram/`, { since, interval: '1h' });
    spark.append(sparkline((hist.buckets || []).map((b) => b.count || 0)));
  } catch (e) {
    if (e.status !== 404) { spark.textContent = '—'; return el; }
    // No histogram API: count the newest 1000 lines of the last 24 h by hour.
    const lines = await get(`/api/0/projects/${p.id}/logs/`, { since, limit: 1000 }).catch(() => []);
    const t0 = Date.parse(since), hourly = new Array(24).fill(0);
    for (const l of lines) { const i = Math.floor((Date.parse(l.timestamp) - t0) / 3600e3); if (i >= 0 && i < 24) hourly[i]++; }
    spark.append(sparkline(hourly, { label: `${lines.length}${lines.length >= 1000 ? '+' : ''} lines in 24 h` }));
  }
  if (!el.querySelector('.setup')) el.append(h('details', {}, h('summary', {}, 'Setup snippets (Python, Node, browser, curl)'), setupBlock(p)));
  return el;
}

export async function projectsPage({ signal }) {
  const list = await projects();
  const box = h('div', {});
  mount(signal, h('h1', {}, 'Projects'), box);
  if (!list.length) box.append(notice('info', 'No projects yet. Create one with `bilor project add NAME`.'));
  for (const p of list) box.append(await card(p));
}
