// Drives @opentelemetry/sdk-logs with an OTLP exporter at Bilor for
// tests/e2e/test_otlp.py:   node otlp.mjs http|proto URL KEY TAG
// Emits three records (attributes of every type, a structured body, trace
// context from an active span context), flushes, shuts down and prints one
// JSON line: {"ok":true,"trace_id":...,"span_id":...} or the export error.
import { context, trace, TraceFlags } from "@opentelemetry/api";
import { SeverityNumber } from "@opentelemetry/api-logs";
import { LoggerProvider, SimpleLogRecordProcessor } from "@opentelemetry/sdk-logs";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { OTLPLogExporter as HttpExporter } from "@opentelemetry/exporter-logs-otlp-http";
import { OTLPLogExporter as ProtoExporter } from "@opentelemetry/exporter-logs-otlp-proto";

const [kind, url, key, tag] = process.argv.slice(2);
const Exporter = kind === "proto" ? ProtoExporter : HttpExporter;
const exporter = new Exporter({ url, headers: { Authorization: "Bearer " + key } });
const results = [];
const realExport = exporter.export.bind(exporter);
exporter.export = (logs, cb) => realExport(logs, (r) => { results.push(r); cb(r); });

const provider = new LoggerProvider({
    resource: resourceFromAttributes({ "service.name": "otel-" + kind, "host.name": "otel-host" }),
    processors: [new SimpleLogRecordProcessor({ exporter })],
});
const logger = provider.getLogger("checkout-logger", "1.2.0");
const traceId = (tag + "0".repeat(32)).slice(0, 32).replace(/[^0-9a-f]/g, "a");
const spanId = "00f067aa0ba902b7";
const ctx = trace.setSpanContext(context.active(),
                                 { traceId, spanId, traceFlags: TraceFlags.SAMPLED });

logger.emit({
    severityNumber: SeverityNumber.WARN, severityText: "WARN",
    body: "payment slow " + tag + " " + kind,
    attributes: { "order.id": 42, retry: false, ratio: 0.5, "user.name": "ann", tags: ["a", "b"] },
    context: ctx,
});
logger.emit({
    severityNumber: SeverityNumber.INFO, severityText: "INFO",
    body: { event: "checkout", items: 3, tag },
    attributes: { kind: "structured" },
    context: ctx,
});
logger.emit({ severityText: "DEBUG", body: "text level " + tag + " " + kind, context: ctx });
await provider.forceFlush();
await provider.shutdown();
const failed = results.filter((r) => r.code !== 0);
console.log(JSON.stringify({ ok: failed.length === 0, exports: results.length, trace_id: traceId,
                             span_id: spanId, errors: failed.map((r) => String(r.error)) }));
