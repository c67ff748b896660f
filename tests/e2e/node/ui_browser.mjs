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

async function signInPassword(page, email, password) {
  await page.goto(base + '/');
  await page.waitForSelector('#signin-form');
  await page.fill('#email', email);
  await page.fill('#password', password);
  await page.click('#signin-form button[type=submit]');
  await page.waitForSelector('h1:text("Projects")');
}

// Opens a settings or admin tab and waits until it has drawn.
async function openTab(page, hash, ready) {
  await page.goto(`${base}/#/${hash}`);
  await page.waitForSelector(ready);
}

// The message a change left (ok or error); each is read once, so the next
// call waits for the next change's message.
async function message(page, kind) {
  const sel = `.msg .notice.${kind}:not([data-seen])`;
  await page.waitForSelector(sel);
  return page.$eval(sel, (e) => { e.dataset.seen = '1'; return e.textContent; });
}

const navLinks = async (page) => {
  await page.waitForSelector('#nav:not([data-user=""]) a[href="#/account"]');
  return page.$$eval('#nav a', (els) => els.map((e) => e.textContent));
};

// Nothing wider than the screen, and "Sign out" on one line.
async function narrowOk(page, where) {
  const r = await page.evaluate(() => {
    const so = document.getElementById('signout');
    const lh = so ? parseFloat(getComputedStyle(so).lineHeight) || 20 : 0;
    return { overflow: document.documentElement.scrollWidth - window.innerWidth, signout: so ? so.getBoundingClientRect().height : 0, lh };
  });
  check(r.overflow <= 1, `${where}: no horizontal scrolling at 390 px (overflow ${r.overflow})`);
  check(r.signout > 0 && r.signout < r.lh * 1.6, `${where}: "Sign out" stays on one line (height ${r.signout}, line ${r.lh})`);
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

    // The counts chart over 14 days: the period is in the URL and the chart redrawn.
    await page.click('#period-14d');
    await page.waitForSelector('#period-14d.active');
    check(page.url().includes('period=14d'), `the period is in the URL (${page.url()})`);
    const chartHead = await page.textContent('section.panel h3');
    check(chartHead.includes('14 d'), `the chart says its period (got ${JSON.stringify(chartHead)})`);
    check(await page.$$eval('section.panel svg.histogram rect', (r) => r.length) >= 1, 'the 14 d chart has bars');

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
    await page.click('#token-add button[type=submit]');
    await page.waitForSelector(`#token-list strong:text("${expect.token_name}")`);
    check(true, `a token made on the account page is listed by its name "${expect.token_name}"`);
    await page.click('#signout');
    await page.waitForSelector('#signin-form');
    const me = await page.evaluate(async () => (await fetch('/api/0/auth/me', { credentials: 'same-origin' })).status);
    check(me === 401, `after signing out the session is gone (auth/me: ${me})`);
  } else if (phase === 'settings') {
    // A project admin's settings: general, a DSN key with limits, members,
    // grouping rules (a bad one first), storage, stats; the Python side then
    // checks what the API shows and sends with the key.
    const page = await newPage();
    await signInPassword(page, expect.email, expect.password);
    check((await navLinks(page)).includes('Settings'), 'a project admin sees Settings in the menu');
    await openTab(page, 'settings/1?tab=general', '#project-form');
    await page.selectOption('#p-level', 'warning');
    await page.fill('#p-days', '14');
    await page.click('#project-form button[type=submit]');
    check(/Project saved/.test(await message(page, 'ok')), 'the project form saves');
    await page.fill('#q-events_per_hour', '5000');
    await page.click('#quota-form button[type=submit]');
    check(/saved/.test(await message(page, 'ok')), 'the project-wide limits save');
    await page.fill('#p-days', '0');
    check(!(await page.$eval('#p-days', (i) => i.checkValidity())), 'the form itself refuses a retention of 0 days');

    await openTab(page, 'settings/1?tab=keys', '#key-add');
    await page.fill('#k-label', expect.key_label);
    await page.fill('#k-events_per_minute', '120');
    await page.click('#key-add button[type=submit]');
    check(/created/.test(await message(page, 'ok')), 'the key is created');
    await page.waitForSelector('#new-dsn');
    out.new_dsn = (await page.textContent('#new-dsn')).trim();
    const row = page.locator(`#key-list li.key:has(.klabel:text("${expect.key_label}"))`);
    check(await row.count() === 1, 'the new key is listed by its label');
    check((await row.locator('input[name=events_per_minute]').inputValue()) === '120', 'the key shows its limit');
    await row.locator('input[name=lines_per_minute]').fill('600');
    await row.locator('button[type=submit]').click();
    check(/saved/.test(await message(page, 'ok')), 'a key limit saves');
    await shot(page, 'settings-keys');

    await openTab(page, 'settings/1?tab=members', '#member-add');
    await page.fill('#m-email', expect.new_member);
    await page.selectOption('#m-role', 'member');
    await page.click('#member-add button[type=submit]');
    // The add's own notice first, so the role change's is not confused with it.
    check(/is a member of/.test(await message(page, 'ok')), 'the member is added');
    await page.waitForSelector(`#member-list tr:has-text("${expect.new_member}")`);
    await page.selectOption(`#member-list tr:has-text("${expect.new_member}") select`, 'admin');
    check(/is now a admin|is now an admin/.test(await message(page, 'ok')), 'a role change saves');
    await page.fill('#m-email', 'nobody@nowhere.test');
    await page.click('#member-add button[type=submit]');
    check((await message(page, 'error')).length > 0, 'adding an unknown email shows an error');
    await shot(page, 'settings-members');

    await openTab(page, 'settings/1?tab=grouping', '#grouping-form');
    await page.fill('#g-fp', 'error.type:ValueError -> payment\nerror.type:KeyError ->');
    await page.click('#grouping-form button[type=submit]');
    const gerr = await message(page, 'error');
    check(/Fingerprint rules, line 2/.test(gerr), `a bad rule is pointed at by field and line (${gerr})`);
    check(await page.getAttribute('#g-fp', 'aria-invalid') === 'true', 'the bad field is marked invalid');
    const selLine = await page.evaluate(() => { const t = document.getElementById('g-fp'); return t.value.slice(t.selectionStart, t.selectionEnd); });
    check(selLine === 'error.type:KeyError ->', `the bad line is selected (${JSON.stringify(selLine)})`);
    await shot(page, 'settings-grouping-error');
    await page.fill('#g-fp', expect.rules);
    await page.click('#grouping-form button[type=submit]');
    check(/saved/.test(await message(page, 'ok')), 'valid rules save');
    check(/Version 1/.test(await page.textContent('#grouping-form')), 'the saved rules have version 1');

    await openTab(page, 'settings/1?tab=storage', '#storage-total');
    check(await page.$$eval('#partition-list tbody tr', (r) => r.length) >= 1, 'storage lists a day partition');
    await shot(page, 'settings-storage');
    await openTab(page, 'settings/1?tab=stats', '#ingest-24h');
    check(await page.$$('.histogram rect.bar').then((b) => b.length >= 1), 'the stats chart has bars');

    // Keyboard: the key form is reachable and submits with Enter.
    await openTab(page, 'settings/1?tab=keys', '#key-add');
    await page.focus('#k-label');
    await page.keyboard.type('kbd-key');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#key-list .klabel:text("kbd-key")');
    check(true, 'a key is made with the keyboard alone');

    const phone = await newPage(390, 844);
    await signInPassword(phone, expect.email, expect.password);
    await narrowOk(phone, 'projects');
    for (const t of ['keys', 'members', 'grouping', 'storage']) {
      await openTab(phone, `settings/1?tab=${t}`, `#settings-body[data-tab=${t}] .card`);
      await narrowOk(phone, `settings ${t}`);
    }
    await openTab(phone, 'settings/1?tab=keys', '#key-list');
    await shot(phone, 'settings-keys-390px');
    const dark = await newPage(1280, 860, 'dark');
    await signInPassword(dark, expect.email, expect.password);
    await openTab(dark, 'settings/1?tab=members', '#member-list');
    const bg = await dark.evaluate(() => getComputedStyle(document.body).backgroundColor);
    check(bg !== 'rgb(255, 255, 255)', `settings in the dark scheme (${bg})`);
    await shot(dark, 'settings-members-dark');
  } else if (phase === 'revoke') {
    const page = await newPage();
    await signInPassword(page, expect.email, expect.password);
    await openTab(page, 'settings/1?tab=keys', '#key-list');
    const row = page.locator(`#key-list li.key:has(.klabel:text("${expect.key_label}"))`);
    await row.locator('button.revoke').click();
    check(/revoked/.test(await message(page, 'ok')), 'revoking says so');
    await page.waitForSelector(`#key-list li.key.revoked:has(.klabel:text("${expect.key_label}"))`);
    check(true, 'the revoked key is listed as revoked');
  } else if (phase === 'readonly') {
    // A member sees settings read-only; a viewer sees none, even by URL.
    const page = await newPage();
    await signInPassword(page, expect.member_email, expect.password);
    check((await navLinks(page)).includes('Settings'), 'a member sees Settings');
    check(!(await navLinks(page)).includes('Admin'), 'a member does not see Admin');
    await openTab(page, 'settings/1?tab=keys', '#key-list');
    check(await page.$('#key-add') === null && await page.$('#key-list button.revoke') === null, 'a member gets no key form and no revoke button');
    check(await page.$eval('#key-list input[name=label]', (i) => i.readOnly), 'a member sees key labels read-only');
    await openTab(page, 'settings/1?tab=grouping', '#grouping-form');
    check(await page.$eval('#g-fp', (t) => t.readOnly) && await page.$('#grouping-form button[type=submit]') === null, 'a member sees the grouping rules read-only');
    await openTab(page, 'admin', 'h1:text("Admin")');
    check(await page.$('#user-list') === null && /instance admins/.test(await page.textContent('main')), 'a member cannot reach Admin by URL');
    const viewer = await newPage();
    await signInPassword(viewer, expect.viewer_email, expect.password);
    check(!(await navLinks(viewer)).includes('Settings'), 'a viewer does not see Settings');
    await openTab(viewer, 'settings/1?tab=keys', 'main .notice.error');
    check(await viewer.$('#key-list') === null && await viewer.$('.kdsn') === null, 'a viewer cannot reach settings by URL');
    await openTab(viewer, 'settings?tab=members', 'main .notice.error');
    check(await viewer.$('#member-list') === null, 'nor through the settings page without a project');
    await shot(viewer, 'settings-viewer');
  } else if (phase === 'admin') {
    const page = await newPage();
    await signInPassword(page, expect.email, expect.password);
    check((await navLinks(page)).includes('Admin'), 'an instance admin sees Admin');
    await openTab(page, 'admin?tab=users', '#user-add');
    await page.fill('#u-email', expect.new_user);
    await page.fill('#u-name', 'Made In Browser');
    await page.fill('#u-pw', expect.new_password);
    await page.click('#user-add button[type=submit]');
    check(/added/.test(await message(page, 'ok')), 'a user is added');
    const row = () => page.locator(`#user-list tr[data-email="${expect.new_user}"]`);
    await row().locator('button.admin-toggle').click();
    check(/now an instance admin/.test(await message(page, 'ok')), 'make admin');
    await row().locator('button.admin-toggle').click();
    check(/no longer/.test(await message(page, 'ok')), 'remove admin');
    await row().locator('button.reset-pw').click();
    await row().locator('input[type=password]').fill(expect.reset_password);
    await row().locator('form.reset button[type=submit]').click();
    check(/new password/.test(await message(page, 'ok')), 'a password is reset');
    await row().locator('button.disable').click();
    check(/disabled/.test(await message(page, 'ok')), 'a user is disabled');
    check(await row().locator('.badge.state').count() === 1, 'the disabled user is marked');
    check(await page.$$eval('#user-list tr[data-email="admin@localhost"] button.disable', (b) => b.length) === 0, 'an admin cannot disable themselves here');
    await shot(page, 'admin-users');
    await openTab(page, 'admin?tab=storage', '#project-storage');
    check(await page.$$eval('#project-storage tbody tr', (r) => r.length) >= 1, 'admin storage lists the projects');
    await shot(page, 'admin-storage');
    await openTab(page, 'admin?tab=ingest', '#ingest-now');
    await page.waitForSelector('#ingest-rates .stat', { timeout: 15000 });
    check(/Journal backlog/.test(await page.textContent('#ingest-now')), 'admin ingest shows the journal backlog');

    // API tokens of the signed-in user: scope and project, shown once, revoke.
    await openTab(page, 'account', '#token-add');
    await page.fill('#tlabel', expect.token_name);
    await page.selectOption('#tscope', 'read');
    await page.check('#token-add input[name=project][value="1"]');
    await page.click('#token-add button[type=submit]');
    await page.waitForSelector('#new-token');
    out.new_token = (await page.textContent('#new-token')).trim();
    const trow = page.locator(`#token-list li.token:has(strong:text("${expect.token_name}"))`);
    check(/read/.test(await trow.textContent()), 'the token lists its scope');
    check((await trow.textContent()).includes(expect.project_name), 'the token lists its project');
    await shot(page, 'account-tokens');
    await page.reload();
    await page.waitForSelector('#token-list li.token');
    check(await page.$('#new-token') === null && !(await page.textContent('main')).includes(out.new_token), 'the secret is not shown again');
  } else if (phase === 'revoke_token') {
    const page = await newPage();
    await signInPassword(page, expect.email, expect.password);
    await openTab(page, 'account', '#token-list li.token');
    const trow = page.locator(`#token-list li.token:has(strong:text("${expect.token_name}"))`);
    check(!/last used never/.test(await trow.textContent()), `the token shows when it was last used (${(await trow.textContent()).slice(0, 200)})`);
    await trow.locator('button.revoke').click();
    check(/revoked/.test(await message(page, 'ok')), 'revoking a token says so');
    check(await page.locator(`#token-list li.token:has(strong:text("${expect.token_name}"))`).count() === 0, 'the revoked token leaves the list');
  } else if (phase === 'perf') {
    // tools/measure/ui_perf.py: ms from navigation start to each page's first
    // results (the performance mark the page sets when its rows are in the
    // DOM), first with an empty cache, then expect.runs times with a warm one.
    const page = await newPage();
    await signIn(page);
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    const pages = [['issues', `#/issues?project=${expect.project}`, 'bilor-issues-shown'],
      ['logs', `#/logs?project=${expect.project}&range=24h`, 'bilor-logs-shown'],
      ['issue', `#/issue/${expect.issue_id}`, 'bilor-issue-shown']];
    out.perf = {};
    // One load first so chromium's own start-up is not in the first figure.
    await page.goto(`${base}/${pages[0][1]}`);
    await page.waitForFunction((m) => performance.getEntriesByName(m).length > 0, pages[0][2], { timeout: 60000 });
    await page.waitForLoadState('networkidle');
    for (const [name, hash, mark] of pages) {
      const times = [];
      for (let i = 0; i <= expect.runs; i++) {
        await cdp.send('Network.setCacheDisabled', { cacheDisabled: i === 0 });
        await page.goto('about:blank');
        await page.goto(`${base}/${hash}`);
        await page.waitForFunction((m) => performance.getEntriesByName(m).length > 0, mark, { timeout: 60000 });
        times.push(await page.evaluate((m) => Math.round(performance.getEntriesByName(m)[0].startTime), mark));
        // Let the rest of the page (charts, facets, sparklines) finish, as a
        // person would: a server still busy with the previous load's facets
        // would otherwise slow the next load's lines.
        await page.waitForLoadState('networkidle', { timeout: 120000 }).catch(() => {});
      }
      // Where the last warm load's time went: every request, start → end (ms).
      const detail = await page.evaluate(() => [performance.getEntriesByType('navigation')[0], ...performance.getEntriesByType('resource')]
        .map((r) => `${Math.round(r.startTime)}-${Math.round(r.responseEnd)} ${r.name.replace(location.origin, '').slice(0, 70)}`));
      out.perf[name] = { cold_ms: times[0], warm_ms: times.slice(1), last_warm: detail };
      check(true, `${name}: ${JSON.stringify(out.perf[name])}`);
    }
  } else if (phase === 'regressed') {
    const page = await newPage();
    await signIn(page);
    await gotoIssues(page, { project: 1, status: 'unresolved' });
    const ids = await page.$$eval('#issue-list .issue', (els) => els.map((e) => e.dataset.id));
    check(ids.includes(expect.issue_id), `a new event brought issue ${expect.issue_id} back to the unresolved tab (got ${JSON.stringify(ids)})`);
  } else if (phase === 'environments') {
    // The environment and release selects narrow the list, live in the URL and survive a tab switch.
    const same = (a, b) => JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());
    const shows = (p, want) => p.waitForFunction((w) => {
      const t = [...document.querySelectorAll('#issue-list .issue .title')].map((e) => e.textContent);
      return t.length === w.length && w.every((x) => t.some((y) => y.includes(x)));
    }, want, { timeout: 10000 }).then(() => true, () => false);
    const page = await newPage();
    await signIn(page);
    await gotoIssues(page, { project: 1, status: 'all' });
    const env = 'select[aria-label=Environment]';
    const rel = 'select[aria-label=Release]';
    await page.waitForSelector(`${env} option[value=staging]`, { state: 'attached' });
    const envOpts = await page.$$eval(`${env} option`, (els) => els.map((e) => e.textContent));
    check(same(envOpts, ['All environments', 'production', 'staging']), `the environment select lists the project's environments (got ${JSON.stringify(envOpts)})`);
    check(await shows(page, [...expect.production, ...expect.staging]), 'All environments shows every issue');
    // Keyboard: the select is reachable with Tab and changed from the keyboard.
    await page.focus(env);
    check(await page.evaluate((s) => document.activeElement === document.querySelector(s), env), 'the environment select takes focus');
    await page.selectOption(env, 'staging');
    check(await shows(page, expect.staging), `environment staging shows only its issue (got ${JSON.stringify(await issueTitles(page))})`);
    check(new URL(page.url()).hash.includes('environment=staging'), `the environment is in the URL (${page.url()})`);
    await page.click('.tabs a[data-status=unresolved]');
    await page.waitForFunction(() => location.hash.includes('status=unresolved'));
    check(await shows(page, expect.staging), 'the environment stays chosen on another status tab');
    check(new URL(page.url()).hash.includes('environment=staging') && await page.$eval(env, (e) => e.value) === 'staging',
      `the tab switch keeps environment=staging (${page.url()})`);
    await shot(page, 'issues-environment');
    // A shared link opens the same view; the release filter narrows as well.
    const linked = await newPage();
    await signIn(linked);
    await gotoIssues(linked, { project: 1, status: 'all', environment: 'production', release: expect.release });
    check(await shows(linked, expect.production),
      `a link with environment and release shows the production issues of that release (got ${JSON.stringify(await issueTitles(linked))})`);
    await linked.waitForSelector(`${rel} option[value="${expect.release}"]`, { state: 'attached' });
    check(await linked.$eval(rel, (e) => e.value) === expect.release && await linked.$eval(env, (e) => e.value) === 'production', 'the selects show the linked filters');
    await linked.selectOption(env, '');
    await linked.waitForFunction(() => !location.hash.includes('environment='));
    check(new URL(linked.url()).hash.includes(`release=${encodeURIComponent(expect.release)}`), `All environments keeps the release (${linked.url()})`);
    // 390 px and dark: the selects fit and follow the scheme.
    const phone = await newPage(390, 844, 'dark');
    await signIn(phone);
    await gotoIssues(phone, { project: 1, status: 'all', environment: 'staging' });
    await phone.waitForSelector(`${env} option[value=staging]`, { state: 'attached' });
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(overflow <= 1, `no horizontal scrolling at 390 px with the filters (overflow ${overflow})`);
    const selBg = await phone.$eval(env, (e) => getComputedStyle(e).backgroundColor);
    check(selBg !== 'rgb(255, 255, 255)', `the environment select is dark in the dark scheme (${selBg})`);
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
    await page.waitForSelector('#token-list li.token');
    await injected(page, 'account');
    check((await page.textContent('#token-list')).includes('"><svg onload='), 'a token name is shown as text');
    for (const [hash, ready] of [['settings/1?tab=keys', '#key-list'], ['settings/1?tab=members', '#member-list'], ['admin?tab=users', '#user-list']]) {
      await page.goto(`${base}/#/${hash}`);
      await page.waitForSelector(ready);
      await injected(page, hash);
    }
    check((await page.textContent('#user-list')).includes("<script>alert('user')</script>"), 'a user name is shown as text');
    check(out.xss.length === 0, `no script ran and no markup was injected (${JSON.stringify(out.xss)})`);
  }
} catch (e) {
  out.failures.push(`exception: ${e.stack || e}`);
}
await browser.close();
out.ok = out.failures.length === 0;
console.log(JSON.stringify(out));
