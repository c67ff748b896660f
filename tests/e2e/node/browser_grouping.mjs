// Drives @sentry/browser in Debian's headless Chromium (playwright-core) for
// tests/e2e/test_grouping.py and tests/data/grouping/README.md:
//   node browser_grouping.mjs DSN
// Serves grouping_page/ and node_modules over a local HTTP server, loads the
// page (which throws the same error from the same code in two ways, and one
// from other code), waits until the SDK has sent, and prints one JSON line:
//   {"sent": ["<event id>", ...], "done": true}
import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
const dsn = process.argv[2];
if (!dsn) {
    console.error("usage: node browser_grouping.mjs DSN");
    process.exit(2);
}

const types = { ".js": "text/javascript", ".html": "text/html", ".mjs": "text/javascript" };
const server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    const file = path.normalize(path.join(here, decodeURIComponent(url.pathname)));
    if (!file.startsWith(here) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
        res.writeHead(404);
        res.end();
        return;
    }
    res.writeHead(200, { "Content-Type": types[path.extname(file)] || "application/octet-stream" });
    fs.createReadStream(file).pipe(res);
});
await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
const port = server.address().port;

const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run"],
});
let out = { sent: [], done: false };
try {
    const page = await browser.newPage();
    page.on("console", (m) => process.stderr.write("page: " + m.text() + "\n"));
    page.on("pageerror", (e) => process.stderr.write("pageerror: " + e.message + "\n"));
    const sends = [];
    page.on("requestfinished", (r) => { if (r.url().includes("/envelope/")) sends.push(r.url()); });
    await page.goto(`http://127.0.0.1:${port}/grouping_page/index.html?dsn=${encodeURIComponent(dsn)}`);
    await page.waitForFunction(() => window.__done === true, null, { timeout: 20000 });
    const sent = await page.evaluate(() => window.__sent.slice());
    const t0 = Date.now();
    while (sends.length < sent.length && Date.now() - t0 < 15000)
        await new Promise((ok) => setTimeout(ok, 100));
    out = { sent, done: sends.length >= sent.length };
} finally {
    await browser.close();
    server.close();
}
console.log(JSON.stringify(out));
