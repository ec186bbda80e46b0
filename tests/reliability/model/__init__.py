"""Model-based fault test: random schemas, backups, options and faults against a plain oracle.

The model (scenario.py) draws, from a seed and a set of fault families (families.py):
- a schema of one to three tables sharing one column template (id, name varchar(8) NOT NULL,
  qty int CHECK (qty >= 0), code text, ref_<t> foreign keys): primary keys or none, identity
  keys, a secondary unique key (plain, partial, lower() expression), foreign keys between
  tables, to themselves and in a two-table cycle, NOT VALID ones, an AFTER INSERT trigger;
- pre-existing rows (some orphans under a NOT VALID key);
- a backup file per table (.json in `JSON.stringify(rows, null, 2)` layout, .jsonl, either
  gzipped) whose key order changes inside the file, which omits nulls, holds bad values of
  each kind (wrong type, out of range, too long, CHECK, NOT NULL, NUL, not an object, a
  broken JSON line), duplicates of its own keys and of pre-existing ones, clashes on the
  unique key, orphans, updates to a missing parent, and may be cut inside a record;
- options: batch size 1-7 (many batches), --on-conflict skip/update, --jobs 1/2, FK checks
  set-based or row by row;
- a fault: kill -9 of the CLI once `at` records of a table are committed (polled in
  `_katarestore_progress`), once or twice; pg_terminate_backend of the loader's sessions;
  a crash (`pg_ctl stop -m immediate`, then start) of a private server (server.py) running
  with synchronous_commit = off. Whatever stays resumable is resumed until it ends.

The oracle (oracle.py) is computed from the scenario alone, never by running katarestore:
rows = pre-existing rows (changed only by a valid --on-conflict update of their key) + the
valid records; the quarantine = exactly the invalid records, once each, kept whole, found by
file and record index; per table loaded + duplicates + failed == records, each count equal
to the oracle's; every foreign key holds for every row that is not an untouched pre-existing
row; identity sequences are past the loaded ids; a trigger fired once per inserted row or
(session_replication_role = replica) not at all; `_katarestore_progress` is gone at the end.

The checks (checks.py) compare the target, the quarantine and the last run's summary with
the oracle. The smallest case found for each defect is kept in known.py.

A failure is shrunk (shrink.py: drop the fault, tables, rows, records, features while it fails
the same way) and printed with its seed, the scenario in words, the broken promises and a
`replay:` JSON line.

CI runs a bounded version (tests/reliability/test_model.py: 60 seeds from 0, about 1.5 minutes);
the long version runs random seeds for as long as asked:

    .venv/bin/python scripts/model_fault_test.py --minutes 30 [--families all|enabled|a,b]
    .venv/bin/python scripts/model_fault_test.py --replay repro.txt
"""
