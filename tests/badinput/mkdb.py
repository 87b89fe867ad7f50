#!/usr/bin/env python3
"""Bad results databases for tests/badinput/files.inc: mkdb.py OUT KIND.

KIND: good (a valid database with two runs and metrics), nulls (schema version 1 but
without NOT NULL, holding NULL cells, as a damaged file can), flipped (good, then a bit
flipped in every byte after its first page), garbage (SQLite magic, random pages),
header (good with the file header's page size damaged), version (schema version 99),
one-page (good with its last but one page flipped: the runs read fine, other pages not)."""
import random, re, sqlite3, sys

out, kind = sys.argv[1], sys.argv[2]
schema = open("results/schema.sql").read()
if kind == "nulls":
    schema = re.sub(r"NOT NULL", "", schema)
    schema = schema.replace("WITHOUT ROWID", "")
    schema = re.sub(r"CHECK \(status IN \([^)]*\)\)", "", schema)
db = sqlite3.connect(out)
db.executescript(schema)
db.execute("PRAGMA user_version = %d" % (99 if kind == "version" else 1))
if kind == "nulls":
    db.execute("INSERT INTO runs(hash) VALUES (NULL)")
    db.execute("INSERT INTO runs(hash, experiment, status) VALUES ('abc', NULL, 'done')")
    db.execute("INSERT INTO metrics(hash, name, value) VALUES ('abc', NULL, 1.5)")
    db.execute("INSERT INTO metrics(hash, name, value) VALUES (NULL, 'val_loss', NULL)")
else:
    for i in range(2):
        h = "%016x" % (i + 1)
        db.execute("INSERT INTO runs VALUES (?, 'exp', 'base', '{}', ?, 'rev', 'host', 1, 1, NULL, 'done', "
                   "NULL, '2024-01-01', '2024-01-01')", (h, i))
        for name in ("val_loss", "val_ppl", "train_tok_s"):
            db.execute("INSERT INTO metrics VALUES (?, ?, ?, 'x')", (h, name, 1.0 + i))
db.commit()
db.close()
data = bytearray(open(out, "rb").read())
page = int.from_bytes(data[16:18], "big")
if kind == "flipped":
    for i in range(page, len(data)):
        data[i] ^= 1 << (i % 8)
elif kind == "one-page":
    start = (len(data) // page - 2) * page
    for i in range(start, start + page):
        data[i] ^= 1 << (i % 8)
elif kind == "garbage":
    rng = random.Random(7)
    for i in range(100, len(data)):
        data[i] = rng.randrange(256)
elif kind == "header":
    data[16:18] = (3).to_bytes(2, "big")   # not a power of two
open(out, "wb").write(bytes(data))
