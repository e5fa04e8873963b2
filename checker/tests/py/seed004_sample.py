from cassandra.cluster import Cluster

# Connect to the Cassandra cluster
cluster = Cluster(["your-cassandra-endpoint"])
session = cluster.connect()

# Create a keyspace
session.execute("""
CREATE KEYSPACE IF NOT EXISTS your_keyspace
WITH replication = {
    'class': 'SimpleStrategy',
    'replication_factor': '3'
};
""")

# Use the keyspace
session.set_keyspace("your_keyspace")

# Create a table
session.execute("""
CREATE TABLE IF NOT EXISTS your_table (
    id UUID PRIMARY KEY,
    data TEXT
);
""")

# Insert data
import uuid
session.execute(
    "INSERT INTO your_table (id, data) VALUES (%s, %s)",
    (uuid.uuid4(), "sample data")
)

# Query data
rows = session.execute("SELECT * FROM your_table")
for row in rows:
    print(row)
