"""Prepared INSERT and SELECT by key through the Python driver, one synchronous call at a time,
3 s each: `python bench_driver.py PORT` against a fresh `mvcheck serve`. A measurement, not a
test: the client, not the server, sets the pace (see README, "CQL native protocol")."""
import sys, time
from cassandra.cluster import Cluster
port = int(sys.argv[1])
c = Cluster(["127.0.0.1"], port=port); s = c.connect()
s.execute("CREATE KEYSPACE b WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
s.execute("CREATE TABLE b.kv (k int PRIMARY KEY, v text)")
ins = s.prepare("INSERT INTO b.kv (k, v) VALUES (?, ?)"); sel = s.prepare("SELECT k, v FROM b.kv WHERE k = ?")
for name, st, vals in [("insert", ins, lambda i: (i % 4096, "v%d" % i)), ("select", sel, lambda i: (i % 4096,))]:
    lat = []; t0 = time.perf_counter(); i = 0
    while time.perf_counter() - t0 < 3:
        t = time.perf_counter(); s.execute(st, vals(i)); lat.append(time.perf_counter() - t); i += 1
    el = time.perf_counter() - t0; lat.sort()
    print("%s: %d req in %.1fs = %.0f req/s, p50 %.0f us, p99 %.0f us" % (name, i, el, i / el, lat[len(lat)//2]*1e6, lat[int(len(lat)*0.99)]*1e6))
c.shutdown()
