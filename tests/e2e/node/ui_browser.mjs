// Drives the web UI in Debian's chromium with playwright-core, for
// tests/e2e/test_ui.py. Usage: node ui_browser.mjs PHASE BASE_URL TOKEN SHOT_DIR EXPECT_JSON
// Prints one JSON line {ok, checks: [...], failures: [...], ...} and exits 0
// (the Python test judges the result); exits 2 when the browser cannot run.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

const [phase, base, token, shotDir, expectJson] = process.argv.slice(2);
const expect = JSON.parse(expectJson || '{}');
const out = { phase, checks: [], failures: [], xss: [], console: [] };
const check = (cond, msg) => { (cond ? out.checks : out.failures).push(msg); return cond; };

const browser = await chromium.launch({
  executablePath: process.env.BILOR_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', '--disable-quic'],
});

async function newPage(width = 1280, height = 860, colorScheme = 'light') {
  const ctx = await browser.newContext({ viewport: { width, height }, colorScheme });
  const page = await ctx.newPage();
  // Any script an event smuggles in would call alert/confirm/prompt or log.
  page.on('dialog', async (d) => { out.xss.push(`dialog: ${d.message()}`); await d.dismiss(); });
  page.on('console', (m) => {
    const t = m.text();
    out.console.push(`${m.type()}: ${t}`.slice(0, 300));
    if (/xss|Content Security Policy|Refused to/i.test(t)) out.xss.push(`console: ${t}`.slice(0, 300));
  });
  page.on('pageerror', (e) => out.console.push(`pageerror: ${e.message}`));
  await page.addInitScript(() => {
    window.__xss = [];
    for (const f of ['alert', 'confirm', 'prompt']) {
      const orig = window[f];
      window[f] = (...a) => { window.__xss.push(`${f}(${a.join(',')})`); return orig.apply(window, a); };
    }
  });
  return page;
}

async function shot(page, name) {
  if (!shotDir) return;
  fs.mkdirSync(shotDir, { recursive: true });
  await page.screenshot({ path: path.join(shotDir, `${name}.png`), fullPage: false });
}

async function signIn(page) {
  await page.goto(base + '/');
  await page.waitForSelector('#token-form');
  await page.fill('#token', token);
  await page.click('#token-form button[type=submit]');
  await page.waitForSelector('h1:text("Projects")');
}

const issueTitles = async (page) => page.$$eval('#issue-list .issue .title', (els) => els.map((e) => e.textContent));
async function gotoIssues(page, params) {
  await page.goto(`${base}/#/issues?${new URLSearchParams(params)}`);
  await page.waitForSelector('#issue-list .issue, #issue-list .notice');
}

// Whatever the page shows, nothing from the events may have become markup.
async function injected(page, where) {
  const found = await page.evaluate(() => {
    const bad = [...document.querySelectorAll('[onerror],[onload],[onclick],script:not([type=module]),iframe,object,embed,img[src="x"]')]
      .map((e) => e.outerHTML.slice(0, 120));
    const js = [...document.querySelectorAll('a[href]')].filter((a) => /^\s*javascript:/i.test(a.getAttribute('href'))).map((a) => a.outerHTML.slice(0, 120));
    return [...bad, ...js, ...(window.__xss || [])];
  });
  for (const f of found) out.xss.push(`${where}: ${f}`);
}

try {
  if (phase === 'main') {
    const page = await newPage();
    await page.goto(base + '/');
    await page.waitForSelector('#token-form');
    await shot(page, 'signin');
    await page.fill('#token', 'bilor_wrong_token');
    await page.click('#token-form button[type=submit]');
    await page.waitForSelector('.notice.error');
    check(/not accepted/.test(await page.textContent('.notice.error')), 'a wrong token is refused with a message');
    await page.fill('#token', token);
    await page.click('#token-form button[type=submit]');
    await page.waitForSelector('h1:text("Projects")');
    await page.waitForSelector('.project .big:not(:text("…"))');
    await shot(page, 'projects');

    await gotoIssues(page, { project: 1 });
    const all = await issueTitles(page);
    for (const t of expect.titles) check(all.some((x) => x.includes(t)), `issues page lists "${t}" (got ${JSON.stringify(all)})`);
    await shot(page, 'issues');

    // "/" focuses the search box; searching narrows the list.
    await page.click('h1');
    await page.keyboard.press('/');
    check(await page.evaluate(() => document.activeElement && document.activeElement.type === 'search'), '"/" focuses the search box');
    await page.keyboard.type(expect.search);
    await page.keyboard.press('Enter');
    // The list empties while the new page loads: wait for the narrowed rows, not the empty list.
    await page.waitForFunction((n) => {
        const k = document.querySelectorAll('#issue-list .issue').length;
        return k > 0 && k < n;
    }, all.length);
    const narrowed = await issueTitles(page);
    check(narrowed.length >= 1 && narrowed.every((x) => x.includes(expect.target)), `search "${expect.search}" narrows to the target (got ${JSON.stringify(narrowed)})`);
    check(decodeURIComponent(page.url()).includes(`query=${expect.search}`), 'the query is in the URL');

    // j moves focus into the list; open the issue.
    await page.keyboard.press('j');
    check(await page.evaluate(() => !!document.activeElement.closest('.row')), 'j focuses the first row');
    await page.click(`#issue-list .issue .title:has-text("${expect.target}")`);
    await page.waitForSelector('.frame .fn');
    const fns = await page.$$eval('.frame.in-app .fn', (els) => els.map((e) => e.textContent));
    for (const f of expect.functions) check(fns.includes(f), `stack trace shows in-app function ${f} (got ${JSON.stringify(fns)})`);
    const openInApp = await page.$$eval('.frame.in-app', (els) => els.filter((e) => e.open).length);
    check(openInApp >= 1, 'in-app frames are expanded');
    const around = await page.textContent('.around');
    check(around.includes(expect.around_line), `"Around this event" shows the log line of the same trace (got ${JSON.stringify(around.slice(0, 300))})`);
    await shot(page, 'issue');
    await page.screenshot({ path: path.join(shotDir, 'issue-full.png'), fullPage: true });

    // Resolve it: it leaves the unresolved tab and shows in the resolved one.
    const issueUrl = page.url();
    out.issue_id = /#\/issue\/(\d+)/.exec(issueUrl)[1];
    await page.click('#resolve');
    await page.waitForSelector('#issue-status:text("resolved")');
    check(true, 'resolve sets the status');
    await gotoIssues(page, { project: 1, status: 'unresolved' });
    let ids = await page.$$eval('#issue-list .issue', (els) => els.map((e) => e.dataset.id));
    check(!ids.includes(out.issue_id), `the resolved issue left the unresolved tab (got ${JSON.stringify(ids)} at ${page.url()})`);
    await gotoIssues(page, { project: 1, status: 'resolved' });
    ids = await page.$$eval('#issue-list .issue', (els) => els.map((e) => e.dataset.id));
    check(ids.includes(out.issue_id), 'the resolved issue is in the resolved tab');

    // Logs explorer
    await page.goto(`${base}/#/logs?project=1&range=24h`);
    await page.waitForSelector('#log-list .logline, .results .notice');
    const lines = await page.$$eval('#log-list .logline .msg', (els) => els.map((e) => e.textContent));
    check(lines.includes(expect.around_line), 'the logs explorer lists the log lines');
    await page.waitForSelector('.histogram rect.bar');
    check((await page.$$('.histogram rect.bar')).length >= 1, 'the logs histogram has bars');
    await page.click('.facets .barrow:has-text("shop.gateway")');
    await page.waitForFunction(() => decodeURIComponent(location.hash).includes('logger:shop.gateway'));
    await page.waitForSelector('#log-list .logline');
    const filtered = await page.$$eval('#log-list .logline .msg', (els) => els.map((e) => e.textContent));
    check(filtered.length === 1 && filtered[0] === expect.around_line, `a facet click filters the lines (got ${JSON.stringify(filtered)})`);
    await page.click('#log-list .logline .expand');
    await shot(page, 'logs');

    // Narrow screen
    const phone = await newPage(390, 844);
    await phone.goto(base + '/');
    await phone.fill('#token', token);
    await phone.click('#token-form button[type=submit]');
    await phone.waitForSelector('h1:text("Projects")');
    await gotoIssues(phone, { project: 1, status: 'all' });
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(overflow <= 1, `no horizontal scrolling at 390 px (overflow ${overflow})`);
    await shot(phone, 'issues-390px');

    // Dark colour scheme (prefers-color-scheme)
    const dark = await newPage(1280, 860, 'dark');
    await signIn(dark);
    await dark.goto(issueUrl);
    await dark.waitForSelector('.frame .fn');
    const bg = await dark.evaluate(() => getComputedStyle(document.body).backgroundColor);
    check(bg !== 'rgb(255, 255, 255)', `dark scheme changes the background (${bg})`);
    await shot(dark, 'issue-dark');

    // First load with an empty cache: bytes of the UI and time to the first issues.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    await page.goto(`${base}/#/issues?project=1&status=all`);
    await page.waitForSelector('#issue-list .issue');
    await page.waitForFunction(() => performance.getEntriesByName('bilor-issues-shown').length > 0);
    out.perf = await page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0];
      const res = performance.getEntriesByType('resource');
      const ui = res.filter((r) => r.name.includes('/ui/'));
      const api = res.filter((r) => r.name.includes('/api/'));
      const sum = (a) => a.reduce((s, r) => s + (r.transferSize || 0), 0);
      return {
        ui_bytes: nav.transferSize + sum(ui),
        ui_decoded_bytes: nav.decodedBodySize + ui.reduce((s, r) => s + (r.decodedBodySize || 0), 0),
        api_bytes: sum(api),
        ui_files: ui.length + 1,
        first_results_ms: Math.round(performance.getEntriesByName('bilor-issues-shown')[0].startTime),
        dom_content_loaded_ms: Math.round(nav.domContentLoadedEventEnd),
      };
    });
    // The cached reload asks only for index.html again (fingerprinted assets are immutable).
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: false });
    await page.reload();
    await page.waitForSelector('#issue-list .issue');
    out.perf.cached_ui_requests_to_network = await page.evaluate(() =>
      performance.getEntriesByType('resource').filter((r) => r.name.includes('/ui/') && r.transferSize > 0).length);
  } else if (phase === 'session') {
    // Password sign-in: a session cookie, then X-CSRF-Token on every state-changing call.
    const page = await newPage();
    await page.goto(base + '/');
    await page.waitForSelector('#signin-form');
    await page.fill('#email', expect.email);
    await page.fill('#password', 'not-the-password');
    await page.click('#signin-form button[type=submit]');
    await page.waitForSelector('.notice.error');
    check(/Wrong email or password/.test(await page.textContent('.notice.error')), 'a wrong password is refused with a message');
    await page.fill('#password', expect.password);
    await page.click('#signin-form button[type=submit]');
    await page.waitForSelector('h1:text("Projects")');
    check(true, 'signed in with email and password');
    const cookies = await page.context().cookies();
    check(cookies.some((c) => c.httpOnly), `the session is an HttpOnly cookie (${cookies.map((c) => c.name)})`);
    await page.goto(`${base}/#/account`);
    await page.waitForSelector('#tlabel');
    await page.fill('#tlabel', expect.token_name);
    await page.click('form.inline button[type=submit]');
    await page.waitForSelector(`.tokens strong:text("${expect.token_name}")`);
    check(true, `a token made on the account page is listed by its name "${expect.token_name}"`);
    await page.click('#signout');
    await page.waitForSelector('#signin-form');
    const me = await page.evaluate(async () => (await fetch('/api/0/auth/me', { credentials: 'same-origin' })).status);
    check(me === 401, `after signing out the session is gone (auth/me: ${me})`);
  } else if (phase === 'regressed') {
    const page = await newPage();
    await signIn(page);
    await gotoIssues(page, { project: 1, status: 'unresolved' });
    const ids = await page.$$eval('#issue-list .issue', (els) => els.map((e) => e.dataset.id));
    check(ids.includes(expect.issue_id), `a new event brought issue ${expect.issue_id} back to the unresolved tab (got ${JSON.stringify(ids)})`);
  } else if (phase === 'xss') {
    const page = await newPage();
    await signIn(page);
    await injected(page, 'projects');
    await gotoIssues(page, { project: 1, status: 'all' });
    await injected(page, 'issues');
    const titles = await issueTitles(page);
    check(titles.some((t) => t.includes('<img src=x onerror=')), `the hostile title is shown as text (got ${JSON.stringify(titles)})`);
    await shot(page, 'xss-issues');
    for (const id of expect.issue_ids) {
      await page.goto(`${base}/#/issue/${id}`);
      await page.waitForSelector('.event, .notice');
      await page.waitForSelector('.around ul, .around .notice');
      // Open every folded frame and detail so everything is rendered.
      await page.$$eval('details', (ds) => ds.forEach((d) => { d.open = true; }));
      await injected(page, `issue ${id}`);
    }
    const text = await page.textContent('main');
    for (const s of expect.visible) check(text.includes(s), `issue page shows ${JSON.stringify(s)} as text`);
    await shot(page, 'xss-issue');
    await page.goto(`${base}/#/logs?project=1&range=24h`);
    await page.waitForSelector('#log-list .logline');
    for (const b of await page.$$('#log-list .expand')) await b.click();
    await injected(page, 'logs');
    const ltext = await page.textContent('#log-list');
    check(ltext.includes('"><svg onload='), 'log attributes are shown as text');
    // Filter on a hostile value: it goes into the query, still as text.
    const plus = await page.$('#log-list .attrs dd button');
    if (plus) { await plus.click(); await page.waitForSelector('#log-list, .results .notice'); await injected(page, 'logs filtered'); }
    await shot(page, 'xss-logs');
    await page.goto(`${base}/#/account`);
    await page.waitForSelector('h1:text("Account")');
    await injected(page, 'account');
    check(out.xss.length === 0, `no script ran and no markup was injected (${JSON.stringify(out.xss)})`);
  }
} catch (e) {
  out.failures.push(`exception: ${e.stack || e}`);
}
await browser.close();
out.ok = out.failures.length === 0;
console.log(JSON.stringify(out));
