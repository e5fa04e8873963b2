"""The Python driver against `mvcheck serve`: prepared statements with a value of every type the
engine stores, a view read back, batches, paging, unset values, and CQL errors by exception
type. Run by checker/tests/serve.rs as `python driver_checks.py HOST PORT`; exits non-zero on
the first failed check, naming it."""

import datetime
import decimal
import sys
import uuid

from cassandra import AlreadyExists, InvalidRequest
from cassandra.cluster import Cluster
from cassandra.protocol import SyntaxException
from cassandra.query import UNSET_VALUE, BatchStatement, SimpleStatement

host, port = sys.argv[1], int(sys.argv[2])
checks = 0


def check(what, cond):
    global checks
    if not cond:
        print("FAILED: " + what, file=sys.stderr)
        sys.exit(1)
    checks += 1


def raises(what, exc_type, fn):
    try:
        fn()
    except exc_type as e:
        check(what, True)
        return e
    except Exception as e:  # the wrong exception is a failure too
        check("%s: expected %s, got %s: %s" % (what, exc_type.__name__, type(e).__name__, e), False)
    check("%s: expected %s, nothing was raised" % (what, exc_type.__name__), False)


cluster = Cluster([host], port=port)
session = cluster.connect()
check("the driver negotiated protocol v4", cluster.protocol_version == 4)

session.execute(
    "CREATE KEYSPACE drv WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}"
)
session.set_keyspace("drv")
session.execute(
    """CREATE TABLE everything (
        k int, c text,
        big bigint, a ascii, flag boolean, dec decimal, dbl double, flt float,
        id uuid, tid timeuuid, at timestamp,
        l list<int>, s set<text>, m map<text, int>, fl frozen<list<int>>,
        PRIMARY KEY (k, c))"""
)
session.execute(
    """CREATE MATERIALIZED VIEW everything_by_big AS
        SELECT * FROM everything
        WHERE big IS NOT NULL AND k IS NOT NULL AND c IS NOT NULL
        PRIMARY KEY (big, k, c)"""
)

# The driver's metadata follows the schema changes the server announced.
ks_meta = cluster.metadata.keyspaces["drv"]
check("the table is in the driver's metadata", "everything" in ks_meta.tables)
check("the view is in the driver's metadata", "everything_by_big" in ks_meta.views)
check(
    "the view's base table and key come from system_schema",
    ks_meta.views["everything_by_big"].base_table_name == "everything"
    and [c.name for c in ks_meta.views["everything_by_big"].partition_key] == ["big"],
)
check(
    "column types come from system_schema",
    ks_meta.tables["everything"].columns["m"].cql_type == "map<text, int>",
)

insert = session.prepare(
    "INSERT INTO everything (k, c, big, a, flag, dec, dbl, flt, id, tid, at, l, s, m, fl) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
check("the INSERT has 15 bind markers", len(insert.column_metadata) == 15)
check("the partition key is bound by marker 0", insert.routing_key_indexes == [0])

the_id = uuid.uuid4()
the_tid = uuid.uuid1()
at = datetime.datetime(2024, 2, 29, 12, 34, 56, 789000)
row_values = (
    7, "it's", 2**40, "plain", True, decimal.Decimal("-12.345"), 0.1, 1.5,
    the_id, the_tid, at, [3, 1, 2], {"b", "a"}, {"x": 1, "y": -2}, [9, 8],
)
session.execute(insert, row_values)

select = session.prepare("SELECT * FROM everything WHERE k = ? AND c = ?")
row = session.execute(select, (7, "it's")).one()
check("the row is read back", row is not None)
check("int", row.k == 7)
check("text with a quote", row.c == "it's")
check("bigint", row.big == 2**40)
check("ascii", row.a == "plain")
check("boolean", row.flag is True)
check("decimal", row.dec == decimal.Decimal("-12.345"))
check("double", row.dbl == 0.1)
check("float", row.flt == 1.5)
check("uuid", row.id == the_id)
check("timeuuid", row.tid == the_tid)
check("timestamp", row.at == at)
check("list", row.l == [3, 1, 2])
check("set", set(row.s) == {"a", "b"})
check("map", dict(row.m) == {"x": 1, "y": -2})
check("frozen list", list(row.fl) == [9, 8])

# The view, by its own key, prepared.
by_big = session.prepare("SELECT k, c, big, m FROM everything_by_big WHERE big = ?")
rows = list(session.execute(by_big, (2**40,)))
check("the view has the base row", [(r.k, r.c) for r in rows] == [(7, "it's")])
check("the view carries the map", dict(rows[0].m) == {"x": 1, "y": -2})

# Nulls and unset values: null deletes a cell, unset leaves it alone.
session.execute(insert, (8, "u", 5, None, None, None, None, None, None, None, None, None, None, None, None))
session.execute(
    insert,
    (8, "u", UNSET_VALUE, "kept", UNSET_VALUE, UNSET_VALUE, UNSET_VALUE, UNSET_VALUE,
     UNSET_VALUE, UNSET_VALUE, UNSET_VALUE, UNSET_VALUE, UNSET_VALUE, UNSET_VALUE, UNSET_VALUE),
)
row = session.execute(select, (8, "u")).one()
check("an unset value leaves the cell as it was", row.big == 5 and row.a == "kept")
check("null is null", row.dbl is None and row.l is None)

# A view row moves when its key changes (SWITCH_ENTRY), through a prepared UPDATE.
update = session.prepare("UPDATE everything SET big = ? WHERE k = ? AND c = ?")
session.execute(update, (6, 8, "u"))
check("the old view row is gone", list(session.execute(by_big, (5,))) == [])
check("the new view row is there", [r.k for r in session.execute(by_big, (6,))] == [8])

# A logged batch of prepared and plain statements.
batch = BatchStatement()
batch.add(insert, (9, "b1", 1, "a", False, decimal.Decimal(1), 1.0, 1.0, the_id, the_tid, at, [], set(), {}, []))
batch.add(SimpleStatement("INSERT INTO everything (k, c, big) VALUES (9, 'b2', 2)"))
session.execute(batch)
got = sorted((r.c, r.big) for r in session.execute("SELECT c, big FROM everything WHERE k = 9"))
check("both batch statements applied", got == [("b1", 1), ("b2", 2)])

# Paging: 25 rows, 10 per page.
for i in range(25):
    session.execute(insert, (100, "p%02d" % i, i, "a", True, decimal.Decimal(0), 0.0, 0.0,
                             the_id, the_tid, at, [i], {"s"}, {"k": i}, [i]))
paged = session.execute(SimpleStatement("SELECT c FROM everything WHERE k = 100", fetch_size=10))
check("the first page holds 10 rows", len(paged.current_rows) == 10 and paged.has_more_pages)
check("paging returns every row in order", [r.c for r in paged] == ["p%02d" % i for i in range(25)])

# Counters take bigint increments.
session.execute("CREATE TABLE hits (k int PRIMARY KEY, n counter)")
incr = session.prepare("UPDATE hits SET n = n + ? WHERE k = ?")
session.execute(incr, (5, 1))
session.execute(incr, (-2, 1))
check("counter", session.execute("SELECT n FROM hits WHERE k = 1").one().n == 3)

# Errors, by exception type, with Cassandra's codes.
raises("a typo is a SyntaxException", SyntaxException, lambda: session.execute("SELEC * FROM everything"))
raises(
    "an unknown table is an InvalidRequest",
    InvalidRequest,
    lambda: session.execute("SELECT * FROM nowhere"),
)
e = raises(
    "creating an existing table is AlreadyExists",
    AlreadyExists,
    lambda: session.execute("CREATE TABLE everything (k int PRIMARY KEY)"),
)
check("AlreadyExists names the keyspace and table", (e.keyspace, e.table) == ("drv", "everything"))
raises(
    "a view without the base key is an InvalidRequest",
    InvalidRequest,
    lambda: session.execute(
        "CREATE MATERIALIZED VIEW bad AS SELECT * FROM everything "
        "WHERE big IS NOT NULL AND k IS NOT NULL PRIMARY KEY (big, k)"
    ),
)
raises(
    "writing into a view is an InvalidRequest",
    InvalidRequest,
    lambda: session.execute("INSERT INTO everything_by_big (big, k, c) VALUES (1, 1, 'x')"),
)
raises(
    "preparing against a missing column is an InvalidRequest",
    InvalidRequest,
    lambda: session.prepare("SELECT * FROM everything WHERE nope = ?"),
)
raises(
    "a string literal for an int column is an InvalidRequest",
    InvalidRequest,
    lambda: session.execute(SimpleStatement("SELECT * FROM everything WHERE k = %s"), ("not an int",)),
)

cluster.shutdown()
print("driver checks: %d passed, 0 failed" % checks)
