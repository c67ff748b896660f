#!/usr/bin/env python3
"""Elasticsearch _bulk door throughput (accepted lines/s), until make bench has its phase.

    python3 tools/measure/es_bulk_load.py PORT DSN_KEY SECONDS PROCESSES

Each process keeps one keep-alive connection and posts gzip bodies of 1000
create+document pairs (ECS fields) to /es/_bulk of a running bilor on 127.0.0.1;
it counts requests answered 200 with "errors":false as accepted.
"""
import gzip, json, http.client, time, sys, os, multiprocessing, random
PORT=int(sys.argv[1]); KEY=sys.argv[2]; SECS=float(sys.argv[3]); PROCS=int(sys.argv[4])
def body(seed):
    r=random.Random(seed); lines=[]
    for i in range(1000):
        lines.append('{"create":{"_index":"logs"}}')
        lines.append(json.dumps({"@timestamp":"2026-12-01T20:00:00.%03dZ"%(i%1000),"message":"GET /api/orders/%d 200 in %dms"%(r.randint(1,99999),r.randint(1,900)),
            "log":{"level":"info"},"host":{"name":"web-%d"%r.randint(1,20)},"service":{"name":"shop"},"http":{"status":200}}))
    return gzip.compress(("\n".join(lines)+"\n").encode(),1)
def run(q):
    bodies=[body(s) for s in range(8)]
    c=http.client.HTTPConnection("127.0.0.1",PORT); n=0; bad=0; t0=time.time()
    while time.time()-t0<SECS:
        c.request("POST","/es/_bulk",bodies[n%8],{"Authorization":"Bearer "+KEY,"Content-Type":"application/x-ndjson","Content-Encoding":"gzip"})
        r=c.getresponse(); d=r.read()
        if r.status!=200 or b'"errors":false' not in d: bad+=1
        n+=1
    q.put((n,bad,time.time()-t0))
q=multiprocessing.Queue(); ps=[multiprocessing.Process(target=run,args=(q,)) for _ in range(PROCS)]
[p.start() for p in ps]; res=[q.get() for _ in ps]; [p.join() for p in ps]
reqs=sum(r[0] for r in res); bad=sum(r[1] for r in res); el=max(r[2] for r in res)
print("requests %d (bad %d) lines %d in %.1fs: %.0f lines/s"%(reqs,bad,reqs*1000,el,reqs*1000/el))
