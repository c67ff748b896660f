#!/usr/bin/env python3
"""HTTP log doors' throughput (accepted lines/s): Elasticsearch _bulk or OTLP/HTTP JSON.

    python3 tools/measure/es_bulk_load.py PORT DSN_KEY SECONDS PROCESSES [es|otlp]

Each process keeps one keep-alive connection and posts gzip bodies of 1000
lines to a running bilor on 127.0.0.1: es (default) posts create+document pairs
(ECS fields) to /es/_bulk and counts requests answered 200 with "errors":false;
otlp posts ExportLogsServiceRequest JSON (1000 records with resource and record
attributes, severity, trace ids) to /v1/logs and counts those answered 200.
Prints a summary and a RESULT line (scripts/bench.sh reads it).
"""
import gzip, json, http.client, time, sys, os, multiprocessing, random
PORT=int(sys.argv[1]); KEY=sys.argv[2]; SECS=float(sys.argv[3]); PROCS=int(sys.argv[4])
MODE=sys.argv[5] if len(sys.argv)>5 else "es"
def es_body(seed):
    r=random.Random(seed); lines=[]
    for i in range(1000):
        lines.append('{"create":{"_index":"logs"}}')
        lines.append(json.dumps({"@timestamp":"2026-12-01T20:00:00.%03dZ"%(i%1000),"message":"GET /api/orders/%d 200 in %dms"%(r.randint(1,99999),r.randint(1,900)),
            "log":{"level":"info"},"host":{"name":"web-%d"%r.randint(1,20)},"service":{"name":"shop"},"http":{"status":200}}))
    return gzip.compress(("\n".join(lines)+"\n").encode(),1)
def otlp_body(seed):
    r=random.Random(seed); recs=[]
    t0=int(time.time())*10**9
    for i in range(1000):
        recs.append({"timeUnixNano":str(t0+i),"severityNumber":9,"severityText":"INFO",
            "body":{"stringValue":"GET /api/orders/%d 200 in %dms"%(r.randint(1,99999),r.randint(1,900))},
            "attributes":[{"key":"http.status_code","value":{"intValue":"200"}},{"key":"route","value":{"stringValue":"/api/orders"}}],
            "traceId":"%032x"%r.getrandbits(128),"spanId":"%016x"%r.getrandbits(64)})
    req={"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"shop"}},{"key":"host.name","value":{"stringValue":"web-%d"%r.randint(1,20)}}]},
        "scopeLogs":[{"scope":{"name":"bench"},"logRecords":recs}]}]}
    return gzip.compress(json.dumps(req).encode(),1)
def run(q):
    if MODE=="otlp":
        bodies=[otlp_body(s) for s in range(8)]; path="/v1/logs"; ctype="application/json"
    else:
        bodies=[es_body(s) for s in range(8)]; path="/es/_bulk"; ctype="application/x-ndjson"
    c=http.client.HTTPConnection("127.0.0.1",PORT); n=0; bad=0; t0=time.time()
    while time.time()-t0<SECS:
        c.request("POST",path,bodies[n%8],{"Authorization":"Bearer "+KEY,"Content-Type":ctype,"Content-Encoding":"gzip"})
        r=c.getresponse(); d=r.read()
        if r.status!=200 or (MODE=="es" and b'"errors":false' not in d): bad+=1
        n+=1
    q.put((n,bad,time.time()-t0))
q=multiprocessing.Queue(); ps=[multiprocessing.Process(target=run,args=(q,)) for _ in range(PROCS)]
[p.start() for p in ps]; res=[q.get() for _ in ps]; [p.join() for p in ps]
reqs=sum(r[0] for r in res); bad=sum(r[1] for r in res); el=max(r[2] for r in res)
print("%s: requests %d (bad %d) lines %d in %.1fs: %.0f lines/s"%(MODE,reqs,bad,reqs*1000,el,reqs*1000/el))
print("RESULT mode=%s sent=%d accepted=%d elapsed=%.2f accepted_per_s=%.0f"%(MODE,reqs*1000,(reqs-bad)*1000,el,(reqs-bad)*1000/el))
