"""Test data (the original LoadSpiker API): CSV and JSON rows handed to virtual users.

A declarative scenario's data is the engine's (``Scenario.load_data_file``: rows picked per
iteration natively, ``${name.column}`` in steps). For Python user code, a DataSource picks the
row per iteration in Python (``vu.data``) with the same strategies.
"""

import csv
import itertools
import json
import os
import random
import threading

__all__ = ["DataSource", "CSVDataSource", "JSONDataSource", "DataExhausted", "load_data_file"]

STRATEGIES = ("sequential", "random", "circular", "unique", "shared", "per-vu")


class DataExhausted(Exception):
    """A unique data source ran out of rows (the user stops)."""


class DataSource:
    def __init__(self, rows, strategy="sequential", name="data"):
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy {strategy!r}: use one of {', '.join(STRATEGIES)}")
        if not rows:
            raise ValueError(f"data source {name!r} has no rows")
        self.rows = rows
        self.strategy = strategy
        self.name = name
        self._lock = threading.Lock()
        self._shared = itertools.count()
        self._per_vu = {}

    def __len__(self):
        return len(self.rows)

    def next(self, vu_id=1):
        """The row for ``vu_id``'s next iteration."""
        n = len(self.rows)
        s = self.strategy
        if s == "random":
            return self.rows[random.randrange(n)]
        if s == "per-vu":
            return self.rows[(vu_id - 1) % n]
        if s in ("circular", "shared"):
            with self._lock:
                return self.rows[next(self._shared) % n]
        if s == "unique":
            with self._lock:
                i = next(self._shared)
            if i >= n:
                from .vu import StopUser
                raise StopUser(f"data source {self.name!r}: all {n} rows are used")
            return self.rows[i]
        # sequential: each VU walks the rows in order from its own start
        with self._lock:
            i = self._per_vu.get(vu_id, (vu_id - 1) % n)
            self._per_vu[vu_id] = (i + 1) % n
        return self.rows[i]

    def get_unique_user_data(self, vu_id=1):
        return self.next(vu_id)


class CSVDataSource(DataSource):
    def __init__(self, path, strategy="sequential"):
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        super().__init__(rows, strategy, os.path.basename(path))
        self.path = os.path.abspath(path)


class JSONDataSource(DataSource):
    def __init__(self, path, strategy="sequential"):
        with open(path, encoding="utf-8") as f:
            rows = json.load(f)
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise ValueError(f"{path}: give a JSON array of objects")
        super().__init__(rows, strategy, os.path.basename(path))
        self.path = os.path.abspath(path)


def load_data_file(path, strategy="sequential"):
    """A CSV (header row) or JSON (array of objects) file as a DataSource."""
    if path.endswith(".json"):
        return JSONDataSource(path, strategy)
    return CSVDataSource(path, strategy)
