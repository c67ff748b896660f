// Drives the official @elastic/elasticsearch client at Bilor's /es/ door for
// tests/e2e/test_es.py:   node esbulk.mjs URL KEY TAG N BAD_EVERY
// helpers.bulk sends N documents with ECS fields; every BAD_EVERY-th is a
// source line that is not a JSON object (the helper passes strings through as
// they are; it parses a dropped item's source again, so it must be JSON), and every (3*BAD_EVERY)-th an update, which a log store refuses per
// item. Then client.index() of one document and the start-up probes.
// Prints one JSON line: the helper's own stats, the dropped items and the
// answers the client parsed.
import { Client } from "@elastic/elasticsearch";

const [url, key, tag, nStr, badStr] = process.argv.slice(2);
const n = parseInt(nStr, 10), badEvery = parseInt(badStr, 10);
const client = new Client({ node: url, auth: { apiKey: key } });

async function* docs() {
    for (let i = 0; i < n; i++)
        yield i;
}

const dropped = { 400: 0, other: 0, types: {} };
const stats = await client.helpers.bulk({
    datasource: docs(),
    flushBytes: 300000,
    concurrency: 2,
    retries: 0,
    onDocument(i) {
        const action = { create: { _index: "es-e2e" } };
        if (badEvery > 0 && i % (3 * badEvery) === 3 * badEvery - 1)
            return [{ update: { _index: "es-e2e", _id: "u" + i } }, {}];
        if (badEvery > 0 && i % badEvery === badEvery - 1)
            return [action, "[" + i + ", \"not a document\"]"];
        return [action, {
            "@timestamp": new Date(Date.now() - 1000).toISOString(),
            message: "bulk line " + i + " " + tag,
            log: { level: i % 2 ? "warn" : "info" },
            host: { name: "bulk-host" },
            seq: i,
        }];
    },
    onDrop(d) {
        if (d.status === 400) dropped[400]++; else dropped.other++;
        const t = d.error && d.error.type;
        dropped.types[t] = (dropped.types[t] || 0) + 1;
    },
});

const info = await client.info();
const lic = await client.license.get();
const health = await client.cluster.health();
const one = await client.index({
    index: "es-e2e-one",
    document: {
        "@timestamp": new Date().toISOString(),
        message: "single document " + tag,
        log: { level: "warn", logger: "node-es" },
        host: { name: "es-host-1" },
        service: { name: "checkout" },
        trace: { id: "4bf92f3577b34da6a3ce929d0e0e4736" },
        order: { id: 42 },
    },
});
console.log(JSON.stringify({ stats, dropped, info, license: lic, health, one }));
