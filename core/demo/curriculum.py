"""Demo curriculum for ProDev Hub: the "ProDev Backend Engineering" program.

This module is pure data (no Django imports) so that it can be loaded by the demo
loader, by tests and by the curriculum exporter alike. ``PROGRAM`` describes one
program made of ordered modules, each with ordered projects, each with ordered tasks.

Descriptions and task bodies are Markdown; every task names its deliverable
(repository, directory and files) the way learners expect to see it.
"""

from __future__ import annotations

_PYTHON: dict = {
    "slug": "python",
    "title": "Python",
    "summary": (
        "Idiomatic, memory-aware and well-tested Python: the language every later module builds on."
    ),
    "objectives": [
        "Write memory-efficient code with iterators, generators and lazy evaluation",
        "Package reusable behaviour in decorators and context managers",
        "Use type hints, dataclasses and the standard library idiomatically",
        "Test code with pytest, fixtures, parametrization and mocks",
        "Keep code readable and consistent with PEP 8 and an automated linter",
    ],
    "projects": [
        {
            "slug": "python-generators",
            "title": "Python Generators",
            "summary": (
                "Stream, batch and paginate database rows with generators so that memory "
                "use stays flat however large the table grows."
            ),
            "description": """Backend services spend much of their life moving rows from a database
to somewhere else: a report, an export, an API response. Loading a whole table into a list
works on your laptop with 200 rows and falls over in production with 20 million.
Generators let you describe *how* to produce values and hand them out one at a time, so
the consumer decides how many it needs and memory use stays constant.

In this project you seed a SQLite database of users from a CSV file, then write a
series of small generators on top of it: one that streams rows, one that yields them in
batches, one that paginates lazily and a couple that aggregate without ever holding the
data set in memory. Each file is short; the point is to be precise about *when* work
happens.

| You will practise | Why it matters |
| --- | --- |
| `yield` and generator functions | produce values on demand |
| generator pipelines | compose small, testable steps |
| `itertools` | slice, chain and group lazily |
| `tracemalloc` | prove that memory stays flat |

All scripts use the standard library only (`sqlite3`, `csv`, `itertools`), so the
project runs anywhere Python 3.12 runs.
""",
            "concepts": ["Generators", "yield", "Lazy evaluation", "Iterators", "itertools"],
            "objectives": [
                "By the end of this project you can explain the difference between an "
                "iterable, an iterator and a generator",
                "You can stream rows from a database cursor without loading the full result",
                "You can process data in fixed-size batches and paginate lazily",
                "You can compose generator pipelines and measure their memory use",
            ],
            "requirements": [
                "All files run on Ubuntu 22.04 with Python 3.12",
                "Code follows PEP 8 (checked with ruff)",
                "Every module and function has a docstring",
                "Only the standard library is used",
                "No file loads a whole table into a list",
            ],
            "estimated_hours": 10,
            "weight": 1,
            "prerequisites": [],
            "resources": [
                (
                    "Python docs: Functional programming HOWTO, generators",
                    "https://docs.python.org/3/howto/functional.html#generators",
                ),
                (
                    "Python docs: Yield expressions",
                    "https://docs.python.org/3/reference/expressions.html#yield-expressions",
                ),
                ("Python docs: itertools", "https://docs.python.org/3/library/itertools.html"),
                ("Python docs: sqlite3", "https://docs.python.org/3/library/sqlite3.html"),
                ("Python docs: tracemalloc", "https://docs.python.org/3/library/tracemalloc.html"),
            ],
            "tasks": [
                {
                    "title": "Seed the users database",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Write `seed.py`, a module that creates a SQLite database and loads
`user_data.csv` (columns `name,email,age`) into it. It must define:

- `connect_db(path: str) -> sqlite3.Connection`: opens the database and sets
  `row_factory` to `sqlite3.Row`.
- `create_table(conn)`: creates `user_data` if it does not exist, with
  `user_id TEXT PRIMARY KEY` (a UUID4), `name TEXT NOT NULL`, `email TEXT NOT NULL UNIQUE`
  and `age INTEGER NOT NULL`.
- `insert_data(conn, csv_path: str) -> int`: inserts every row and returns how many
  rows were *new*. Running it twice must not duplicate users (hint: `INSERT OR IGNORE`).

```python
>>> import seed
>>> conn = seed.connect_db("users.db")
>>> seed.create_table(conn)
>>> seed.insert_data(conn, "user_data.csv")
1000
>>> seed.insert_data(conn, "user_data.csv")
0
```

Read the CSV with `csv.DictReader` and insert with `executemany`, passing a generator
expression rather than a list.
""",
                    "repo": "prodev-backend-python",
                    "directory": "python-generators-0x00",
                    "files": ["seed.py"],
                },
                {
                    "title": "Stream users one row at a time",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Write a generator function `stream_users(conn)` that yields each row
of `user_data` as a plain `dict`, ordered by `name`.

- Use **one** loop and the cursor itself as the iterator: never call `fetchall()`.
- The function must not run any query until the first value is requested.

```python
>>> from itertools import islice
>>> from seed import connect_db
>>> stream_users = __import__("0-stream_users").stream_users
>>> for user in islice(stream_users(connect_db("users.db")), 2):
...     print(user)
{'user_id': '0b2f...', 'name': 'Aba Mensah', 'email': 'aba@example.com', 'age': 34}
{'user_id': '51c9...', 'name': 'Abel Tesfaye', 'email': 'abel@example.com', 'age': 27}
```

Explain in your docstring why `islice` stops the query early.
""",
                    "repo": "prodev-backend-python",
                    "directory": "python-generators-0x00",
                    "files": ["0-stream_users.py"],
                },
                {
                    "title": "Process users in batches",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Write two functions:

1. `stream_users_in_batches(conn, batch_size: int)`: a generator that yields lists of at
   most `batch_size` user dicts, using `cursor.fetchmany(batch_size)`.
2. `batch_processing(conn, batch_size: int)`: a generator that consumes the batches and
   yields only users older than 25.

Use no more than three loops in total across both functions.

```python
>>> mod = __import__("1-batch_processing")
>>> batches = mod.stream_users_in_batches(conn, 50)
>>> len(next(batches))
50
>>> sum(1 for _ in mod.batch_processing(conn, 50))
712
```

A batch size of `0` or less must raise `ValueError("batch_size must be positive")`.
""",
                    "repo": "prodev-backend-python",
                    "directory": "python-generators-0x00",
                    "files": ["1-batch_processing.py"],
                },
                {
                    "title": "Paginate lazily",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """A page-based API often sits on top of `LIMIT ... OFFSET ...` queries.
Write:

- `paginate_users(conn, page_size: int, offset: int) -> list[dict]`: returns one page.
- `lazy_paginate(conn, page_size: int)`: a generator that yields page after page,
  fetching the next page **only when the consumer asks for it**, and stops on the first
  empty page. Use a single loop.

```python
>>> mod = __import__("2-lazy_paginate")
>>> pages = mod.lazy_paginate(conn, 100)
>>> first = next(pages)
>>> len(first), first[0]["name"]
(100, 'Aba Mensah')
```

Add a comment explaining why `OFFSET` pagination gets slower on deep pages and what
keyset pagination (`WHERE name > ?`) would change.
""",
                    "repo": "prodev-backend-python",
                    "directory": "python-generators-0x00",
                    "files": ["2-lazy_paginate.py"],
                },
                {
                    "title": "Aggregate without loading the table",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Write `stream_user_ages(conn)`, a generator that yields ages one by
one, and `average_age(conn) -> float`, which computes the mean age by consuming that
generator.

- You may not use SQL `AVG`, `COUNT` or `SUM`.
- You may not build a list of ages.
- Use at most two loops.

```bash
$ python3 3-stream_ages.py users.db
Average age of users: 41.37
```

Return `0.0` for an empty table instead of raising `ZeroDivisionError`.
""",
                    "repo": "prodev-backend-python",
                    "directory": "python-generators-0x00",
                    "files": ["3-stream_ages.py"],
                },
                {
                    "title": "Build a generator pipeline",
                    "kind": "advanced",
                    "points": 15,
                    "body": """Compose small generators into a pipeline that reads a large CSV
export, cleans it and groups it, without ever holding more than one group in memory:

```python
def read_rows(path): ...            # yields dicts from csv.DictReader
def normalise(rows): ...            # strips whitespace, lowercases emails
def valid(rows): ...                # drops rows with a non-integer or negative age
def by_age_band(rows, width=10): ...  # yields (band_start, [rows]) using itertools.groupby
```

`by_age_band` expects its input sorted by age; document that contract and raise
`ValueError` if it is violated.

Then prove that memory is flat: `4-pipeline.py --measure big.csv` prints the peak
memory reported by `tracemalloc` for files of 10k and 1M rows. The two numbers must be
within a factor of two of each other.

```bash
$ python3 4-pipeline.py --measure big.csv
rows=1000000 bands=9 peak_kib=412
```
""",
                    "repo": "prodev-backend-python",
                    "directory": "python-generators-0x00",
                    "files": ["4-pipeline.py"],
                },
                {
                    "title": "Two-way generators: a running statistics coroutine",
                    "kind": "advanced",
                    "points": 15,
                    "body": """Generators can also *receive* values with `send()`. Write
`running_stats()`, a generator that accepts numbers and, after each one, yields a
`Stats(count, mean, minimum, maximum)` named tuple describing everything seen so far.

```python
>>> stats = running_stats()
>>> next(stats)          # prime the generator
Stats(count=0, mean=0.0, minimum=None, maximum=None)
>>> stats.send(10)
Stats(count=1, mean=10.0, minimum=10, maximum=10)
>>> stats.send(20)
Stats(count=2, mean=15.0, minimum=10, maximum=20)
```

Use constant memory (no list of past values). Sending a non-number must not kill the
generator: log a warning with the `logging` module, yield the unchanged statistics and
keep accepting values.
""",
                    "repo": "prodev-backend-python",
                    "directory": "python-generators-0x00",
                    "files": ["5-running_stats.py"],
                },
            ],
        },
        {
            "slug": "python-decorators-context-managers",
            "title": "Decorators and Context Managers",
            "summary": (
                "Wrap database access in reusable decorators and context managers: logging, "
                "connections, transactions, retries and caching."
            ),
            "description": """Every codebase grows the same boilerplate around database calls: open
a connection, log the query, retry when the database is busy, commit or roll back, close
the connection. Copying that code into each function is how bugs are born. Python gives
you two tools to write it once: **decorators**, which wrap a function in extra behaviour,
and **context managers**, which guarantee that setup and teardown happen around a block of
code, even when it raises.

In this project you build a small toolkit around `sqlite3` and use it on the users database
from *Python Generators*. Each task adds one decorator or context manager; by the end you
can stack them and reason about the order in which they run:

```python
@with_db_connection
@transactional
@retry_on_failure(retries=3, delay=0.5)
def deactivate_user(conn, user_id): ...
```

Pay attention to the details that separate a toy decorator from a production one:
preserving the wrapped function's name and docstring with `functools.wraps`, accepting
arbitrary arguments, and never swallowing exceptions you do not handle.
""",
            "concepts": [
                "Decorators",
                "Closures",
                "functools.wraps",
                "Context managers",
                "Transactions",
            ],
            "objectives": [
                "By the end of this project you can write decorators with and without arguments",
                "You can explain closures and why functools.wraps matters",
                "You can implement context managers with classes and with contextlib",
                "You can manage connections and transactions safely around failures",
                "You can reason about the order in which stacked decorators run",
            ],
            "requirements": [
                "All files run on Ubuntu 22.04 with Python 3.12",
                "Code follows PEP 8 (checked with ruff)",
                "Every public function is type-annotated and documented",
                "Decorators preserve the wrapped function's metadata",
                "Only the standard library is used",
            ],
            "estimated_hours": 12,
            "weight": 2,
            "prerequisites": ["python-generators"],
            "resources": [
                (
                    "Python glossary: decorator",
                    "https://docs.python.org/3/glossary.html#term-decorator",
                ),
                ("Python docs: functools", "https://docs.python.org/3/library/functools.html"),
                ("Python docs: contextlib", "https://docs.python.org/3/library/contextlib.html"),
                (
                    "Python docs: With statement context managers",
                    "https://docs.python.org/3/reference/datamodel.html#context-managers",
                ),
                ("Python docs: logging HOWTO", "https://docs.python.org/3/howto/logging.html"),
            ],
            "tasks": [
                {
                    "title": "Log every query",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Write a decorator `log_queries` for functions that take a `query`
argument (positional or keyword). Before calling the function it logs the query at `INFO`
level with a timestamp, using a module-level `logging.getLogger(__name__)`.

```python
@log_queries
def fetch_all_users(query: str) -> list[tuple]:
    with sqlite3.connect("users.db") as conn:
        return conn.execute(query).fetchall()

users = fetch_all_users(query="SELECT * FROM user_data")
```

```text
2025-03-02 10:14:07,512 INFO Executing query: SELECT * FROM user_data
```

`fetch_all_users.__name__` must still be `"fetch_all_users"`. Use `inspect.signature` to
find the `query` argument wherever it is passed.
""",
                    "repo": "prodev-backend-python",
                    "directory": "python-decorators-0x01",
                    "files": ["0-log_queries.py"],
                },
                {
                    "title": "Open and close connections automatically",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Write `with_db_connection`, a decorator that opens a connection to
`users.db`, passes it as the first argument of the wrapped function and closes it
afterwards, **whether the function returns or raises**.

```python
@with_db_connection
def get_user_by_id(conn, user_id: str) -> tuple | None:
    return conn.execute(
        "SELECT * FROM user_data WHERE user_id = ?", (user_id,)
    ).fetchone()

print(get_user_by_id(user_id="0b2f6c1e-..."))
```

Make the database path configurable: `DB_PATH` at module level, overridable through the
`PRODEV_DB` environment variable.
""",
                    "repo": "prodev-backend-python",
                    "directory": "python-decorators-0x01",
                    "files": ["1-with_db_connection.py"],
                },
                {
                    "title": "Commit or roll back",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Write `transactional`, a decorator for functions whose first argument
is a connection. It commits when the function returns and rolls back when it raises,
then re-raises the original exception unchanged.

```python
@with_db_connection
@transactional
def update_user_email(conn, user_id: str, new_email: str) -> None:
    conn.execute(
        "UPDATE user_data SET email = ? WHERE user_id = ?", (new_email, user_id)
    )
```

Write a short demo at the bottom of the file (under `if __name__ == "__main__":`) that
shows a failing update leaves the row untouched.
""",
                    "repo": "prodev-backend-python",
                    "directory": "python-decorators-0x01",
                    "files": ["2-transactional.py"],
                },
                {
                    "title": "Retry transient failures",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Write a decorator **factory** `retry_on_failure(retries=3, delay=1.0,
backoff=2.0, exceptions=(sqlite3.OperationalError,))`.

- Only the listed exceptions trigger a retry; anything else propagates at once.
- The wait doubles (times `backoff`) after each failure.
- After the last attempt the original exception is re-raised.
- Each retry is logged at `WARNING` level with the attempt number.

```python
@with_db_connection
@retry_on_failure(retries=3, delay=0.1)
def fetch_users_with_retry(conn):
    return conn.execute("SELECT * FROM user_data").fetchall()
```

Inject `sleep` as a keyword-only parameter defaulting to `time.sleep` so that tests can
replace it and run instantly.
""",
                    "repo": "prodev-backend-python",
                    "directory": "python-decorators-0x01",
                    "files": ["3-retry_on_failure.py"],
                },
                {
                    "title": "A class-based connection context manager",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Write a class `DatabaseConnection` that implements `__enter__` and
`__exit__`. Entering opens the connection and returns it; leaving commits on success,
rolls back on error and always closes.

```python
with DatabaseConnection("users.db") as conn:
    rows = conn.execute("SELECT name FROM user_data LIMIT 3").fetchall()
print(rows)
```

`__exit__` must return `False` (or `None`) so that exceptions are never silenced. Add a
docstring explaining what the three arguments of `__exit__` contain.
""",
                    "repo": "prodev-backend-python",
                    "directory": "python-decorators-0x01",
                    "files": ["4-database_connection.py"],
                },
                {
                    "title": "A reusable query context manager",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Write `ExecuteQuery(query, params=())`, a context manager that runs
the query on entry and returns its rows, and `execute_query`, the same thing written as a
generator function decorated with `contextlib.contextmanager`.

```python
with ExecuteQuery("SELECT * FROM user_data WHERE age > ?", (25,)) as rows:
    print(len(rows))

with execute_query("SELECT * FROM user_data WHERE age > ?", (25,)) as rows:
    print(len(rows))
```

In a comment, compare the two styles: when would you choose a class over
`@contextmanager`?
""",
                    "repo": "prodev-backend-python",
                    "directory": "python-decorators-0x01",
                    "files": ["5-execute_query.py"],
                },
                {
                    "title": "Cache query results with a time to live",
                    "kind": "advanced",
                    "points": 15,
                    "body": """Write `cache_query(ttl: float = 60.0)`, a decorator factory that
caches results keyed on the query text **and** its parameters, and expires entries after
`ttl` seconds.

- Use `time.monotonic()` for expiry, never wall-clock time.
- Expose `wrapper.cache_info()` returning `{"hits": int, "misses": int, "size": int}` and
  `wrapper.cache_clear()`, mirroring `functools.lru_cache`.
- Cap the cache at `maxsize` entries (default 128), evicting the oldest.

```python
@with_db_connection
@cache_query(ttl=30)
def fetch_users(conn, query, params=()):
    return conn.execute(query, params).fetchall()

fetch_users(query="SELECT * FROM user_data WHERE age > ?", params=(25,))
fetch_users(query="SELECT * FROM user_data WHERE age > ?", params=(25,))
print(fetch_users.cache_info())  # {'hits': 1, 'misses': 1, 'size': 1}
```

Note that the connection must not be part of the cache key: explain why in a comment.
""",
                    "repo": "prodev-backend-python",
                    "directory": "python-decorators-0x01",
                    "files": ["6-cache_query.py"],
                },
                {
                    "title": "Compose resources with ExitStack",
                    "kind": "advanced",
                    "points": 15,
                    "body": """Write `timed(label)`, a context manager that logs how long its block
took, and `copy_users(source_paths, target_path)`, which copies every user from several
databases into one. Open the variable number of source connections with
`contextlib.ExitStack` so that each one is closed even if opening a later one fails.

```python
with timed("copy"):
    copied = copy_users(["eu.db", "us.db"], "all.db")
print(copied)
```

```text
INFO copy took 0.184s
2000
```

Write the merge so that a user present in two sources (same email) is inserted once.
""",
                    "repo": "prodev-backend-python",
                    "directory": "python-decorators-0x01",
                    "files": ["7-exit_stack.py"],
                },
            ],
        },
        {
            "slug": "python-testing",
            "title": "Unit and Integration Tests",
            "summary": (
                "Test a small utility library and an HTTP client with pytest: parametrized "
                "cases, fixtures, mocks and a coverage gate."
            ),
            "description": """Tests are how a team changes code without fear. A **unit test** checks
one function in isolation, replacing everything slow or unpredictable (the network, the
clock, the database) with test doubles. An **integration test** checks that several real
pieces work together and only fakes the outermost boundary.

You are given a small package, `toolkit`, with two modules:

- `toolkit/utils.py`: `parse_duration("1h30m") -> 5400`, `deep_get(mapping, "a.b.c")`,
  `fetch_json(url)` (a thin wrapper around `requests.get`) and `cached_property`-like
  `memoize` for methods.
- `toolkit/releases.py`: `ReleasesClient(owner, repo)`, which lists a GitHub repository's
  releases through the public REST API and can filter them by licence and pre-release flag.

Your job is to write the tests, not the code. Good tests are short, name the behaviour
they check, and fail for exactly one reason. By the end the suite runs in under a second,
never touches the network, and keeps coverage above 90%.
""",
            "concepts": ["pytest", "Parametrization", "Fixtures", "Mocking", "Coverage"],
            "objectives": [
                "By the end of this project you can tell unit tests from integration tests",
                "You can parametrize tests and assert on exceptions and their messages",
                "You can replace network calls with unittest.mock patch, Mock and PropertyMock",
                "You can share setup with pytest fixtures and conftest.py",
                "You can measure coverage and enforce a minimum in configuration",
            ],
            "requirements": [
                "All files run on Ubuntu 22.04 with Python 3.12 and pytest 8",
                "Code follows PEP 8 (checked with ruff)",
                "No test performs a real network request",
                "Every test function has a name that states the behaviour it checks",
                "The whole suite runs in under one second",
            ],
            "estimated_hours": 12,
            "weight": 2,
            "prerequisites": ["python-decorators-context-managers"],
            "resources": [
                ("pytest documentation", "https://docs.pytest.org/en/stable/"),
                (
                    "pytest: How to parametrize fixtures and test functions",
                    "https://docs.pytest.org/en/stable/how-to/parametrize.html",
                ),
                (
                    "Python docs: unittest.mock",
                    "https://docs.python.org/3/library/unittest.mock.html",
                ),
                ("Coverage.py documentation", "https://coverage.readthedocs.io/en/latest/"),
            ],
            "tasks": [
                {
                    "title": "Parametrize the happy path",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Write `test_utils.py` with a test class `TestParseDuration` whose
single test method is parametrized over at least six inputs.

```python
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("45s", 45),
        ("2m", 120),
        ("1h30m", 5400),
        ("1d", 86400),
    ],
)
def test_parses_compound_durations(self, text, expected):
    assert parse_duration(text) == expected
```

Add at least two cases of your own that exercise whitespace and uppercase units.
""",
                    "repo": "prodev-backend-python",
                    "directory": "python-testing-0x03",
                    "files": ["test_utils.py"],
                },
                {
                    "title": "Assert on failures",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """In the same file, add `TestDeepGet` that checks both success and
failure of `deep_get(mapping, path)`:

- `deep_get({"a": {"b": 2}}, "a.b") == 2`
- a missing key raises `KeyError` whose message is the missing segment
- walking into a non-mapping raises `TypeError`

```python
def test_missing_segment_names_the_key(self):
    with pytest.raises(KeyError, match="b"):
        deep_get({"a": {}}, "a.b")
```

Parametrize the failure cases too; each parameter set gets an `id=` so the test report
reads like documentation.
""",
                    "repo": "prodev-backend-python",
                    "directory": "python-testing-0x03",
                    "files": ["test_utils.py"],
                },
                {
                    "title": "Mock the network",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Test `fetch_json(url)` without touching the network: patch
`toolkit.utils.requests.get` so that it returns a `Mock` whose `.json()` returns a
payload, and assert that:

1. the function returns the payload unchanged;
2. `requests.get` was called exactly once with the URL and `timeout=10`.

```python
def test_fetch_json_returns_payload(self):
    payload = {"ok": True}
    with patch("toolkit.utils.requests.get") as get:
        get.return_value.json.return_value = payload
        assert fetch_json("https://example.test/api") == payload
    get.assert_called_once_with("https://example.test/api", timeout=10)
```

Explain in a comment why you patch `toolkit.utils.requests.get` and not
`requests.get`.
""",
                    "repo": "prodev-backend-python",
                    "directory": "python-testing-0x03",
                    "files": ["test_utils.py"],
                },
                {
                    "title": "Prove memoization",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """`memoize` turns a method into a cached, property-like attribute.
Write a test that defines a tiny class inside the test, patches the underlying method with
`patch.object`, reads the attribute twice and asserts that the method ran once.

```python
class Thing:
    def compute(self):
        return 42

    @memoize
    def answer(self):
        return self.compute()
```

```bash
$ pytest -q test_utils.py -k memoize
.                                                                [100%]
1 passed in 0.02s
```
""",
                    "repo": "prodev-backend-python",
                    "directory": "python-testing-0x03",
                    "files": ["test_utils.py"],
                },
                {
                    "title": "Unit-test the releases client",
                    "kind": "mandatory",
                    "points": 15,
                    "body": """Create `test_releases.py`. For `ReleasesClient`:

- `test_repo_payload`: patch `toolkit.releases.fetch_json` and assert it was called once
  with `https://api.github.com/repos/{owner}/{repo}`.
- `test_releases_url`: patch the `repo_payload` **property** with `PropertyMock` and
  check that `releases_url` is derived from it.
- `test_public_releases`: patch both and check the list of tag names returned, with and
  without `include_prereleases=True`.

```python
with patch.object(
    ReleasesClient, "repo_payload", new_callable=PropertyMock
) as payload:
    payload.return_value = {"releases_url": "https://api.github.com/x/releases{/id}"}
    assert ReleasesClient("acme", "api").releases_url == "https://api.github.com/x/releases"
```
""",
                    "repo": "prodev-backend-python",
                    "directory": "python-testing-0x03",
                    "files": ["test_releases.py"],
                },
                {
                    "title": "Integration test with recorded payloads",
                    "kind": "advanced",
                    "points": 15,
                    "body": """Write an integration test that runs the real `ReleasesClient` end to
end and only replaces `requests.get`. Store recorded API responses in `fixtures.py` and
build a `conftest.py` fixture that routes URLs to payloads:

```python
@pytest.fixture
def github_api(monkeypatch):
    routes = {REPO_URL: REPO_PAYLOAD, RELEASES_URL: RELEASES_PAYLOAD}

    def fake_get(url, timeout):
        response = Mock()
        response.json.return_value = routes[url]
        return response

    monkeypatch.setattr("toolkit.utils.requests.get", fake_get)
```

An unexpected URL must fail the test with a clear `KeyError`, not return `None`.
""",
                    "repo": "prodev-backend-python",
                    "directory": "python-testing-0x03",
                    "files": ["conftest.py", "fixtures.py", "test_integration.py"],
                },
                {
                    "title": "Enforce a coverage gate",
                    "kind": "advanced",
                    "points": 10,
                    "body": """Configure pytest-cov in `pyproject.toml` so that `pytest` alone
measures branch coverage of `toolkit` and fails under 90%.

```toml
[tool.pytest.ini_options]
addopts = "--cov=toolkit --cov-branch --cov-report=term-missing --cov-fail-under=90"
```

```bash
$ pytest
...
TOTAL                        86      3     24      2    95%
Required test coverage of 90% reached. Total coverage: 95.45%
```

Add the missing tests until the gate passes, and list in `COVERAGE.md` any line you
deliberately excluded with `# pragma: no cover`, with a reason.
""",
                    "repo": "prodev-backend-python",
                    "directory": "python-testing-0x03",
                    "files": ["pyproject.toml", "COVERAGE.md"],
                },
            ],
        },
    ],
}

_DJANGO: dict = {
    "slug": "django",
    "title": "Django",
    "summary": (
        "Build data-driven web applications with Django's models, views, templates, admin "
        "and authentication."
    ),
    "objectives": [
        "Explain the Model-View-Template architecture and how a request flows through it",
        "Model data with the ORM: foreign keys, many-to-many and one-to-one relationships",
        "Configure the admin and authentication, including a custom user model",
        "Write middleware that acts on every request and response",
        "Decouple side effects with signals and automate chores with management commands",
        "Validate user input with forms and model validation",
    ],
    "projects": [
        {
            "slug": "django-mvt-foundations",
            "title": "Django Foundations: Models, Views and Templates",
            "summary": (
                "Build a workshop-booking site from an empty folder: models and relationships, "
                "views and templates, forms with validation, the admin and a seed command."
            ),
            "description": """Django's promise is that you write the parts that are specific to your
product and the framework does the rest. This project makes that concrete. You build
**Workshops**, a site where community hosts publish workshops, schedule sessions and
learners book seats.

A request to `/workshops/42/` travels through the URL resolver to a **view**, which asks
**models** for data through the ORM and renders a **template**. You will write each of
those layers by hand first, then let Django's generic views, `ModelForm` and the admin
take over the repetitive parts.

The domain is small but has every relationship you will meet in real projects:

| model | relationship |
| --- | --- |
| `Workshop` | many-to-many with `Tag`, foreign key to its host (a user) |
| `Session` | foreign key to `Workshop`, has a capacity |
| `Booking` | foreign key to `Session` and to the learner, unique per pair |
| `Review` | one per booking (one-to-one) |

By the end you have a working site, an admin your operations team could actually use,
and a command that fills the database with realistic demo data.
""",
            "concepts": [
                "MVT architecture",
                "Models and migrations",
                "ORM relationships",
                "Generic views",
                "ModelForm",
                "Django admin",
                "Management commands",
            ],
            "objectives": [
                "By the end of this project you can trace a request through URLconf, view, "
                "model and template",
                "You can model foreign-key, many-to-many and one-to-one relationships",
                "You can query related data and aggregate it with the ORM",
                "You can validate input with forms and model constraints",
                "You can customise the admin and write a management command",
            ],
            "requirements": [
                "Ubuntu 22.04, Python 3.12, Django 5.2 LTS or later",
                "Code follows PEP 8 (checked with ruff)",
                "Every model has __str__, Meta.ordering and a docstring",
                "python manage.py check and makemigrations --check pass with no changes",
                "Every view is covered by at least one test",
            ],
            "estimated_hours": 20,
            "weight": 3,
            "prerequisites": ["python-testing"],
            "resources": [
                (
                    "Django tutorial: Writing your first Django app",
                    "https://docs.djangoproject.com/en/stable/intro/tutorial01/",
                ),
                (
                    "Django docs: Models",
                    "https://docs.djangoproject.com/en/stable/topics/db/models/",
                ),
                (
                    "Django docs: Making queries",
                    "https://docs.djangoproject.com/en/stable/topics/db/queries/",
                ),
                (
                    "Django docs: Working with forms",
                    "https://docs.djangoproject.com/en/stable/topics/forms/",
                ),
                (
                    "Django docs: The admin site",
                    "https://docs.djangoproject.com/en/stable/ref/contrib/admin/",
                ),
            ],
            "tasks": [
                {
                    "title": "Start the project",
                    "kind": "mandatory",
                    "points": 5,
                    "body": """Create a Django project `config` and an app `workshops` in a virtual
environment. Pin your dependencies in `requirements.txt`, read `SECRET_KEY` and `DEBUG`
from the environment, and set `TIME_ZONE = "UTC"` with `USE_TZ = True`.

```bash
$ python -m venv .venv && . .venv/bin/activate
$ pip install "Django>=5.2,<6"
$ django-admin startproject config .
$ python manage.py startapp workshops
$ python manage.py check
System check identified no issues (0 silenced).
```

Add a `README.md` that explains how to run the project in three commands.
""",
                    "repo": "prodev-backend-django",
                    "directory": "django-mvt-0x00",
                    "files": ["config/settings.py", "requirements.txt", "README.md"],
                },
                {
                    "title": "Model the domain",
                    "kind": "mandatory",
                    "points": 15,
                    "body": """Write the models `Tag`, `Workshop`, `Session`, `Booking` and `Review`
in `workshops/models.py` and generate the initial migration.

```python
class Booking(models.Model):
    session = models.ForeignKey(
        Session, on_delete=models.CASCADE, related_name="bookings"
    )
    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bookings"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "learner"], name="one_booking_per_session"
            )
        ]
```

Choose `on_delete` deliberately for every foreign key and justify each choice in a
comment. `Session.capacity` must be a positive integer enforced by a `CheckConstraint`.
""",
                    "repo": "prodev-backend-django",
                    "directory": "django-mvt-0x00",
                    "files": ["workshops/models.py", "workshops/migrations/0001_initial.py"],
                },
                {
                    "title": "Query related data",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """In `workshops/queries.py` write functions that return querysets (not
lists), each in a single SQL query:

- `upcoming_sessions()`: sessions starting in the future, with their workshop.
- `sessions_with_seats_left()`: annotate `seats_left = capacity - Count("bookings")` and
  keep only those with seats left.
- `popular_tags(limit=5)`: tags ordered by number of workshops.

```python
>>> from workshops.queries import sessions_with_seats_left
>>> [(s.workshop.title, s.seats_left) for s in sessions_with_seats_left()[:2]]
[('Intro to SQL', 12), ('Testing Django apps', 3)]
```

Use `select_related` where a template will follow a foreign key, and test each
function with `assertNumQueries(1)`.
""",
                    "repo": "prodev-backend-django",
                    "directory": "django-mvt-0x00",
                    "files": ["workshops/queries.py", "workshops/tests/test_queries.py"],
                },
                {
                    "title": "Views, URLs and templates",
                    "kind": "mandatory",
                    "points": 15,
                    "body": """Write a workshop list page and a workshop detail page.

- URLs are named and namespaced: `workshops:list` and `workshops:detail`.
- The detail view uses `get_object_or_404` and lists upcoming sessions with seats left.
- Templates extend a `base.html` with `{% block content %}` and never hard-code URLs:
  use `{% url %}`.

```python
app_name = "workshops"
urlpatterns = [
    path("", views.workshop_list, name="list"),
    path("<slug:slug>/", views.workshop_detail, name="detail"),
]
```

```bash
$ curl -s -o /dev/null -w "%{http_code}" http://localhost:8000/workshops/no-such-slug/
404
```
""",
                    "repo": "prodev-backend-django",
                    "directory": "django-mvt-0x00",
                    "files": [
                        "workshops/views.py",
                        "workshops/urls.py",
                        "templates/base.html",
                        "templates/workshops/workshop_detail.html",
                    ],
                },
                {
                    "title": "Book a seat with a validated form",
                    "kind": "mandatory",
                    "points": 15,
                    "body": """Write `BookingForm`, a `ModelForm` for `Booking`, and a view that
handles it with the POST/redirect/GET pattern. Validation lives in the form's `clean()`:

- the session must be in the future;
- the session must have a free seat;
- the learner must not already be booked on it.

```python
def clean(self):
    cleaned = super().clean()
    session = cleaned.get("session")
    if session and session.starts_at <= timezone.now():
        raise ValidationError("This session has already started.", code="started")
    return cleaned
```

Errors are shown next to the form without losing what the learner typed. Only logged-in
users can book; anonymous users are redirected to the login page.
""",
                    "repo": "prodev-backend-django",
                    "directory": "django-mvt-0x00",
                    "files": ["workshops/forms.py", "workshops/views.py"],
                },
                {
                    "title": "An admin your team can use",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Register every model in `workshops/admin.py` with a useful
`ModelAdmin`:

- `list_display`, `list_filter` and `search_fields` on workshops and bookings;
- sessions editable inline on the workshop page (`TabularInline`);
- `prepopulated_fields` for the workshop slug;
- an admin action *Cancel selected bookings* that reports how many were cancelled.

```python
@admin.action(description="Cancel selected bookings")
def cancel_bookings(modeladmin, request, queryset):
    count, _ = queryset.delete()
    modeladmin.message_user(request, f"{count} booking(s) cancelled.")
```

Make sure the booking changelist does not issue one query per row
(`list_select_related`).
""",
                    "repo": "prodev-backend-django",
                    "directory": "django-mvt-0x00",
                    "files": ["workshops/admin.py"],
                },
                {
                    "title": "Seed demo data with a management command",
                    "kind": "advanced",
                    "points": 15,
                    "body": """Write `python manage.py seed_workshops`, which creates hosts, tags,
workshops, sessions and bookings with realistic values.

```bash
$ python manage.py seed_workshops --workshops 50 --seed 7
Created 8 hosts, 12 tags, 50 workshops, 173 sessions, 1204 bookings.
$ python manage.py seed_workshops --clear
Deleted all demo data.
```

- `--seed` makes the output reproducible (`random.Random(seed)`).
- Use `bulk_create` and a single `transaction.atomic()` block.
- Running the command twice without `--clear` must not fail on unique constraints.
- Test it with `call_command` and `StringIO` to capture the output.
""",
                    "repo": "prodev-backend-django",
                    "directory": "django-mvt-0x00",
                    "files": [
                        "workshops/management/commands/seed_workshops.py",
                        "workshops/tests/test_seed.py",
                    ],
                },
                {
                    "title": "Refactor to class-based views",
                    "kind": "advanced",
                    "points": 15,
                    "body": """Rewrite the list and detail pages as `ListView` and `DetailView`, and
the booking page as a `CreateView` with `LoginRequiredMixin`. Keep the URLs and templates
unchanged and keep the tests green.

```python
class WorkshopListView(ListView):
    model = Workshop
    paginate_by = 20

    def get_queryset(self):
        return super().get_queryset().select_related("host").prefetch_related("tags")
```

Add pagination to the list page and a test proving that the list page runs the same
number of queries with 5 and with 50 workshops.
""",
                    "repo": "prodev-backend-django",
                    "directory": "django-mvt-0x00",
                    "files": ["workshops/views.py", "workshops/tests/test_views.py"],
                },
            ],
        },
        {
            "slug": "django-auth-admin",
            "title": "Authentication, Permissions and the Admin",
            "summary": (
                "Add accounts to Workshops: a custom user model, login and sign-up, "
                "permissions, groups and a production-grade admin."
            ),
            "description": """Almost every product needs to know who is asking. Django ships a
complete authentication system (users, passwords, sessions, groups and permissions) and an
admin built on top of it. Using it well mostly means making a few decisions early and
knowing which piece to extend.

The first decision is the user model: Django's documentation recommends a custom user
model at the start of every project, because changing it later is painful. You will
make email the login field, then wire up sign-up, login, logout and password reset with
Django's own views and forms.

Then you decide who may do what. **Permissions** answer "may this kind of user change
workshops?"; **object-level checks** answer "may *this* user change *this* workshop?".
You will use both, return 404 for objects a user may not see, and create groups in a
data migration so that every environment has the same roles.
""",
            "concepts": [
                "Custom user model",
                "Authentication views",
                "Permissions and groups",
                "Object-level authorization",
                "Data migrations",
            ],
            "objectives": [
                "By the end of this project you can set up a custom user model safely",
                "You can use Django's authentication views, forms and password reset flow",
                "You can protect views with login and permission checks",
                "You can create groups and permissions reproducibly with data migrations",
                "You can customise the admin for a custom user model",
            ],
            "requirements": [
                "Ubuntu 22.04, Python 3.12, Django 5.2 LTS or later",
                "Code follows PEP 8 (checked with ruff)",
                "Passwords are only ever handled by Django's password hashers",
                "Pages a user may not see answer 404, not 403",
                "All views are covered by tests, including the forbidden cases",
            ],
            "estimated_hours": 14,
            "weight": 2,
            "prerequisites": ["django-mvt-foundations"],
            "resources": [
                (
                    "Django docs: User authentication",
                    "https://docs.djangoproject.com/en/stable/topics/auth/",
                ),
                (
                    "Django docs: Customizing authentication",
                    "https://docs.djangoproject.com/en/stable/topics/auth/customizing/",
                ),
                (
                    "Django docs: Using the authentication system",
                    "https://docs.djangoproject.com/en/stable/topics/auth/default/",
                ),
                (
                    "Django docs: Data migrations",
                    "https://docs.djangoproject.com/en/stable/topics/migrations/#data-migrations",
                ),
            ],
            "tasks": [
                {
                    "title": "A custom user model with email login",
                    "kind": "mandatory",
                    "points": 15,
                    "body": """Create an `accounts` app with a `User` model that subclasses
`AbstractUser`, removes `username` and uses a unique `email` as `USERNAME_FIELD`.
Write a matching `UserManager` with `create_user` and `create_superuser`.

```python
class User(AbstractUser):
    username = None
    email = models.EmailField(unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []

    objects = UserManager()
```

```python
AUTH_USER_MODEL = "accounts.User"
```

Start from a fresh database: delete `db.sqlite3` and the old migrations, explain in
`README.md` why this must happen before the first `migrate`.
""",
                    "repo": "prodev-backend-django",
                    "directory": "django-auth-0x01",
                    "files": ["accounts/models.py", "accounts/managers.py", "README.md"],
                },
                {
                    "title": "Sign up, log in, log out",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Include `django.contrib.auth.urls` under `/accounts/` and write the
templates it needs. Add a sign-up view using a `UserCreationForm` subclass for your
model that logs the new user in and redirects to `next` when it is a safe URL.

```python
from django.utils.http import url_has_allowed_host_and_scheme

next_url = request.POST.get("next", "")
if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
    next_url = reverse("workshops:list")
```

Log out must be a POST (a small form in the navigation bar), never a link.
""",
                    "repo": "prodev-backend-django",
                    "directory": "django-auth-0x01",
                    "files": [
                        "accounts/forms.py",
                        "accounts/views.py",
                        "templates/registration/login.html",
                        "templates/registration/signup.html",
                    ],
                },
                {
                    "title": "Protect views",
                    "kind": "mandatory",
                    "points": 15,
                    "body": """Hosts may edit their own workshops; nobody else may.

- `WorkshopUpdateView` requires login (`LoginRequiredMixin`).
- Its `get_queryset()` returns only the current user's workshops, so any other workshop
  answers **404**, leaking nothing about whether it exists.
- Staff with the `workshops.change_workshop` permission may edit any workshop.

```python
def get_queryset(self):
    qs = Workshop.objects.all()
    if self.request.user.has_perm("workshops.change_workshop"):
        return qs
    return qs.filter(host=self.request.user)
```

Write tests for the three cases: owner (200), other user (404), anonymous (302 to login).
""",
                    "repo": "prodev-backend-django",
                    "directory": "django-auth-0x01",
                    "files": ["workshops/views.py", "workshops/tests/test_permissions.py"],
                },
                {
                    "title": "Create roles in a data migration",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Write a data migration that creates two groups, **Hosts** and
**Moderators**, with the right permissions, and a reverse function that removes them.

```python
def create_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    hosts, _ = Group.objects.get_or_create(name="Hosts")
    hosts.permissions.add(
        *Permission.objects.filter(codename__in=["add_workshop", "add_session"])
    )
```

Use the historical models from `apps.get_model`, never direct imports. Remember that
permissions are created by a `post_migrate` signal, *after* all migrations have run: on an
empty database they do not exist yet when your migration runs. Create them first with
`django.contrib.auth.management.create_permissions`, and test the migration on an empty
database.
""",
                    "repo": "prodev-backend-django",
                    "directory": "django-auth-0x01",
                    "files": ["accounts/migrations/0002_create_groups.py"],
                },
                {
                    "title": "Password reset by email",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Make the password reset flow work end to end with the console email
backend in development. Customise the email subject and body templates so the message
names the site and expires in 24 hours (`PASSWORD_RESET_TIMEOUT`).

```bash
$ python manage.py runserver
# request a reset for ada@example.com, then read the console:
Subject: Reset your Workshops password
...
http://localhost:8000/accounts/reset/MQ/c3k9ab-1f2e.../
```

Test the flow with `django.core.mail.outbox`: request a reset, extract the link, follow
it, set a new password and log in with it.
""",
                    "repo": "prodev-backend-django",
                    "directory": "django-auth-0x01",
                    "files": [
                        "templates/registration/password_reset_email.html",
                        "accounts/tests/test_password_reset.py",
                    ],
                },
                {
                    "title": "Admin for the custom user",
                    "kind": "advanced",
                    "points": 15,
                    "body": """Register the custom `User` with a `UserAdmin` subclass whose
fieldsets, `add_fieldsets`, `ordering` and `search_fields` use `email` instead of
`username`. Then add a *Export selected users as CSV* action that streams its response.

```python
@admin.action(description="Export selected users as CSV")
def export_csv(modeladmin, request, queryset):
    rows = queryset.values_list("email", "first_name", "last_name", "date_joined")
    writer = csv.writer(Echo())
    return StreamingHttpResponse(
        (writer.writerow(row) for row in rows.iterator()),
        content_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="users.csv"'},
    )
```

Set `admin.site.site_header` and make `date_joined` and `last_login` read-only.
""",
                    "repo": "prodev-backend-django",
                    "directory": "django-auth-0x01",
                    "files": ["accounts/admin.py"],
                },
            ],
        },
        {
            "slug": "django-middleware-signals",
            "title": "Middleware, Signals and Management Commands",
            "summary": (
                "Add cross-cutting behaviour to Workshops: request logging, read-only mode, "
                "rate limiting, notifications through signals and housekeeping commands."
            ),
            "description": """Some behaviour belongs to no single view. Logging every request,
refusing writes during maintenance, limiting how fast one client may post: these are jobs
for **middleware**, a chain of callables that wraps every request and response.

Other behaviour belongs to no single *caller*. When a booking is created, someone should
be notified, whether the booking came from the website, the admin or a script. Django's
**signals** let the booking model announce "I was saved" and let other apps react without
the model knowing about them. Used carelessly, signals hide control flow; used well, they
keep apps decoupled. You will learn both sides, including `transaction.on_commit` so that
nothing is sent for a transaction that is rolled back.

Finally, every production site needs chores run on a schedule: purge stale data, resend
failed emails, rebuild a report. **Management commands** give those chores a tested,
documented home, runnable by cron, a task scheduler or a human.

1. Middleware: logging, read-only mode, rate limiting.
2. Signals: notifications, edit history, a custom signal.
3. Commands and managers: purge stale data, query helpers.
""",
            "concepts": [
                "Middleware",
                "Request/response cycle",
                "Signals",
                "transaction.on_commit",
                "Custom managers",
                "Management commands",
            ],
            "objectives": [
                "By the end of this project you can write and order middleware correctly",
                "You can use the cache to enforce a simple rate limit",
                "You can react to model events with signals connected in AppConfig.ready",
                "You can defer side effects until a transaction commits",
                "You can write custom managers and tested management commands",
            ],
            "requirements": [
                "Ubuntu 22.04, Python 3.12, Django 5.2 LTS or later",
                "Code follows PEP 8 (checked with ruff)",
                "Middleware is a plain class with __init__(get_response) and __call__",
                "Signal receivers are connected in apps.py, never at import time of models",
                "Every middleware, receiver and command has tests",
            ],
            "estimated_hours": 16,
            "weight": 2,
            "prerequisites": ["django-auth-admin"],
            "resources": [
                (
                    "Django docs: Middleware",
                    "https://docs.djangoproject.com/en/stable/topics/http/middleware/",
                ),
                (
                    "Django docs: Signals",
                    "https://docs.djangoproject.com/en/stable/topics/signals/",
                ),
                (
                    "Django docs: Writing custom management commands",
                    "https://docs.djangoproject.com/en/stable/howto/custom-management-commands/",
                ),
                (
                    "Django docs: Managers",
                    "https://docs.djangoproject.com/en/stable/topics/db/managers/",
                ),
                (
                    "Django docs: Performing actions after commit",
                    "https://docs.djangoproject.com/en/stable/topics/db/transactions/"
                    "#performing-actions-after-commit",
                ),
            ],
            "tasks": [
                {
                    "title": "Log every request",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Write `RequestLogMiddleware` that logs one line per request with the
method, path, status code, duration in milliseconds and the user (or `anonymous`).

```python
class RequestLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed_ms = (time.perf_counter() - started) * 1000
        logger.info(
            "%s %s %s %.1fms user=%s",
            request.method, request.path, response.status_code, elapsed_ms,
            getattr(request.user, "email", None) or "anonymous",
        )
        return response
```

Configure `LOGGING` so these lines go to `requests.log`. Where in `MIDDLEWARE` must this
class sit to see `request.user`? Answer in a comment.
""",
                    "repo": "prodev-backend-django",
                    "directory": "django-middleware-0x02",
                    "files": ["workshops/middleware.py", "config/settings.py"],
                },
                {
                    "title": "Read-only mode",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """During a database migration the operations team wants the site to
stay up but refuse writes. Write `ReadOnlyModeMiddleware`: when `settings.READ_ONLY_MODE`
is true, any request whose method is not `GET`, `HEAD` or `OPTIONS` gets a **503**
response with a `Retry-After: 600` header and a friendly template. The admin stays
writable for superusers.

```bash
$ curl -i -X POST http://localhost:8000/workshops/intro-to-sql/book/
HTTP/1.1 503 Service Unavailable
Retry-After: 600
```

Use `override_settings` in tests to switch the mode on and off.
""",
                    "repo": "prodev-backend-django",
                    "directory": "django-middleware-0x02",
                    "files": ["workshops/middleware.py", "templates/read_only.html"],
                },
                {
                    "title": "Rate-limit bookings",
                    "kind": "mandatory",
                    "points": 15,
                    "body": """Write `BookingRateLimitMiddleware`: at most **5 POST requests per
minute** per client IP to any URL under `/workshops/`. The sixth answers **429** with a
`Retry-After` header.

Keep the counters in Django's cache so that the limit holds across processes:

```python
key = f"ratelimit:{ip}:{int(time.time() // 60)}"
added = cache.add(key, 0, timeout=60)
count = cache.incr(key)
if count > 5:
    return HttpResponse("Too many requests", status=429, headers={"Retry-After": "60"})
```

Read the client IP from `REMOTE_ADDR`, and explain in a comment why trusting
`X-Forwarded-For` blindly would let anyone bypass the limit.
""",
                    "repo": "prodev-backend-django",
                    "directory": "django-middleware-0x02",
                    "files": ["workshops/middleware.py", "workshops/tests/test_middleware.py"],
                },
                {
                    "title": "Notify hosts when a seat is booked",
                    "kind": "mandatory",
                    "points": 15,
                    "body": """Add a `Notification(user, verb, target_url, created_at, read_at)`
model. Write a `post_save` receiver on `Booking` that creates a notification for the
workshop's host when a booking is **created** (not updated), and connect it in
`AppConfig.ready()`.

```python
@receiver(post_save, sender=Booking, dispatch_uid="notify_host_on_booking")
def notify_host(sender, instance, created, **kwargs):
    if not created:
        return
    transaction.on_commit(lambda: Notification.objects.create(
        user=instance.session.workshop.host,
        verb=f"{instance.learner} booked {instance.session}",
    ))
```

Test that a booking created inside a transaction that is rolled back produces no
notification (`TestCase.captureOnCommitCallbacks` helps).
""",
                    "repo": "prodev-backend-django",
                    "directory": "django-middleware-0x02",
                    "files": [
                        "notifications/models.py",
                        "notifications/signals.py",
                        "notifications/apps.py",
                    ],
                },
                {
                    "title": "Keep an edit history of reviews",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Learners can edit their reviews; moderators want to see what changed.
Write a `pre_save` receiver on `Review` that, when the text of an existing review changes,
stores the previous text in a `ReviewRevision(review, text, edited_at)` row and sets
`Review.edited = True`.

```python
>>> review.text = "Great workshop, slides were a bit fast."
>>> review.save()
>>> review.revisions.values_list("text", flat=True)
<QuerySet ['Great workshop!']>
```

Saving a review without changing its text must not create a revision. Show the revisions
inline in the admin, read-only.
""",
                    "repo": "prodev-backend-django",
                    "directory": "django-middleware-0x02",
                    "files": ["workshops/signals.py", "workshops/models.py"],
                },
                {
                    "title": "A manager for unread notifications",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Write a custom `QuerySet` with `unread()` and `for_user(user)`,
expose it with `Manager.from_queryset`, and use it in a *Notifications* page that loads
only the fields it displays.

```python
class NotificationQuerySet(models.QuerySet):
    def unread(self):
        return self.filter(read_at__isnull=True)

    def for_user(self, user):
        return self.filter(user=user).only("verb", "target_url", "created_at")
```

The page marks everything shown as read with a single `update()` query.
""",
                    "repo": "prodev-backend-django",
                    "directory": "django-middleware-0x02",
                    "files": ["notifications/models.py", "notifications/views.py"],
                },
                {
                    "title": "Purge stale data with a command",
                    "kind": "advanced",
                    "points": 15,
                    "body": """Write `python manage.py purge_stale --days 90 [--dry-run]`, which
deletes read notifications and cancelled bookings older than the given number of days, in
batches of 1,000 so that no single statement locks the table for long.

```bash
$ python manage.py purge_stale --days 90 --dry-run
Would delete 4,211 notifications and 87 bookings.
$ python manage.py purge_stale --days 90
Deleted 4,211 notifications and 87 bookings in 5 batches.
```

Return a non-zero exit code (raise `CommandError`) when `--days` is below 7. Test the
command with `call_command` and freeze time with `unittest.mock.patch` on
`django.utils.timezone.now`.
""",
                    "repo": "prodev-backend-django",
                    "directory": "django-middleware-0x02",
                    "files": [
                        "notifications/management/commands/purge_stale.py",
                        "notifications/tests/test_purge_stale.py",
                    ],
                },
                {
                    "title": "Define your own signal",
                    "kind": "advanced",
                    "points": 15,
                    "body": """`post_save` fires on every save, which is not the same as "a booking
was confirmed". Define a custom signal `booking_confirmed` in `workshops/signals.py`, send
it from the one service function that confirms bookings, and move the host notification to
a receiver of that signal.

```python
booking_confirmed = Signal()  # provides: booking, confirmed_by

def confirm_booking(booking, *, by):
    booking.status = Booking.Status.CONFIRMED
    booking.save(update_fields=["status"])
    booking_confirmed.send(sender=Booking, booking=booking, confirmed_by=by)
```

Test the sender with a `Mock` receiver connected for the duration of the test, and write
a paragraph in `SIGNALS.md` about when a direct function call is clearer than a signal.
""",
                    "repo": "prodev-backend-django",
                    "directory": "django-middleware-0x02",
                    "files": ["workshops/signals.py", "workshops/services.py", "SIGNALS.md"],
                },
            ],
        },
    ],
}

_REST: dict = {
    "slug": "rest-apis",
    "title": "REST APIs",
    "summary": ("Design, build and secure resource-oriented HTTP APIs with Django REST Framework."),
    "objectives": [
        "Design resource-oriented endpoints with the right HTTP methods and status codes",
        "Serialize and validate data with DRF serializers, including nested representations",
        "Build endpoints quickly with ViewSets and routers, and extend them with actions",
        "Authenticate clients with sessions and JSON Web Tokens and authorize with permissions",
        "Paginate, filter, order and throttle collections",
        "Document APIs with an OpenAPI schema",
    ],
    "projects": [
        {
            "slug": "drf-serializers-viewsets",
            "title": "Tracker API: Serializers and ViewSets",
            "summary": (
                "Build the core of an issue-tracker API (boards, tickets and comments) with "
                "serializers, ViewSets, routers and custom actions."
            ),
            "description": """An API is a promise: clients build against it and you cannot change it
on a whim. Good APIs are boringly predictable. Resources have plural nouns, methods mean
what HTTP says they mean, and status codes tell the client exactly what happened.

In this project you build **Tracker**, the API behind a small issue tracker. Teams own
**boards**, boards hold **tickets**, and tickets collect **comments**. You start by
designing the endpoints on paper, then implement them with Django REST Framework:
serializers turn models into JSON and validate what comes back, ViewSets group the
actions on a resource, and routers generate consistent URLs.

| method | path | meaning | success |
| --- | --- | --- | --- |
| GET | `/api/boards/` | list boards | 200 |
| POST | `/api/boards/{id}/tickets/` | open a ticket | 201 |
| PATCH | `/api/tickets/{id}/` | change some fields | 200 |
| POST | `/api/tickets/{id}/close/` | close a ticket | 200 or 409 |
| DELETE | `/api/comments/{id}/` | delete a comment | 204 |

Everything is tested with DRF's `APIClient`; a client developer should be able to use
your API from the tests alone.
""",
            "concepts": [
                "REST",
                "HTTP methods and status codes",
                "Serializers",
                "ViewSets",
                "Routers",
                "API testing",
            ],
            "objectives": [
                "By the end of this project you can design a REST API before writing code",
                "You can write serializers with field-level and object-level validation",
                "You can nest related data in responses without N+1 queries",
                "You can build CRUD endpoints with ViewSets and routers",
                "You can add custom actions that return meaningful status codes",
            ],
            "requirements": [
                "Ubuntu 22.04, Python 3.12, Django 5.2 LTS, djangorestframework 3.15 or later",
                "Code follows PEP 8 (checked with ruff)",
                "Every endpoint returns JSON and a correct status code, including errors",
                "Every endpoint is covered by APIClient tests",
                "List endpoints run a constant number of queries",
            ],
            "estimated_hours": 18,
            "weight": 3,
            "prerequisites": ["django-mvt-foundations"],
            "resources": [
                (
                    "DRF tutorial: Serialization",
                    "https://www.django-rest-framework.org/tutorial/1-serialization/",
                ),
                (
                    "DRF API guide: Serializers",
                    "https://www.django-rest-framework.org/api-guide/serializers/",
                ),
                (
                    "DRF API guide: ViewSets",
                    "https://www.django-rest-framework.org/api-guide/viewsets/",
                ),
                (
                    "DRF API guide: Routers",
                    "https://www.django-rest-framework.org/api-guide/routers/",
                ),
                (
                    "MDN: HTTP response status codes",
                    "https://developer.mozilla.org/en-US/docs/Web/HTTP/Status",
                ),
            ],
            "tasks": [
                {
                    "title": "Design the API first",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Before writing code, write `API.md`: a table of every endpoint with
method, path, request body, success status and error statuses, plus one example request
and response per resource.

```http
POST /api/boards/3/tickets/ HTTP/1.1
Content-Type: application/json

{"title": "Login button does nothing", "priority": "high"}
```

```json
{
  "id": 41,
  "board": 3,
  "title": "Login button does nothing",
  "priority": "high",
  "status": "open",
  "reporter": "ada@example.com",
  "created_at": "2025-03-02T10:14:07Z"
}
```

Justify two decisions in writing: why closing a ticket is a `POST` to an action rather
than a `PATCH` of `status`, and which errors answer 400, 404 and 409.
""",
                    "repo": "prodev-backend-rest",
                    "directory": "rest-api-0x00",
                    "files": ["API.md"],
                },
                {
                    "title": "Models and serializers with validation",
                    "kind": "mandatory",
                    "points": 15,
                    "body": """Write the `Board`, `Ticket` and `Comment` models and a
`TicketSerializer` whose `reporter`, `status` and `created_at` are read-only.

```python
class TicketSerializer(serializers.ModelSerializer):
    reporter = serializers.ReadOnlyField(source="reporter.email")

    class Meta:
        model = Ticket
        fields = ["id", "board", "title", "priority", "status", "reporter", "created_at"]
        read_only_fields = ["status", "created_at"]

    def validate_title(self, value):
        if len(value.strip()) < 5:
            raise serializers.ValidationError("Title must be at least 5 characters.")
        return value.strip()
```

Add an object-level `validate()` that refuses new tickets on an archived board.
""",
                    "repo": "prodev-backend-rest",
                    "directory": "rest-api-0x00",
                    "files": ["tracker/models.py", "tracker/serializers.py"],
                },
                {
                    "title": "Nested representations",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """The board detail endpoint shows the board with its five most recent
open tickets and each ticket's comment count.

```json
{
  "id": 3,
  "name": "Website",
  "open_tickets": [
    {"id": 41, "title": "Login button does nothing", "comment_count": 2}
  ]
}
```

Compute `comment_count` with `annotate(Count("comments"))` in the view's queryset, not
with a `SerializerMethodField` that queries per ticket. Use a `Prefetch` object to limit
and order the nested tickets.
""",
                    "repo": "prodev-backend-rest",
                    "directory": "rest-api-0x00",
                    "files": ["tracker/serializers.py", "tracker/views.py"],
                },
                {
                    "title": "ViewSets and a router",
                    "kind": "mandatory",
                    "points": 15,
                    "body": """Expose boards, tickets and comments with `ModelViewSet`s registered
on a `DefaultRouter` under `/api/`. `perform_create` sets `reporter` (or `author`) from
`request.user`; clients can never choose it.

```python
router = DefaultRouter()
router.register("boards", BoardViewSet, basename="board")
router.register("tickets", TicketViewSet, basename="ticket")
router.register("comments", CommentViewSet, basename="comment")

urlpatterns = [path("api/", include(router.urls))]
```

```bash
$ curl -s http://localhost:8000/api/ | python -m json.tool
{
    "boards": "http://localhost:8000/api/boards/",
    "tickets": "http://localhost:8000/api/tickets/",
    "comments": "http://localhost:8000/api/comments/"
}
```
""",
                    "repo": "prodev-backend-rest",
                    "directory": "rest-api-0x00",
                    "files": ["tracker/views.py", "tracker/urls.py"],
                },
                {
                    "title": "A custom action to close tickets",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Add `POST /api/tickets/{id}/close/` with `@action(detail=True,
methods=["post"])`. It sets `status = "closed"` and `closed_at`, and returns the ticket.
Closing an already closed ticket answers **409 Conflict** with an error message.

```python
@action(detail=True, methods=["post"])
def close(self, request, pk=None):
    ticket = self.get_object()
    if ticket.status == Ticket.Status.CLOSED:
        return Response(
            {"detail": "Ticket is already closed."}, status=status.HTTP_409_CONFLICT
        )
    ticket.close(by=request.user)
    return Response(self.get_serializer(ticket).data)
```
""",
                    "repo": "prodev-backend-rest",
                    "directory": "rest-api-0x00",
                    "files": ["tracker/views.py"],
                },
                {
                    "title": "Nested routes without a plugin",
                    "kind": "advanced",
                    "points": 15,
                    "body": """Add `/api/boards/{board_pk}/tickets/` that lists and creates tickets
of one board. Write the URL patterns by hand with `as_view()` mappings, and read
`board_pk` from `self.kwargs`.

```python
board_tickets = TicketViewSet.as_view({"get": "list", "post": "create"})
urlpatterns += [
    path("api/boards/<int:board_pk>/tickets/", board_tickets, name="board-tickets"),
]
```

A `board_pk` that does not exist answers 404 for both methods. When creating, the board
comes from the URL, not from the body.
""",
                    "repo": "prodev-backend-rest",
                    "directory": "rest-api-0x00",
                    "files": ["tracker/urls.py", "tracker/views.py"],
                },
                {
                    "title": "Test the API like a client",
                    "kind": "advanced",
                    "points": 15,
                    "body": """Write `tracker/tests/test_api.py` with `APITestCase` covering every
endpoint's success and error paths, and assert that list endpoints run the same number
of queries for 3 and 30 objects.

```python
def test_close_twice_conflicts(self):
    self.client.force_authenticate(self.user)
    url = reverse("ticket-close", args=[self.ticket.pk])
    self.assertEqual(self.client.post(url).status_code, 200)
    self.assertEqual(self.client.post(url).status_code, 409)
```

```bash
$ python manage.py test tracker -v 1
Ran 27 tests in 0.812s
OK
```
""",
                    "repo": "prodev-backend-rest",
                    "directory": "rest-api-0x00",
                    "files": ["tracker/tests/test_api.py"],
                },
            ],
        },
        {
            "slug": "drf-auth-permissions",
            "title": "Securing and Scaling the Tracker API",
            "summary": (
                "Authenticate with JWT, authorize per object, and make collections usable at "
                "scale with pagination, filtering, throttling, versioning and OpenAPI docs."
            ),
            "description": """An API that works for its author on localhost is half done. Real
clients need to prove who they are, must only see their own teams' boards, and should not
be able to download ten thousand tickets in one request or hammer the server with a
script.

This project hardens Tracker. You add **JSON Web Token** authentication for mobile and
single-page clients, write permission classes that answer "may this user touch this
ticket?", and return 404 for objects outside a user's teams so that ids leak nothing.
Then you make collections scale: page-number pagination with a capped page size,
filtering and ordering with `django-filter`, and per-scope throttling.

Finally you publish an **OpenAPI** schema and interactive docs, and introduce a second
API version without breaking clients of the first. After this project your API is
something a partner team could integrate against without asking you questions.
""",
            "concepts": [
                "JWT authentication",
                "Permissions",
                "Pagination",
                "Filtering",
                "Throttling",
                "API versioning",
                "OpenAPI",
            ],
            "objectives": [
                "By the end of this project you can configure JWT authentication and token refresh",
                "You can write object-level permission classes and scope querysets per user",
                "You can paginate, filter, search and order list endpoints",
                "You can throttle clients per scope and explain the 429 response",
                "You can publish an OpenAPI schema and version an API",
            ],
            "requirements": [
                "Ubuntu 22.04, Python 3.12, Django 5.2 LTS, djangorestframework 3.15 or later",
                "Code follows PEP 8 (checked with ruff)",
                "No endpoint is reachable without authentication except token endpoints and docs",
                "Objects outside the user's teams answer 404",
                "Secrets come from the environment, never from the repository",
            ],
            "estimated_hours": 16,
            "weight": 2,
            "prerequisites": ["drf-serializers-viewsets"],
            "resources": [
                (
                    "DRF API guide: Authentication",
                    "https://www.django-rest-framework.org/api-guide/authentication/",
                ),
                (
                    "DRF API guide: Permissions",
                    "https://www.django-rest-framework.org/api-guide/permissions/",
                ),
                (
                    "DRF API guide: Pagination",
                    "https://www.django-rest-framework.org/api-guide/pagination/",
                ),
                (
                    "DRF API guide: Throttling",
                    "https://www.django-rest-framework.org/api-guide/throttling/",
                ),
                (
                    "Simple JWT documentation",
                    "https://django-rest-framework-simplejwt.readthedocs.io/en/latest/",
                ),
            ],
            "tasks": [
                {
                    "title": "JWT authentication",
                    "kind": "mandatory",
                    "points": 15,
                    "body": """Install `djangorestframework-simplejwt`, add token endpoints and make
JWT and session authentication the defaults, with `IsAuthenticated` as the default
permission.

```python
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
}
```

```bash
$ cat credentials.json
{"email": "ada@example.com", "password": "s3cret-pass"}
$ curl -s -X POST localhost:8000/api/token/ -H "Content-Type: application/json" -d @credentials.json
{"refresh": "eyJhbGciOi...", "access": "eyJhbGciOi..."}
$ curl -s localhost:8000/api/boards/ -H "Authorization: Bearer eyJhbGciOi..."
```

Set a 15-minute access token lifetime and enable refresh-token rotation.
""",
                    "repo": "prodev-backend-rest",
                    "directory": "rest-api-0x01",
                    "files": ["config/settings.py", "config/urls.py"],
                },
                {
                    "title": "Object-level permissions",
                    "kind": "mandatory",
                    "points": 15,
                    "body": """Only members of a board's team may read its tickets; only the
reporter or a team admin may edit or delete a ticket.

```python
class IsTicketEditor(permissions.BasePermission):
    def has_object_permission(self, request, view, obj):
        if request.method in permissions.SAFE_METHODS:
            return True
        return obj.reporter_id == request.user.id or obj.board.team.is_admin(request.user)
```

Combine it with a `get_queryset()` that filters to the user's teams, so that tickets of
other teams answer **404**, and a member who is not the reporter gets **403** on `PATCH`.
Test all four cases.
""",
                    "repo": "prodev-backend-rest",
                    "directory": "rest-api-0x01",
                    "files": ["tracker/permissions.py", "tracker/views.py"],
                },
                {
                    "title": "Paginate every list",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Write `StandardPagination`, a `PageNumberPagination` with 20 items
per page, a `page_size` query parameter capped at 100, and make it the default.

```json
{
  "count": 214,
  "next": "http://localhost:8000/api/tickets/?page=3",
  "previous": "http://localhost:8000/api/tickets/?page=1",
  "results": ["..."]
}
```

For the comments endpoint, which is ordered by time and grows forever, use
`CursorPagination` instead and explain the trade-off in a docstring.
""",
                    "repo": "prodev-backend-rest",
                    "directory": "rest-api-0x01",
                    "files": ["tracker/pagination.py"],
                },
                {
                    "title": "Filter, search and order",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Add a `TicketFilter` (`django-filter`) supporting `status`,
`priority`, `reporter` and a date range on `created_at`, plus `SearchFilter` on title and
`OrderingFilter` on `created_at` and `priority`.

```python
class TicketFilter(django_filters.FilterSet):
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Ticket
        fields = ["status", "priority", "reporter"]
```

```bash
$ query="status=open&priority=high&ordering=-created_at&search=login"
$ curl -s "localhost:8000/api/tickets/?$query" -H "Authorization: Bearer $TOKEN"
```

An invalid filter value must answer 400 with a message naming the field.
""",
                    "repo": "prodev-backend-rest",
                    "directory": "rest-api-0x01",
                    "files": ["tracker/filters.py", "tracker/views.py"],
                },
                {
                    "title": "Throttle comment spam",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Apply `ScopedRateThrottle` to the comments endpoint (scope
`comments`, 30 per minute) and `UserRateThrottle` everywhere else (1,000 per hour).

```python
"DEFAULT_THROTTLE_RATES": {"user": "1000/hour", "comments": "30/min"},
```

```bash
$ for i in $(seq 31); do curl -s -o /dev/null -w "%{http_code} " -X POST ...; done
201 201 201 ... 201 429
```

Throttling state lives in the cache: explain in `README.md` why the local-memory cache
is wrong for this in a multi-process deployment.
""",
                    "repo": "prodev-backend-rest",
                    "directory": "rest-api-0x01",
                    "files": ["config/settings.py", "tracker/views.py", "README.md"],
                },
                {
                    "title": "Publish an OpenAPI schema",
                    "kind": "advanced",
                    "points": 15,
                    "body": """Generate an OpenAPI 3 schema with `drf-spectacular` and serve Swagger
UI at `/api/docs/`. Annotate the custom `close` action and the filters with
`@extend_schema` so that the docs show parameters, request bodies and the 409 response.

```bash
$ python manage.py spectacular --file schema.yml --validate
$ grep -c "operationId" schema.yml
21
```

Add a test that generates the schema and fails on any warning, so the docs can never
silently drift from the code.
""",
                    "repo": "prodev-backend-rest",
                    "directory": "rest-api-0x01",
                    "files": ["config/urls.py", "schema.yml", "tracker/tests/test_schema.py"],
                },
                {
                    "title": "Version the API",
                    "kind": "advanced",
                    "points": 15,
                    "body": """Version 2 of the API renames `priority` to `severity` and returns the
reporter as an object. Enable `URLPathVersioning` with `v1` and `v2`, keep v1 unchanged,
and choose the serializer by version.

```python
def get_serializer_class(self):
    if self.request.version == "v2":
        return TicketSerializerV2
    return TicketSerializer
```

```bash
$ curl -s localhost:8000/api/v1/tickets/41/ | jq .priority
"high"
$ curl -s localhost:8000/api/v2/tickets/41/ | jq .severity
"high"
```

Add a `Deprecation` response header on v1 and document the sunset date in `API.md`.
""",
                    "repo": "prodev-backend-rest",
                    "directory": "rest-api-0x01",
                    "files": ["tracker/serializers.py", "tracker/views.py", "API.md"],
                },
            ],
        },
    ],
}

_GRAPHQL: dict = {
    "slug": "graphql",
    "title": "GraphQL",
    "summary": (
        "Serve flexible, strongly typed APIs with GraphQL and Graphene-Django, and keep them "
        "fast and safe."
    ),
    "objectives": [
        "Explain how GraphQL differs from REST and when each is the better fit",
        "Define schemas, object types, queries and resolvers with Graphene-Django",
        "Write mutations with input types and structured validation errors",
        "Filter and paginate with Relay nodes and connections",
        "Avoid N+1 queries and protect the server with depth limits and authorization",
    ],
    "projects": [
        {
            "slug": "graphql-schema-queries",
            "title": "Bookshop GraphQL: Schema and Queries",
            "summary": (
                "Expose a bookshop catalogue over GraphQL: types, resolvers with arguments, "
                "Relay connections with filters, and tests."
            ),
            "description": """With REST, the server decides the shape of each response. With
GraphQL, the **client** asks for exactly the fields it needs, across related objects, in
one request, and the server checks that request against a **typed schema** before running
it. That makes GraphQL attractive for screens that combine lots of related data, and it
moves new responsibilities to the server: every field needs a resolver, and one innocent
query can trigger hundreds of SQL queries if resolvers are naive.

In this project you expose the catalogue of a small online bookshop (authors, books and
reviews) with **Graphene-Django**. You start with a one-field schema, grow it into typed
queries with arguments, then switch to Relay nodes and connections for pagination and
filtering.

```graphql
query {
  allBooks(first: 2, genre: "science") {
    edges { node { title author { name } averageRating } }
    pageInfo { hasNextPage endCursor }
  }
}
```

You finish by writing tests for the schema, so that every query a client depends on is
checked on every change.
""",
            "concepts": ["GraphQL schema", "Types and resolvers", "Relay connections", "Filtering"],
            "objectives": [
                "By the end of this project you can explain schema, types, fields and resolvers",
                "You can map Django models to GraphQL types and choose which fields to expose",
                "You can add arguments to queries and resolve them efficiently",
                "You can paginate and filter with Relay connections",
                "You can test GraphQL queries with GraphQLTestCase",
            ],
            "requirements": [
                "Ubuntu 22.04, Python 3.12, Django 5.2 LTS, graphene-django 3",
                "Code follows PEP 8 (checked with ruff)",
                "Every model type lists its exposed fields explicitly",
                "Every query is covered by a test",
            ],
            "estimated_hours": 12,
            "weight": 2,
            "prerequisites": ["drf-serializers-viewsets"],
            "resources": [
                ("GraphQL: Learn", "https://graphql.org/learn/"),
                ("GraphQL: Schemas and types", "https://graphql.org/learn/schema/"),
                (
                    "Graphene-Django: Basic tutorial",
                    "https://docs.graphene-python.org/projects/django/en/latest/tutorial-plain/",
                ),
                (
                    "Graphene-Django: Filtering",
                    "https://docs.graphene-python.org/projects/django/en/latest/filtering/",
                ),
                ("GraphQL: Pagination", "https://graphql.org/learn/pagination/"),
            ],
            "tasks": [
                {
                    "title": "Hello, GraphQL",
                    "kind": "mandatory",
                    "points": 5,
                    "body": """Install `graphene-django`, create `bookshop/schema.py` with a `Query`
type that has one field, `hello`, and serve GraphiQL at `/graphql/`.

```python
class Query(graphene.ObjectType):
    hello = graphene.String(default_value="Hello, bookshop!")

schema = graphene.Schema(query=Query)
```

```python
GRAPHENE = {"SCHEMA": "bookshop.schema.schema"}
```

```bash
$ curl -s localhost:8000/graphql/ -H "Content-Type: application/json" -d '{"query": "{ hello }"}'
{"data":{"hello":"Hello, bookshop!"}}
```
""",
                    "repo": "prodev-backend-graphql",
                    "directory": "graphql-0x00",
                    "files": ["bookshop/schema.py", "config/urls.py"],
                },
                {
                    "title": "Types for authors, books and reviews",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Write the `Author`, `Book` and `Review` models and a
`DjangoObjectType` for each, listing exposed fields explicitly. Add `averageRating` to
`BookType` as a custom field.

```python
class BookType(DjangoObjectType):
    average_rating = graphene.Float()

    class Meta:
        model = Book
        fields = ("id", "title", "isbn", "genre", "published_on", "author", "reviews")

    def resolve_average_rating(self, info):
        return getattr(self, "avg_rating", None)
```

Never expose a reviewer's email address: show how `fields` protects you when someone
adds a column later.
""",
                    "repo": "prodev-backend-graphql",
                    "directory": "graphql-0x00",
                    "files": ["catalog/models.py", "catalog/schema.py"],
                },
                {
                    "title": "Queries with arguments",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Add `book(id: ID!)` and `books(genre: String, search: String)` to the
root query. `search` matches titles and author names case-insensitively.

```graphql
query {
  books(genre: "history", search: "empire") {
    title
    author { name }
  }
}
```

Resolve `books` with one SQL query: `select_related("author")` and
`annotate(avg_rating=Avg("reviews__rating"))`. An unknown id returns `null`, not an error.
""",
                    "repo": "prodev-backend-graphql",
                    "directory": "graphql-0x00",
                    "files": ["catalog/schema.py"],
                },
                {
                    "title": "Relay connections and filters",
                    "kind": "mandatory",
                    "points": 15,
                    "body": """Turn `BookType` into a Relay node and expose `allBooks` as a
`DjangoFilterConnectionField` with a `BookFilter` (`django-filter`): genre, author name
contains, published after, and minimum average rating.

```python
class BookNode(DjangoObjectType):
    class Meta:
        model = Book
        interfaces = (relay.Node,)
        fields = ("title", "isbn", "genre", "published_on", "author")
        filterset_class = BookFilter

class Query(graphene.ObjectType):
    book = relay.Node.Field(BookNode)
    all_books = DjangoFilterConnectionField(BookNode)
```

Set `RELAY_CONNECTION_MAX_LIMIT` to 50 and show in a test that `first: 500` is refused.
""",
                    "repo": "prodev-backend-graphql",
                    "directory": "graphql-0x00",
                    "files": ["catalog/filters.py", "catalog/schema.py"],
                },
                {
                    "title": "Test the schema",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Write tests with `graphene_django.utils.testing.GraphQLTestCase`
for each query, including filters and pagination cursors.

```python
class BookQueryTests(GraphQLTestCase):
    GRAPHQL_URL = "/graphql/"

    def test_filters_by_genre(self):
        response = self.query(
            "query ($g: String) { allBooks(genre: $g) { edges { node { title } } } }",
            variables={"g": "history"},
        )
        self.assertResponseNoErrors(response)
        titles = [e["node"]["title"] for e in response.json()["data"]["allBooks"]["edges"]]
        self.assertEqual(titles, ["A Short History of Empires"])
```

Also export the schema with `python manage.py graphql_schema --schema bookshop.schema.schema
--out schema.graphql` and commit it, so schema changes show up in code review.
""",
                    "repo": "prodev-backend-graphql",
                    "directory": "graphql-0x00",
                    "files": ["catalog/tests/test_queries.py", "schema.graphql"],
                },
                {
                    "title": "Kill the N+1",
                    "kind": "advanced",
                    "points": 20,
                    "body": """This query runs one SQL query per book and per review list:

```graphql
{ allBooks(first: 20) { edges { node { title author { name } reviews { rating } } } } }
```

Override `BookNode.get_queryset` (or the connection resolver) to use `select_related`
and `prefetch_related`, and prove the fix with a test:

```python
from django.db import connection
from django.test.utils import CaptureQueriesContext

with CaptureQueriesContext(connection) as ctx:
    self.query(QUERY)
self.assertLessEqual(len(ctx.captured_queries), 3)
```

The number must be the same for 5 and for 50 books. Write down in `PERFORMANCE.md`
why a nested GraphQL query is more exposed to N+1 than a REST endpoint.
""",
                    "repo": "prodev-backend-graphql",
                    "directory": "graphql-0x00",
                    "files": [
                        "catalog/schema.py",
                        "catalog/tests/test_performance.py",
                        "PERFORMANCE.md",
                    ],
                },
            ],
        },
        {
            "slug": "graphql-mutations-auth",
            "title": "Bookshop GraphQL: Mutations and Security",
            "summary": (
                "Let clients change data through mutations with input types and structured "
                "errors, then protect the API with authorization, depth limits and "
                "optimistic locking."
            ),
            "description": """Queries read; **mutations** write. A good mutation takes a typed
input, validates it, changes exactly what it says, and returns both the changed object and
any errors in a shape the client can display next to the right form field. Throwing a
generic exception and letting it surface as an opaque `errors` entry is not enough.

In this project you add mutations to the bookshop schema: create authors, create books
with nested input, submit reviews in bulk with partial success, and update books safely
when two editors work at once. Along the way you decide where validation lives (Django
forms and model validation, reused from the rest of the site) and how to report it.

A public GraphQL endpoint is also an attack surface. Because clients write the queries,
a single request can nest ten levels deep and ask the database for millions of rows.
You finish by requiring authentication for writes and rejecting queries deeper than a
fixed limit before they ever run.
""",
            "concepts": [
                "Mutations",
                "Input types",
                "Validation errors",
                "Authorization",
                "Depth limiting",
                "Optimistic concurrency",
            ],
            "objectives": [
                "By the end of this project you can write mutations with input object types",
                "You can return structured, per-field validation errors",
                "You can perform bulk operations with partial success inside a transaction",
                "You can require authentication and ownership for mutations",
                "You can reject abusive queries with validation rules",
            ],
            "requirements": [
                "Ubuntu 22.04, Python 3.12, Django 5.2 LTS, graphene-django 3",
                "Code follows PEP 8 (checked with ruff)",
                "Validation reuses Django forms or model validation, not ad hoc checks",
                "Every mutation has tests for success, validation failure and forbidden access",
            ],
            "estimated_hours": 12,
            "weight": 2,
            "prerequisites": ["graphql-schema-queries"],
            "resources": [
                ("GraphQL: Mutations", "https://graphql.org/learn/mutations/"),
                (
                    "Graphene: Mutations",
                    "https://docs.graphene-python.org/en/latest/types/mutations/",
                ),
                (
                    "Graphene-Django: Mutations",
                    "https://docs.graphene-python.org/projects/django/en/latest/mutations/",
                ),
                ("GraphQL: Best practices", "https://graphql.org/learn/best-practices/"),
            ],
            "tasks": [
                {
                    "title": "Create an author",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Write a `createAuthor(name, email)` mutation that returns
`author` and `errors`, where each error has `field` and `messages`.

```graphql
mutation {
  createAuthor(name: "Chimamanda", email: "not-an-email") {
    author { id name }
    errors { field messages }
  }
}
```

```json
{"data": {"createAuthor": {"author": null,
  "errors": [{"field": "email", "messages": ["Enter a valid email address."]}]}}}
```

Validate with an `AuthorForm` (a `ModelForm`), so the rules match the rest of the site.
A duplicate email is a field error, not a server error.
""",
                    "repo": "prodev-backend-graphql",
                    "directory": "graphql-0x01",
                    "files": ["catalog/mutations.py", "catalog/forms.py"],
                },
                {
                    "title": "Create a book with an input type",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Define `BookInput` as a `graphene.InputObjectType` and a
`createBook(input: BookInput!)` mutation. The ISBN must be a valid ISBN-13 (check digit
included); the author is given by global Relay id.

```python
class BookInput(graphene.InputObjectType):
    title = graphene.String(required=True)
    isbn = graphene.String(required=True)
    genre = graphene.String()
    author_id = graphene.ID(required=True)
    published_on = graphene.Date()
```

Decode the author id with `graphql_relay.from_global_id`, check that it names an
`AuthorNode`, and answer a field error when the author does not exist.
""",
                    "repo": "prodev-backend-graphql",
                    "directory": "graphql-0x01",
                    "files": ["catalog/mutations.py"],
                },
                {
                    "title": "Bulk reviews with partial success",
                    "kind": "mandatory",
                    "points": 15,
                    "body": """Write `submitReviews(reviews: [ReviewInput!]!)` that saves every
valid review and reports the invalid ones by index, using a savepoint per item so that one
bad review does not roll back the others.

```python
for index, item in enumerate(reviews):
    form = ReviewForm(item)
    if not form.is_valid():
        errors.append(ItemError(index=index, messages=form.errors.get_json_data()))
        continue
    with transaction.atomic():
        saved.append(form.save())
```

```json
{"data": {"submitReviews": {"saved": [{"id": "UmV2aWV3OjE="}],
  "errors": [{"index": 1, "messages": "{...}"}]}}}
```

Cap the list at 50 items and answer a top-level error beyond that.
""",
                    "repo": "prodev-backend-graphql",
                    "directory": "graphql-0x01",
                    "files": ["catalog/mutations.py"],
                },
                {
                    "title": "Authorize writes",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Writes require a logged-in user; editing or deleting a book requires
that the book's author is linked to the current user (`Author.user`), or staff. Read
`info.context.user` in `mutate`, and factor the check into a small decorator:

```python
def login_required(mutate):
    @functools.wraps(mutate)
    def wrapper(root, info, **kwargs):
        if not info.context.user.is_authenticated:
            raise GraphQLError("Authentication required.", extensions={"code": "UNAUTHENTICATED"})
        return mutate(root, info, **kwargs)
    return wrapper
```

A book the user may not edit behaves as if it did not exist.
""",
                    "repo": "prodev-backend-graphql",
                    "directory": "graphql-0x01",
                    "files": ["catalog/auth.py", "catalog/mutations.py"],
                },
                {
                    "title": "Limit query depth",
                    "kind": "advanced",
                    "points": 15,
                    "body": """Reject any operation deeper than 6 levels before it runs, using
Graphene's `depth_limit_validator` as a validation rule on the view.

```python
from graphene.validation import depth_limit_validator

path(
    "graphql/",
    GraphQLView.as_view(
        graphiql=settings.DEBUG,
        validation_rules=(depth_limit_validator(max_depth=6),),
    ),
)
```

Write a test with a deliberately cyclic query (`book { author { books { author { ... } } } }`)
and assert the error message. Disable introspection in production with
`DisableIntrospection` and explain the trade-off in `SECURITY.md`.
""",
                    "repo": "prodev-backend-graphql",
                    "directory": "graphql-0x01",
                    "files": ["config/urls.py", "SECURITY.md"],
                },
                {
                    "title": "Optimistic concurrency on updates",
                    "kind": "advanced",
                    "points": 15,
                    "body": """Two editors open the same book, both save; the second silently
overwrites the first. Add a `version` integer to `Book` and an `updateBook(id, version,
input)` mutation that only applies when the version matches, in one conditional `UPDATE`.

```python
updated = Book.objects.filter(pk=pk, version=version).update(
    **changes, version=F("version") + 1
)
if not updated:
    return UpdateBook(errors=[FieldError(field="version", messages=["Book changed; reload."])])
```

Test the race by running two updates with the same starting version.
""",
                    "repo": "prodev-backend-graphql",
                    "directory": "graphql-0x01",
                    "files": ["catalog/models.py", "catalog/mutations.py"],
                },
            ],
        },
    ],
}

_DOCKER: dict = {
    "slug": "docker",
    "title": "Docker",
    "summary": (
        "Package applications as small, secure images and run multi-service stacks "
        "reproducibly with Docker Compose."
    ),
    "objectives": [
        "Explain images, containers, layers and registries, and how they relate",
        "Write Dockerfiles that build fast, cache well and produce small images",
        "Run containers securely: non-root users, minimal images, no secrets in layers",
        "Describe multi-service applications with Docker Compose",
        "Manage configuration, data and start-up order with environment variables, "
        "volumes and health checks",
    ],
    "projects": [
        {
            "slug": "docker-containerize-django",
            "title": "Containerize a Django Application",
            "summary": (
                "Turn the Workshops site into a production-ready image: a clean Dockerfile, "
                "fast rebuilds, a non-root user, a health check and a multi-stage build."
            ),
            "description": """"It works on my machine" stops being an excuse when the machine ships
with the code. A Docker **image** bundles your application with the exact operating system
packages, Python version and dependencies it needs; a **container** is a running instance
of that image, isolated from its neighbours and started in milliseconds.

In this project you containerize the Workshops Django site. You begin with the basic
commands, write a first Dockerfile that simply works, and then improve it the way a
platform team would review it:

- **Speed**: order instructions so that a code change does not reinstall dependencies.
- **Size**: build wheels in one stage and copy only what runs into a slim final stage.
- **Safety**: run as an unprivileged user, never bake secrets into a layer.
- **Operability**: a health check, logs on stdout, and a single process per container.

You will measure each improvement (build time, image size) and record the numbers, so
the reasoning behind every line of the final Dockerfile is visible.
""",
            "concepts": [
                "Images and containers",
                "Dockerfile",
                "Layer caching",
                "Multi-stage builds",
                "Health checks",
            ],
            "objectives": [
                "By the end of this project you can run, inspect and clean up containers",
                "You can write a Dockerfile for a Python web application served by gunicorn",
                "You can order layers for fast rebuilds and exclude files with .dockerignore",
                "You can run containers as a non-root user with a health check",
                "You can shrink images with multi-stage builds",
            ],
            "requirements": [
                "Docker Engine 24 or later with BuildKit",
                "Images are based on an official python:3.12-slim image",
                "No secret, .env file or database file ever ends up in an image",
                "Containers log to stdout and stderr",
                "Every Dockerfile passes hadolint with no errors",
            ],
            "estimated_hours": 10,
            "weight": 2,
            "prerequisites": ["django-mvt-foundations"],
            "resources": [
                ("Docker docs: Get started", "https://docs.docker.com/get-started/"),
                ("Dockerfile reference", "https://docs.docker.com/reference/dockerfile/"),
                (
                    "Docker docs: Multi-stage builds",
                    "https://docs.docker.com/build/building/multi-stage/",
                ),
                (
                    "Docker docs: Building best practices",
                    "https://docs.docker.com/build/building/best-practices/",
                ),
            ],
            "tasks": [
                {
                    "title": "Container basics",
                    "kind": "mandatory",
                    "points": 5,
                    "body": """Answer the questions in `BASICS.md`, each with the exact command you
ran and its (trimmed) output:

1. Run an interactive Python 3.12 shell in a throwaway container.
2. Run `nginx` in the background on host port 8080 and fetch its home page.
3. Show the container's logs, then stop and remove it.
4. List images and explain the difference between an image and a container.
5. Remove every stopped container and dangling image in one command.

```bash
$ docker run --rm -it python:3.12-slim python -c "import sys; print(sys.version)"
3.12.9 (main, ...) [GCC 12.2.0]
$ docker run -d --name web -p 8080:80 nginx:stable
$ curl -sI localhost:8080 | head -1
HTTP/1.1 200 OK
```
""",
                    "repo": "prodev-backend-docker",
                    "directory": "docker-0x00",
                    "files": ["BASICS.md"],
                },
                {
                    "title": "A first Dockerfile",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Write a Dockerfile that runs the Workshops site with gunicorn on port
8000.

```dockerfile
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .

EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
```

```bash
$ docker build -t workshops:dev .
$ docker run --rm -p 8000:8000 -e DJANGO_SECRET_KEY=dev workshops:dev
[INFO] Listening at: http://0.0.0.0:8000
```

Explain in a comment why the exec form `CMD ["gunicorn", ...]` is preferred over the
shell form (think about signals and `docker stop`).
""",
                    "repo": "prodev-backend-docker",
                    "directory": "docker-0x00",
                    "files": ["Dockerfile"],
                },
                {
                    "title": "Fast rebuilds and a clean context",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Write a `.dockerignore` that excludes version control, virtual
environments, caches, local databases and `.env` files. Then measure:

| change | rebuild time before | rebuild time after |
| --- | --- | --- |
| edit a view | | |
| add a dependency | | |

```text
.git
.venv
__pycache__/
*.sqlite3
.env
node_modules/
```

```bash
$ docker build -t workshops:dev . 2>&1 | grep -E "CACHED|DONE" | head
```

Record your numbers in `BUILD.md` and explain which layer the cache reused in each case.
""",
                    "repo": "prodev-backend-docker",
                    "directory": "docker-0x00",
                    "files": [".dockerignore", "BUILD.md"],
                },
                {
                    "title": "Run as a non-root user with a health check",
                    "kind": "mandatory",
                    "points": 15,
                    "body": """Create a system user `app` with no login shell and switch to it
before `CMD`. Add a `/healthz/` view to the site that returns 200 when the database
answers, and a `HEALTHCHECK` that runs a tiny `healthcheck.py` script (the slim image has
no curl): it requests `http://127.0.0.1:8000/healthz/` with `urllib.request` and a
2-second timeout, and exits non-zero on any error.

```dockerfile
RUN useradd --system --no-create-home --shell /usr/sbin/nologin app
COPY --chown=app:app healthcheck.py /app/healthcheck.py
USER app
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s CMD ["python", "healthcheck.py"]
```

```bash
$ docker run -d --name w workshops:dev && sleep 15
$ docker inspect --format "{{.State.Health.Status}}" w
healthy
$ docker exec w id -un
app
```
""",
                    "repo": "prodev-backend-docker",
                    "directory": "docker-0x00",
                    "files": ["Dockerfile", "healthcheck.py", "workshops/views.py"],
                },
                {
                    "title": "Multi-stage build",
                    "kind": "advanced",
                    "points": 15,
                    "body": """Split the Dockerfile into a `builder` stage that compiles wheels
(with build tools and headers installed) and a `runtime` stage that installs only those
wheels. The final image must not contain `gcc` or pip's cache, and must be at least 30%
smaller.

```dockerfile
FROM python:3.12-slim AS builder
RUN apt-get update && apt-get install -y --no-install-recommends build-essential libpq-dev
COPY requirements.txt .
RUN pip wheel --no-cache-dir --wheel-dir /wheels -r requirements.txt

FROM python:3.12-slim AS runtime
COPY --from=builder /wheels /wheels
RUN pip install --no-cache-dir /wheels/* && rm -rf /wheels
```

```bash
$ docker image ls workshops
REPOSITORY   TAG      SIZE
workshops    single   612MB
workshops    multi    198MB
```
""",
                    "repo": "prodev-backend-docker",
                    "directory": "docker-0x00",
                    "files": ["Dockerfile", "BUILD.md"],
                },
                {
                    "title": "An entrypoint for one-off start-up work",
                    "kind": "advanced",
                    "points": 10,
                    "body": """Write `docker-entrypoint.sh` that, when `RUN_MIGRATIONS=1`, runs
`migrate --noinput` before handing over to the container command with `exec "$@"`, so
that gunicorn becomes PID 1 and receives signals. Static files are collected at build
time, not at start.

```bash
#!/bin/sh
set -eu
if [ "${RUN_MIGRATIONS:-0}" = "1" ]; then
    python manage.py migrate --noinput
fi
exec "$@"
```

```bash
$ docker run --rm -e RUN_MIGRATIONS=1 workshops:multi
Operations to perform: ...
[INFO] Starting gunicorn 23.0.0
```

Explain in `BUILD.md` why running migrations from every web replica at once is risky and
what you would do instead in production.
""",
                    "repo": "prodev-backend-docker",
                    "directory": "docker-0x00",
                    "files": ["docker-entrypoint.sh", "Dockerfile"],
                },
            ],
        },
        {
            "slug": "docker-compose-stack",
            "title": "Multi-Service Stacks with Docker Compose",
            "summary": (
                "Run Workshops with PostgreSQL, Redis and a background worker in one "
                "Compose file, with health checks, volumes, development overrides and backups."
            ),
            "description": """A real backend is rarely one process. Workshops in production needs a
web server, a PostgreSQL database, a Redis instance for caching and queues, and a worker
for background jobs. Starting them by hand with the right networks, volumes and
environment variables is tedious and error-prone. **Docker Compose** describes the whole
stack in one `compose.yaml` file that anyone on the team can start with one command.

In this project you build that stack step by step and make it trustworthy:

1. Services talk to each other by name on a private network; only the web port is published.
2. Data lives in named volumes and survives `docker compose down`.
3. Start-up order is driven by health checks, not by `sleep`.
4. Configuration comes from the environment, and secrets stay out of the repository.
5. Developers get live reload through an override file; production gets restart policies
   and resource limits.

By the end, `docker compose up` gives any newcomer a running copy of the product in
minutes, and you can back up and restore its database with one script.
""",
            "concepts": [
                "Docker Compose",
                "Networks",
                "Volumes",
                "Health checks",
                "Environment configuration",
                "Secrets",
            ],
            "objectives": [
                "By the end of this project you can describe a multi-service app in compose.yaml",
                "You can persist data with named volumes and control start-up with health checks",
                "You can configure services with environment variables and .env files",
                "You can layer development and production settings with override files",
                "You can back up and restore a containerized database",
            ],
            "requirements": [
                "Docker Engine 24 or later with the Compose v2 plugin (docker compose)",
                "docker compose config runs without warnings",
                "Only the web service publishes a port",
                "No password appears in compose.yaml or in the repository",
                "A fresh clone runs with: cp .env.example .env && docker compose up",
            ],
            "estimated_hours": 12,
            "weight": 2,
            "prerequisites": ["docker-containerize-django"],
            "resources": [
                ("Docker Compose overview", "https://docs.docker.com/compose/"),
                ("Compose file reference", "https://docs.docker.com/reference/compose-file/"),
                (
                    "Docker docs: Control startup order in Compose",
                    "https://docs.docker.com/compose/how-tos/startup-order/",
                ),
                ("Docker docs: Volumes", "https://docs.docker.com/engine/storage/volumes/"),
                (
                    "PostgreSQL docs: pg_dump",
                    "https://www.postgresql.org/docs/current/app-pgdump.html",
                ),
            ],
            "tasks": [
                {
                    "title": "Web and database",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Write `compose.yaml` with two services: `web` (built from your
Dockerfile) and `db` (`postgres:16`), and a named volume for the database files.

```yaml
services:
  db:
    image: postgres:16
    environment:
      POSTGRES_DB: workshops
      POSTGRES_USER: workshops
      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD in .env}
    volumes:
      - pgdata:/var/lib/postgresql/data
  web:
    build: .
    ports:
      - "8000:8000"
    environment:
      DATABASE_URL: postgres://workshops:${POSTGRES_PASSWORD}@db:5432/workshops

volumes:
  pgdata:
```

```bash
$ docker compose up -d && docker compose ps
NAME          SERVICE   STATUS         PORTS
app-db-1      db        Up 5 seconds   5432/tcp
app-web-1     web       Up 4 seconds   0.0.0.0:8000->8000/tcp
```

Show that data survives `docker compose down` and is gone after `down -v`.
""",
                    "repo": "prodev-backend-docker",
                    "directory": "docker-0x01",
                    "files": ["compose.yaml"],
                },
                {
                    "title": "Configuration from the environment",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Move every setting that differs between environments into environment
variables: commit `.env.example` with safe placeholders, ignore `.env` in git, and load
it into `web` with `env_file`.

```bash
$ cat .env.example
DJANGO_SECRET_KEY=change-me
DJANGO_DEBUG=0
DJANGO_ALLOWED_HOSTS=localhost,127.0.0.1
POSTGRES_PASSWORD=change-me
$ docker compose config | grep -A3 "environment:"
```

In `settings.py`, refuse to start when `DJANGO_SECRET_KEY` is missing and `DEBUG` is off,
with an error message that says which variable to set.
""",
                    "repo": "prodev-backend-docker",
                    "directory": "docker-0x01",
                    "files": [".env.example", "compose.yaml", "config/settings.py"],
                },
                {
                    "title": "Health checks and start-up order",
                    "kind": "mandatory",
                    "points": 15,
                    "body": """`depends_on` alone only waits for a container to *start*, not for
PostgreSQL to accept connections. Add a health check to `db`, a one-shot `migrate`
service, and make `web` wait for both.

```yaml
  db:
    healthcheck:
      test: ["CMD-SHELL", "pg_isready -U workshops -d workshops"]
      interval: 5s
      timeout: 3s
      retries: 10
  migrate:
    build: .
    command: ["python", "manage.py", "migrate", "--noinput"]
    depends_on:
      db:
        condition: service_healthy
  web:
    depends_on:
      migrate:
        condition: service_completed_successfully
```

Prove it: `docker compose down -v && docker compose up` must never show a
"connection refused" error from Django.
""",
                    "repo": "prodev-backend-docker",
                    "directory": "docker-0x01",
                    "files": ["compose.yaml"],
                },
                {
                    "title": "Add Redis and a worker",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Add `redis` (`redis:7-alpine`, with a health check using
`redis-cli ping`) and a `worker` service that runs the same image as `web` with a
different command. The worker publishes no port.

```yaml
  worker:
    build: .
    command: ["celery", "-A", "config", "worker", "--loglevel=info"]
    env_file: .env
    depends_on:
      redis:
        condition: service_healthy
```

```bash
$ docker compose logs worker | tail -2
worker-1  | [tasks]
worker-1  |   . workshops.tasks.send_booking_email
```

Explain in `README.md` why `web` and `worker` should share one image.
""",
                    "repo": "prodev-backend-docker",
                    "directory": "docker-0x01",
                    "files": ["compose.yaml", "README.md"],
                },
                {
                    "title": "A development override",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Create `compose.override.yaml`, which Compose merges automatically in
development: mount the source code into `web`, run `runserver` for live reload, turn on
`DEBUG`, and publish PostgreSQL on `127.0.0.1:5432` for local tools.

```yaml
services:
  web:
    command: ["python", "manage.py", "runserver", "0.0.0.0:8000"]
    volumes:
      - .:/app
    environment:
      DJANGO_DEBUG: "1"
  db:
    ports:
      - "127.0.0.1:5432:5432"
```

Edit a template and show the change without rebuilding. Document how to start the stack
*without* the override (`docker compose -f compose.yaml up`).
""",
                    "repo": "prodev-backend-docker",
                    "directory": "docker-0x01",
                    "files": ["compose.override.yaml", "README.md"],
                },
                {
                    "title": "Production hardening",
                    "kind": "advanced",
                    "points": 15,
                    "body": """Write `compose.prod.yaml` for a single-server deployment:

- the database password comes from a Compose **secret** file, read through
  `POSTGRES_PASSWORD_FILE`;
- `restart: unless-stopped` on every long-running service;
- memory and CPU limits under `deploy.resources.limits`;
- the web container runs with `read_only: true` and a `tmpfs` for `/tmp`.

```bash
$ docker compose -f compose.yaml -f compose.prod.yaml config --quiet && echo valid
valid
$ docker compose -f compose.yaml -f compose.prod.yaml up -d
```

Explain in `PRODUCTION.md` which of these settings would move to the orchestrator
(Kubernetes, ECS, ...) in a larger deployment.
""",
                    "repo": "prodev-backend-docker",
                    "directory": "docker-0x01",
                    "files": ["compose.prod.yaml", "PRODUCTION.md"],
                },
                {
                    "title": "Back up and restore the database",
                    "kind": "advanced",
                    "points": 15,
                    "body": """Write `scripts/db-backup.sh` and `scripts/db-restore.sh`. Backups use
`pg_dump` in custom format inside the `db` container, streamed to a timestamped file on
the host; restores use `pg_restore --clean --if-exists`.

```bash
#!/usr/bin/env bash
set -euo pipefail
stamp=$(date -u +%Y%m%dT%H%M%SZ)
docker compose exec -T db pg_dump -U workshops -d workshops -Fc > "backups/workshops-$stamp.dump"
echo "backups/workshops-$stamp.dump"
```

Test the round trip: create a booking, back up, delete the booking, restore, and check
that it is back. Keep only the 7 most recent backups.
""",
                    "repo": "prodev-backend-docker",
                    "directory": "docker-0x01",
                    "files": ["scripts/db-backup.sh", "scripts/db-restore.sh"],
                },
            ],
        },
    ],
}

_CICD: dict = {
    "slug": "ci-cd",
    "title": "CI/CD",
    "summary": (
        "Automate linting, testing, building and deploying with GitHub Actions so that every "
        "change is verified and shipping is routine."
    ),
    "objectives": [
        "Explain continuous integration, delivery and deployment and the problems they solve",
        "Write GitHub Actions workflows with triggers, jobs, steps, matrices and caching",
        "Run tests against real services (PostgreSQL, Redis) in CI",
        "Manage secrets, environments and approvals safely",
        "Build, publish and deploy container images, and roll back when things go wrong",
    ],
    "projects": [
        {
            "slug": "github-actions-ci",
            "title": "Continuous Integration with GitHub Actions",
            "summary": (
                "Give the Workshops repository a CI pipeline: lint, test against PostgreSQL, "
                "a version matrix, caching, coverage reports and reusable workflows."
            ),
            "description": """Continuous integration means every change is merged often and verified
automatically: the code is linted, the test suite runs against real services, and the
result shows up on the pull request before anyone reviews it. A red check is cheap; a bug
found in production is not.

In this project you write the CI pipeline for the Workshops repository with **GitHub
Actions**. A workflow is a YAML file in `.github/workflows/`; it runs **jobs** on
**runners** in response to **events** such as `push` or `pull_request`, and each job is a
list of **steps** that run commands or reuse published actions.

| job | what it proves | typical time |
| --- | --- | --- |
| lint | style and obvious bugs | 15 s |
| test | behaviour, against PostgreSQL | 1-2 min |
| coverage | nothing untested slipped in | included in test |

You will also make the pipeline fast (dependency caching, cancelling superseded runs)
and maintainable (a reusable workflow shared by several repositories).
""",
            "concepts": [
                "Continuous integration",
                "GitHub Actions",
                "Service containers",
                "Build matrix",
                "Caching",
                "Artifacts",
            ],
            "objectives": [
                "By the end of this project you can write workflows triggered by pushes "
                "and pull requests",
                "You can run a Django test suite against a PostgreSQL service container",
                "You can test several Python versions with a matrix and cache dependencies",
                "You can publish coverage reports as artifacts and job summaries",
                "You can factor shared steps into a reusable workflow",
            ],
            "requirements": [
                "Workflows live in .github/workflows/ and pass actionlint",
                "Actions are pinned to a major version or a commit SHA",
                "Workflows request the least permissions they need",
                "The pipeline finishes in under five minutes",
            ],
            "estimated_hours": 10,
            "weight": 2,
            "prerequisites": ["docker-compose-stack"],
            "resources": [
                ("GitHub Actions documentation", "https://docs.github.com/en/actions"),
                (
                    "Workflow syntax for GitHub Actions",
                    "https://docs.github.com/en/actions/writing-workflows/workflow-syntax-for-github-actions",
                ),
                (
                    "About service containers",
                    "https://docs.github.com/en/actions/using-containerized-services/about-service-containers",
                ),
                (
                    "Reusing workflows",
                    "https://docs.github.com/en/actions/sharing-automations/reusing-workflows",
                ),
            ],
            "tasks": [
                {
                    "title": "Lint on every push",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Write `.github/workflows/ci.yml` with a `lint` job that runs on every
push and pull request to `main`, and fails when `ruff check` or `ruff format --check`
fails.

```yaml
name: CI
on:
  push:
    branches: [main]
  pull_request:

permissions:
  contents: read

jobs:
  lint:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - run: pip install ruff
      - run: ruff check .
      - run: ruff format --check .
```

Open a pull request with a deliberate style error and link the failing run in your
`README.md`.
""",
                    "repo": "prodev-backend-cicd",
                    "directory": "cicd-0x00",
                    "files": [".github/workflows/ci.yml"],
                },
                {
                    "title": "Test against PostgreSQL",
                    "kind": "mandatory",
                    "points": 15,
                    "body": """Add a `test` job that starts PostgreSQL 16 as a **service
container**, waits for it with a health check and runs the Django test suite against it.

```yaml
  test:
    runs-on: ubuntu-latest
    services:
      postgres:
        image: postgres:16
        env:
          POSTGRES_PASSWORD: postgres
        ports: ["5432:5432"]
        options: >-
          --health-cmd "pg_isready -U postgres"
          --health-interval 5s --health-timeout 3s --health-retries 10
    env:
      DATABASE_URL: postgres://postgres:postgres@localhost:5432/postgres
      DJANGO_SECRET_KEY: ci-only-not-secret
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - run: pip install -r requirements.txt
      - run: python manage.py test --parallel
```

The password here is a throwaway for an ephemeral container; explain in a comment why
that is acceptable and a production password never would be.
""",
                    "repo": "prodev-backend-cicd",
                    "directory": "cicd-0x00",
                    "files": [".github/workflows/ci.yml"],
                },
                {
                    "title": "A matrix and a cache",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Run the tests on Python 3.12 and 3.13, and cache pip downloads keyed
on `requirements.txt` so that unchanged dependencies install in seconds.

```yaml
    strategy:
      fail-fast: false
      matrix:
        python-version: ["3.12", "3.13"]
    steps:
      - uses: actions/setup-python@v5
        with:
          python-version: ${{ matrix.python-version }}
          cache: pip
          cache-dependency-path: requirements.txt
```

Compare two runs (cold and warm cache) and record the install times in `CI.md`.
""",
                    "repo": "prodev-backend-cicd",
                    "directory": "cicd-0x00",
                    "files": [".github/workflows/ci.yml", "CI.md"],
                },
                {
                    "title": "Coverage reports",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Run the tests under `coverage`, fail under 85%, upload the HTML
report as an artifact and write the summary table to the job summary page.

```yaml
      - run: coverage run manage.py test
      - run: coverage report --fail-under=85
      - run: coverage report --format=markdown >> "$GITHUB_STEP_SUMMARY"
        if: always()
      - uses: actions/upload-artifact@v4
        if: always()
        with:
          name: coverage-html-${{ matrix.python-version }}
          path: htmlcov/
          retention-days: 7
```

Upload the artifact even when tests fail: that is exactly when you need it.
""",
                    "repo": "prodev-backend-cicd",
                    "directory": "cicd-0x00",
                    "files": [".github/workflows/ci.yml"],
                },
                {
                    "title": "Faster feedback: concurrency and path filters",
                    "kind": "advanced",
                    "points": 10,
                    "body": """Cancel an in-progress run when a newer commit is pushed to the same
branch, and skip the workflow when only documentation changed.

```yaml
on:
  pull_request:
    paths-ignore:
      - "docs/**"
      - "**.md"

concurrency:
  group: ci-${{ github.ref }}
  cancel-in-progress: true
```

Then protect `main`: require the `lint` and `test` checks to pass before merging.
Because skipped workflows never report, explain in `CI.md` how you keep required checks
from blocking documentation-only pull requests.
""",
                    "repo": "prodev-backend-cicd",
                    "directory": "cicd-0x00",
                    "files": [".github/workflows/ci.yml", "CI.md"],
                },
                {
                    "title": "A reusable workflow",
                    "kind": "advanced",
                    "points": 15,
                    "body": """Move the test job into `.github/workflows/python-tests.yml`,
triggered by `workflow_call` with inputs for the Python versions and the coverage
threshold, and call it from `ci.yml`.

```yaml
on:
  workflow_call:
    inputs:
      python-versions:
        type: string
        default: '["3.12"]'
      fail-under:
        type: number
        default: 85
```

```yaml
jobs:
  tests:
    uses: ./.github/workflows/python-tests.yml
    with:
      python-versions: '["3.12", "3.13"]'
      fail-under: 90
```

Parse `python-versions` into the matrix with `fromJSON`.
""",
                    "repo": "prodev-backend-cicd",
                    "directory": "cicd-0x00",
                    "files": [".github/workflows/python-tests.yml", ".github/workflows/ci.yml"],
                },
            ],
        },
        {
            "slug": "continuous-delivery",
            "title": "Continuous Delivery: Build, Release and Deploy",
            "summary": (
                "Publish versioned images to a registry, deploy automatically to staging, "
                "promote to production with an approval, and roll back in one click."
            ),
            "description": """Continuous **delivery** means every change that passes CI produces an
artifact that *could* go to production; continuous **deployment** means it actually does,
automatically. Both rely on the same discipline: build once, tag immutably, deploy the
same artifact everywhere, and make rolling back as boring as rolling forward.

In this project you extend the Workshops pipeline past the tests. A merge to `main`
builds the Docker image and pushes it to the GitHub Container Registry, tagged with the
commit SHA. The staging server pulls that exact image and a smoke test checks it. A human
approves promotion to production through a protected **environment**, and a separate
workflow redeploys any earlier tag when something goes wrong.

Secrets (registry tokens, SSH keys) live in GitHub environments, scoped to the jobs that
need them, and never appear in logs. You will also keep dependencies current and scanned,
so that the pipeline protects you from other people's bugs as well as your own.
""",
            "concepts": [
                "Continuous delivery",
                "Container registry",
                "Image tagging",
                "Environments and approvals",
                "Secrets",
                "Rollback",
            ],
            "objectives": [
                "By the end of this project you can build and publish images from a workflow",
                "You can tag images immutably and trace a deployment back to a commit",
                "You can deploy to staging automatically and gate production with approvals",
                "You can store and scope secrets with GitHub environments",
                "You can roll back to a previous release and keep dependencies scanned",
            ],
            "requirements": [
                "Images are pushed to ghcr.io and tagged with the full commit SHA",
                "No secret is printed in logs or committed to the repository",
                "Deploy jobs only run from main and only after CI passes",
                "Every deployment ends with an automated smoke test",
            ],
            "estimated_hours": 14,
            "weight": 2,
            "prerequisites": ["github-actions-ci"],
            "resources": [
                (
                    "Working with the Container registry",
                    "https://docs.github.com/en/packages/working-with-a-github-packages-registry/working-with-the-container-registry",
                ),
                (
                    "Managing environments for deployment",
                    "https://docs.github.com/en/actions/managing-workflow-runs-and-deployments/managing-deployments/managing-environments-for-deployment",
                ),
                (
                    "Using secrets in GitHub Actions",
                    "https://docs.github.com/en/actions/security-for-github-actions/security-guides/using-secrets-in-github-actions",
                ),
                (
                    "Docker docs: GitHub Actions",
                    "https://docs.docker.com/build/ci/github-actions/",
                ),
            ],
            "tasks": [
                {
                    "title": "Build and push the image",
                    "kind": "mandatory",
                    "points": 15,
                    "body": """Write `.github/workflows/release.yml`, triggered on pushes to `main`,
that builds the image and pushes it to `ghcr.io/<owner>/workshops` tagged with the commit
SHA and `main`. Use the built-in `GITHUB_TOKEN` with `packages: write` only.

```yaml
permissions:
  contents: read
  packages: write

jobs:
  image:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: docker/login-action@v3
        with:
          registry: ghcr.io
          username: ${{ github.actor }}
          password: ${{ secrets.GITHUB_TOKEN }}
      - uses: docker/build-push-action@v6
        with:
          push: true
          tags: |
            ghcr.io/${{ github.repository_owner }}/workshops:${{ github.sha }}
            ghcr.io/${{ github.repository_owner }}/workshops:main
          cache-from: type=gha
          cache-to: type=gha,mode=max
```

Add OCI labels so that `docker inspect` shows the source repository and revision.
""",
                    "repo": "prodev-backend-cicd",
                    "directory": "cicd-0x01",
                    "files": [".github/workflows/release.yml"],
                },
                {
                    "title": "Environments and secrets",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Create two GitHub environments, `staging` and `production`. Store the
SSH host, user and private key of each server as **environment secrets**, and the public
URL as an environment variable. Production requires a reviewer and only accepts
deployments from `main`.

```yaml
  deploy-staging:
    needs: image
    runs-on: ubuntu-latest
    environment:
      name: staging
      url: ${{ vars.PUBLIC_URL }}
```

Document the setup in `DEPLOY.md` as step-by-step instructions (no screenshots) that a
new teammate could follow, and explain why environment secrets are safer than repository
secrets here.
""",
                    "repo": "prodev-backend-cicd",
                    "directory": "cicd-0x01",
                    "files": [".github/workflows/release.yml", "DEPLOY.md"],
                },
                {
                    "title": "Deploy to staging with a smoke test",
                    "kind": "mandatory",
                    "points": 15,
                    "body": """The `deploy-staging` job runs `scripts/ssh-deploy.sh TAG`, which
connects over SSH and runs `scripts/deploy.sh TAG` on the server: it pins the new image
tag in the server's `.env`, pulls, restarts with Compose. The job then checks the health
endpoint.

```bash
#!/usr/bin/env bash
# scripts/deploy.sh TAG
set -euo pipefail
tag="$1"
cd /srv/workshops
sed -i "s/^IMAGE_TAG=.*/IMAGE_TAG=$tag/" .env
docker compose pull web worker
docker compose up -d --remove-orphans
```

```bash
$ curl --fail --retry 10 --retry-delay 3 --retry-all-errors "$PUBLIC_URL/healthz/"
ok
```

The job fails (and the run turns red) if the smoke test fails.
""",
                    "repo": "prodev-backend-cicd",
                    "directory": "cicd-0x01",
                    "files": [
                        ".github/workflows/release.yml",
                        "scripts/ssh-deploy.sh",
                        "scripts/deploy.sh",
                    ],
                },
                {
                    "title": "Promote to production with approval",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Add `deploy-production`, which needs `deploy-staging`, targets the
`production` environment (so it pauses for a reviewer) and deploys **the same SHA** that
passed staging. Never rebuild between environments.

```yaml
  deploy-production:
    needs: deploy-staging
    runs-on: ubuntu-latest
    environment:
      name: production
      url: ${{ vars.PUBLIC_URL }}
    steps:
      - uses: actions/checkout@v4
      - run: ./scripts/ssh-deploy.sh "${{ github.sha }}"
        env:
          SSH_HOST: ${{ secrets.SSH_HOST }}
          SSH_KEY: ${{ secrets.SSH_KEY }}
```

Write in `DEPLOY.md` what the reviewer should check before approving.
""",
                    "repo": "prodev-backend-cicd",
                    "directory": "cicd-0x01",
                    "files": [".github/workflows/release.yml", "DEPLOY.md"],
                },
                {
                    "title": "One-click rollback",
                    "kind": "advanced",
                    "points": 15,
                    "body": """Write `.github/workflows/rollback.yml`, started manually with
`workflow_dispatch`, that takes an environment and an image tag, checks that the tag
exists in the registry, and redeploys it with the same script and smoke test.

```yaml
on:
  workflow_dispatch:
    inputs:
      environment:
        type: environment
        required: true
      tag:
        description: "Image tag (commit SHA) to redeploy"
        required: true
```

```bash
$ docker manifest inspect "ghcr.io/acme/workshops:$TAG" > /dev/null && echo "tag exists"
```

Explain in `DEPLOY.md` why database migrations must stay backward compatible for one
release for this rollback to be safe.
""",
                    "repo": "prodev-backend-cicd",
                    "directory": "cicd-0x01",
                    "files": [".github/workflows/rollback.yml", "DEPLOY.md"],
                },
                {
                    "title": "Keep dependencies current and scanned",
                    "kind": "advanced",
                    "points": 10,
                    "body": """Configure Dependabot for pip, Docker and GitHub Actions (weekly,
grouped minor and patch updates), and a scheduled workflow that runs `pip-audit` every
Monday and fails on known vulnerabilities.

```yaml
version: 2
updates:
  - package-ecosystem: pip
    directory: /
    schedule:
      interval: weekly
    groups:
      minor-and-patch:
        update-types: [minor, patch]
  - package-ecosystem: github-actions
    directory: /
    schedule:
      interval: weekly
```

```yaml
on:
  schedule:
    - cron: "0 6 * * 1"
```
""",
                    "repo": "prodev-backend-cicd",
                    "directory": "cicd-0x01",
                    "files": [".github/dependabot.yml", ".github/workflows/audit.yml"],
                },
            ],
        },
    ],
}

_DATABASES: dict = {
    "slug": "database-design",
    "title": "Database Design",
    "summary": (
        "Design relational schemas that protect their data, query them fluently in SQL and "
        "keep them fast as they grow."
    ),
    "objectives": [
        "Model a domain with entities, relationships and an ERD",
        "Normalize schemas to third normal form and know when to denormalize",
        "Write DDL with keys, constraints and indexes that enforce business rules",
        "Query with joins, subqueries, aggregations and window functions",
        "Measure and improve performance with EXPLAIN ANALYZE, indexes and partitioning",
        "Use the Django ORM efficiently: related loading, annotations, constraints and locking",
    ],
    "projects": [
        {
            "slug": "database-schema-design",
            "title": "Schema Design for an Event Ticketing Platform",
            "summary": (
                "Turn business requirements into an ERD, a normalized PostgreSQL schema with "
                "constraints and indexes, and realistic seed data."
            ),
            "description": """The schema outlives every line of application code written on top of
it. A well-designed schema makes invalid states impossible to store; a careless one turns
every feature into a data-cleaning exercise. This project is about getting that foundation
right before a single query runs in production.

You design the database of **Gatepass**, a platform where venues host events, events
sell several ticket types, and customers buy tickets in orders paid by card or mobile
money. You start from the business rules, draw an entity-relationship diagram, walk a
messy spreadsheet through the normal forms, and write the PostgreSQL DDL.

Business rules you must enforce **in the database**, not only in the application:

- an event ends after it starts, and a venue never hosts two events at the same time;
- a ticket type's price is never negative and its quantity is positive;
- a customer's email is unique, case-insensitively;
- an order line's price is copied at purchase time, so later price changes do not rewrite
  history.

You finish with a seed script that produces enough realistic data to make the next
project's performance work meaningful.
""",
            "concepts": [
                "Entity-relationship modeling",
                "Normalization",
                "Primary and foreign keys",
                "Constraints",
                "Indexes",
            ],
            "objectives": [
                "By the end of this project you can turn requirements into entities "
                "and relationships",
                "You can draw an ERD and explain each relationship's cardinality",
                "You can normalize a schema to third normal form",
                "You can enforce business rules with constraints",
                "You can write repeatable schema and seed scripts",
            ],
            "requirements": [
                "PostgreSQL 16; scripts run with psql -v ON_ERROR_STOP=1",
                "Every table has a primary key and every foreign key is indexed",
                "Identifiers are lowercase snake_case; no reserved words as names",
                "schema.sql and seed.sql can be run twice without errors",
            ],
            "estimated_hours": 10,
            "weight": 2,
            "prerequisites": [],
            "resources": [
                (
                    "PostgreSQL docs: Constraints",
                    "https://www.postgresql.org/docs/current/ddl-constraints.html",
                ),
                (
                    "PostgreSQL docs: Data types",
                    "https://www.postgresql.org/docs/current/datatype.html",
                ),
                (
                    "PostgreSQL docs: Indexes",
                    "https://www.postgresql.org/docs/current/indexes.html",
                ),
                (
                    "Mermaid: Entity relationship diagrams",
                    "https://mermaid.js.org/syntax/entityRelationshipDiagram.html",
                ),
            ],
            "tasks": [
                {
                    "title": "Requirements and the ERD",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """List every entity, its attributes and its relationships in
`requirements.md`, then draw the ERD in `ERD.md` with Mermaid so it renders on GitHub.

```mermaid
erDiagram
    VENUE ||--o{ EVENT : hosts
    EVENT ||--|{ TICKET_TYPE : sells
    CUSTOMER ||--o{ PURCHASE : places
    PURCHASE ||--|{ PURCHASE_ITEM : contains
    TICKET_TYPE ||--o{ PURCHASE_ITEM : "is bought as"
    PURCHASE ||--o| PAYMENT : "is paid by"
```

For each relationship, write one sentence that justifies its cardinality (for example:
why can a purchase exist without a payment?).
""",
                    "repo": "prodev-backend-databases",
                    "directory": "database-0x00",
                    "files": ["requirements.md", "ERD.md"],
                },
                {
                    "title": "Normalize a spreadsheet",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """The sales team tracks orders in one wide sheet:

| order_id | email | name | event | venue | city | ticket | price | qty |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
| 1001 | ama@example.com | Ama Owusu | Jazz Night | Blue Hall | Accra | VIP | 150.00 | 2 |

In `normalization.md`, identify the repeating groups, partial dependencies and transitive
dependencies, and show the tables after each of 1NF, 2NF and 3NF. End with the final
table list and the functional dependencies each table keeps.

```text
purchase_item(purchase_id, ticket_type_id) -> quantity, unit_price
ticket_type(ticket_type_id) -> event_id, name, price, quantity
event(event_id) -> venue_id, title, starts_at, ends_at
```

Name one place where you would deliberately denormalize, and what would keep it correct.
""",
                    "repo": "prodev-backend-databases",
                    "directory": "database-0x00",
                    "files": ["normalization.md"],
                },
                {
                    "title": "Write the schema",
                    "kind": "mandatory",
                    "points": 15,
                    "body": """Write `schema.sql` for PostgreSQL: tables, keys, `NOT NULL`, `CHECK`
and `UNIQUE` constraints, an enum for purchase status, and an index on every foreign key.

```sql
CREATE TYPE purchase_status AS ENUM ('pending', 'paid', 'refunded', 'cancelled');

CREATE TABLE IF NOT EXISTS ticket_type (
    ticket_type_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id        bigint NOT NULL REFERENCES event (event_id) ON DELETE CASCADE,
    name            text NOT NULL,
    price_cents     integer NOT NULL CHECK (price_cents >= 0),
    quantity        integer NOT NULL CHECK (quantity > 0),
    UNIQUE (event_id, name)
);
CREATE INDEX IF NOT EXISTS ticket_type_event_id_idx ON ticket_type (event_id);
```

Store money as integer cents, never as `float`. Make customer emails unique regardless
of case with a unique index on `lower(email)`.

```bash
$ psql -v ON_ERROR_STOP=1 -d gatepass -f schema.sql && psql -d gatepass -c "\\dt"
```
""",
                    "repo": "prodev-backend-databases",
                    "directory": "database-0x00",
                    "files": ["schema.sql"],
                },
                {
                    "title": "Seed realistic data",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Write `seed.sql` that inserts a small hand-written data set (3
venues, 10 events, 25 ticket types, 20 customers, 40 purchases) and then uses
`generate_series` to add 100,000 purchases for performance work.

```sql
INSERT INTO purchase (customer_id, status, created_at)
SELECT 1 + (random() * 19)::int,
       'paid',
       now() - (random() * interval '365 days')
FROM generate_series(1, 100000);
```

Every inserted row must satisfy your constraints: if the seed fails, fix the seed, not the
constraint. Print row counts per table at the end.
""",
                    "repo": "prodev-backend-databases",
                    "directory": "database-0x00",
                    "files": ["seed.sql"],
                },
                {
                    "title": "Impossible states, enforced",
                    "kind": "advanced",
                    "points": 15,
                    "body": """Enforce the rule "a venue never hosts two events at the same time"
with an exclusion constraint, ignoring cancelled events.

```sql
CREATE EXTENSION IF NOT EXISTS btree_gist;

ALTER TABLE event
    ADD CONSTRAINT event_no_overlap
    EXCLUDE USING gist (venue_id WITH =, tstzrange(starts_at, ends_at) WITH &&)
    WHERE (status <> 'cancelled');
```

Write `constraints_test.sql`, which tries every forbidden insert inside a transaction and
shows that each is refused with the expected error, then rolls back.

```text
ERROR:  conflicting key value violates exclusion constraint "event_no_overlap"
```
""",
                    "repo": "prodev-backend-databases",
                    "directory": "database-0x00",
                    "files": ["constraints.sql", "constraints_test.sql"],
                },
            ],
        },
        {
            "slug": "sql-advanced-queries",
            "title": "Advanced SQL and Query Performance",
            "summary": (
                "Answer real business questions with joins, subqueries, aggregates and window "
                "functions, then make them fast with EXPLAIN ANALYZE, indexes and partitioning."
            ),
            "description": """ORMs are convenient until a report takes forty seconds. At that point
you need to read and write SQL fluently and to understand what the database actually does
with your query. This project builds both skills on the Gatepass schema and its 100,000
seeded purchases.

The first half is about **expressiveness**: the questions the business asks ("top events
per city", "revenue running total", "customers who never bought twice") and the SQL
constructs that answer each in one statement.

The second half is about **performance**. You read query plans, learn to tell a
sequential scan from an index scan and a nested loop from a hash join, add the indexes a
workload needs (and no more), rewrite a slow report, and partition the biggest table by
month. Every claim you make is backed by `EXPLAIN (ANALYZE, BUFFERS)` output before and
after.

| skill | files |
| --- | --- |
| joins and subqueries | `joins.sql`, `subqueries.sql` |
| aggregates and windows | `aggregations.sql` |
| indexing and plans | `indexes.sql`, `index_performance.md` |
| optimization | `performance.sql`, `optimization_report.md` |
| partitioning and monitoring | `partitioning.sql`, `monitoring.md` |
""",
            "concepts": [
                "Joins",
                "Subqueries",
                "Aggregations",
                "Window functions",
                "Query plans",
                "Indexing",
                "Partitioning",
            ],
            "objectives": [
                "By the end of this project you can choose the right join for a question",
                "You can write correlated and non-correlated subqueries and CTEs",
                "You can rank and accumulate with window functions",
                "You can read EXPLAIN ANALYZE output and find the expensive node",
                "You can justify each index and partition a large table",
            ],
            "requirements": [
                "PostgreSQL 16 with the Gatepass schema and seed from the previous project",
                "Every query is preceded by a comment stating the question it answers",
                "Performance claims include EXPLAIN (ANALYZE, BUFFERS) output before and after",
                "SQL keywords are uppercase and formatted consistently",
            ],
            "estimated_hours": 16,
            "weight": 3,
            "prerequisites": ["database-schema-design"],
            "resources": [
                (
                    "PostgreSQL docs: Table expressions and joins",
                    "https://www.postgresql.org/docs/current/queries-table-expressions.html",
                ),
                (
                    "PostgreSQL tutorial: Window functions",
                    "https://www.postgresql.org/docs/current/tutorial-window.html",
                ),
                (
                    "PostgreSQL docs: Using EXPLAIN",
                    "https://www.postgresql.org/docs/current/using-explain.html",
                ),
                (
                    "PostgreSQL docs: Table partitioning",
                    "https://www.postgresql.org/docs/current/ddl-partitioning.html",
                ),
                (
                    "PostgreSQL docs: pg_stat_statements",
                    "https://www.postgresql.org/docs/current/pgstatstatements.html",
                ),
            ],
            "tasks": [
                {
                    "title": "Joins",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Write three queries in `joins.sql`:

1. Every paid purchase with the customer's name and email (`INNER JOIN`).
2. Every event with its ticket types, **including events with no ticket types yet**
   (`LEFT JOIN`).
3. Every customer and every purchase, matched where possible, so that customers without
   purchases and purchases whose customer was anonymized both appear (`FULL OUTER JOIN`).

```sql
-- Events and their ticket types, including events not yet on sale
SELECT e.event_id, e.title, tt.name AS ticket_type, tt.price_cents
FROM event AS e
LEFT JOIN ticket_type AS tt ON tt.event_id = e.event_id
ORDER BY e.starts_at, tt.price_cents;
```

For query 2, explain what happens to the unmatched events if you move a condition on
`tt.price_cents` from the `ON` clause to the `WHERE` clause.
""",
                    "repo": "prodev-backend-databases",
                    "directory": "database-0x01",
                    "files": ["joins.sql"],
                },
                {
                    "title": "Subqueries and CTEs",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """In `subqueries.sql`:

1. Events whose revenue is above the average event revenue (non-correlated subquery).
2. Customers who made more than three paid purchases (correlated subquery).
3. The same as 2, rewritten with a CTE and a join; compare both plans.

```sql
-- Customers with more than three paid purchases
SELECT c.customer_id, c.full_name
FROM customer AS c
WHERE (
    SELECT count(*)
    FROM purchase AS p
    WHERE p.customer_id = c.customer_id AND p.status = 'paid'
) > 3;
```
""",
                    "repo": "prodev-backend-databases",
                    "directory": "database-0x01",
                    "files": ["subqueries.sql"],
                },
                {
                    "title": "Aggregates and window functions",
                    "kind": "mandatory",
                    "points": 15,
                    "body": """In `aggregations.sql`:

1. Tickets sold and revenue per event (`GROUP BY`), only events with at least 10 sales
   (`HAVING`).
2. Rank events by revenue **within each city** with `RANK()` and keep the top 3 per city.
3. Daily revenue with a running total over the year (`SUM() OVER (ORDER BY day)`).

```sql
SELECT e.title,
       v.city,
       sum(pi.quantity * pi.unit_price_cents) AS revenue_cents,
       rank() OVER (
           PARTITION BY v.city
           ORDER BY sum(pi.quantity * pi.unit_price_cents) DESC
       ) AS city_rank
FROM event AS e
JOIN venue AS v ON v.venue_id = e.venue_id
JOIN ticket_type AS tt ON tt.event_id = e.event_id
JOIN purchase_item AS pi ON pi.ticket_type_id = tt.ticket_type_id
GROUP BY e.event_id, e.title, v.city;
```

Explain the difference between `RANK`, `DENSE_RANK` and `ROW_NUMBER` with an example
from your data where they disagree.
""",
                    "repo": "prodev-backend-databases",
                    "directory": "database-0x01",
                    "files": ["aggregations.sql"],
                },
                {
                    "title": "Indexes, measured",
                    "kind": "mandatory",
                    "points": 15,
                    "body": """Find the columns your queries filter, join and sort on, and add only
the indexes that help. For each one, record the plan and timing before and after in
`index_performance.md`.

```sql
EXPLAIN (ANALYZE, BUFFERS)
SELECT * FROM purchase
WHERE customer_id = 42 AND created_at >= now() - interval '30 days';

CREATE INDEX CONCURRENTLY purchase_customer_created_idx
    ON purchase (customer_id, created_at DESC);
```

```text
Before: Seq Scan on purchase ... (actual time=0.02..18.41 rows=6 loops=1)
After:  Index Scan using purchase_customer_created_idx ... (actual time=0.03..0.05 rows=6)
```

Explain why the column order in a composite index matters, and name one index you
considered and rejected.
""",
                    "repo": "prodev-backend-databases",
                    "directory": "database-0x01",
                    "files": ["indexes.sql", "index_performance.md"],
                },
                {
                    "title": "Optimize a slow report",
                    "kind": "mandatory",
                    "points": 15,
                    "body": """`performance.sql` contains the finance team's monthly report: every
paid purchase with customer, items, ticket types, events, venues and payments, filtered in
the application afterwards. Make it at least 10 times faster without changing its result.

Typical moves: select only needed columns, filter early, replace `SELECT DISTINCT` hiding
a bad join, aggregate before joining, and add a supporting index.

```sql
WITH month_items AS (
    SELECT pi.ticket_type_id, sum(pi.quantity * pi.unit_price_cents) AS revenue_cents
    FROM purchase AS p
    JOIN purchase_item AS pi ON pi.purchase_id = p.purchase_id
    WHERE p.status = 'paid'
      AND p.created_at >= date_trunc('month', now())
    GROUP BY pi.ticket_type_id
)
SELECT ...;
```

Write `optimization_report.md` with the original plan, each change you made, its effect
and the final plan.
""",
                    "repo": "prodev-backend-databases",
                    "directory": "database-0x01",
                    "files": ["performance.sql", "optimization_report.md"],
                },
                {
                    "title": "Partition purchases by month",
                    "kind": "advanced",
                    "points": 20,
                    "body": """Create `purchase_partitioned`, range-partitioned on `created_at` by
month, with a default partition, copy the data across, and compare a one-month query on
both tables.

```sql
CREATE TABLE purchase_partitioned (
    purchase_id  bigint NOT NULL,
    customer_id  bigint NOT NULL,
    status       purchase_status NOT NULL,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (purchase_id, created_at)
) PARTITION BY RANGE (created_at);

CREATE TABLE purchase_2025_03 PARTITION OF purchase_partitioned
    FOR VALUES FROM ('2025-03-01') TO ('2025-04-01');
```

Show partition pruning in the plan, and explain why the primary key must include the
partition key. Generate the twelve monthly partitions with a `DO` block rather than by
hand.
""",
                    "repo": "prodev-backend-databases",
                    "directory": "database-0x01",
                    "files": ["partitioning.sql", "partition_performance.md"],
                },
                {
                    "title": "Monitor query performance",
                    "kind": "advanced",
                    "points": 10,
                    "body": """Enable `pg_stat_statements`, run your application's workload for a
few minutes, and report the five statements with the highest total execution time.

```sql
SELECT calls,
       round(total_exec_time::numeric, 1) AS total_ms,
       round(mean_exec_time::numeric, 2) AS mean_ms,
       left(query, 80) AS query
FROM pg_stat_statements
ORDER BY total_exec_time DESC
LIMIT 5;
```

For each, say whether it deserves attention (a frequent cheap query can matter more than
a rare slow one) and what you would do about it, in `monitoring.md`.
""",
                    "repo": "prodev-backend-databases",
                    "directory": "database-0x01",
                    "files": ["monitoring.md"],
                },
            ],
        },
        {
            "slug": "django-orm-optimization",
            "title": "Efficient Data Access with the Django ORM",
            "summary": (
                "Bring the SQL lessons back to Django: eliminate N+1 queries, aggregate in the "
                "database, declare constraints and indexes, and lock rows to prevent overselling."
            ),
            "description": """The Django ORM writes SQL for you, which is exactly why it is easy to
write *bad* SQL without noticing. A template that loops over purchases and prints each
customer's name runs one query per row. A view that counts tickets in Python loads a
hundred thousand objects to produce one number. Two customers buying the last ticket at
the same moment can both succeed.

In this project you port Gatepass to Django models and fix each of those problems with
the right ORM tool: `select_related` and `prefetch_related` for related data, `annotate`
and `aggregate` to compute in the database, `Meta.constraints` and `Meta.indexes` to keep
the rules from the SQL project, and `select_for_update` inside `transaction.atomic` to make
the purchase flow safe under concurrency.

Every fix is proven by a test that counts queries or simulates the race, so it stays
fixed.
""",
            "concepts": [
                "N+1 queries",
                "select_related and prefetch_related",
                "Annotations and aggregation",
                "Model constraints",
                "Transactions and row locking",
                "Data migrations",
            ],
            "objectives": [
                "By the end of this project you can detect and fix N+1 queries",
                "You can compute aggregates in the database with annotate and aggregate",
                "You can declare constraints and indexes on models",
                "You can prevent race conditions with transactions and row locks",
                "You can write reversible data migrations and process large tables in batches",
            ],
            "requirements": [
                "Ubuntu 22.04, Python 3.12, Django 5.2 LTS, PostgreSQL 16",
                "Code follows PEP 8 (checked with ruff)",
                "Every optimization is covered by an assertNumQueries test",
                "Migrations are reversible",
            ],
            "estimated_hours": 14,
            "weight": 2,
            "prerequisites": ["sql-advanced-queries", "django-mvt-foundations"],
            "resources": [
                (
                    "Django docs: Database access optimization",
                    "https://docs.djangoproject.com/en/stable/topics/db/optimization/",
                ),
                (
                    "Django docs: Aggregation",
                    "https://docs.djangoproject.com/en/stable/topics/db/aggregation/",
                ),
                (
                    "Django docs: Constraints reference",
                    "https://docs.djangoproject.com/en/stable/ref/models/constraints/",
                ),
                (
                    "Django docs: Database transactions",
                    "https://docs.djangoproject.com/en/stable/topics/db/transactions/",
                ),
                (
                    "Django docs: QuerySet API reference",
                    "https://docs.djangoproject.com/en/stable/ref/models/querysets/",
                ),
            ],
            "tasks": [
                {
                    "title": "Find and fix an N+1",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """The purchase list page prints each purchase's customer and event.
Write a test that fails because the page runs one query per purchase, then fix the view
with `select_related`.

```python
def test_purchase_list_is_constant(self):
    PurchaseFactory.create_batch(30)
    with self.assertNumQueries(3):  # session, user, purchases
        self.client.get(reverse("purchases:list"))
```

Install `django-debug-toolbar` in development and describe in `ORM.md` what its SQL panel
showed before and after the fix (query count, duplicated queries, total time).
""",
                    "repo": "prodev-backend-databases",
                    "directory": "database-0x02",
                    "files": ["gatepass/views.py", "gatepass/tests/test_queries.py", "ORM.md"],
                },
                {
                    "title": "Prefetch with intent",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """An event page lists ticket types with, for each, the five most recent
paid purchase items. Use a `Prefetch` object with a filtered, ordered queryset and
`to_attr`.

```python
events = Event.objects.prefetch_related(
    Prefetch(
        "ticket_types",
        queryset=TicketType.objects.order_by("price_cents"),
    ),
    Prefetch(
        "ticket_types__items",
        queryset=PurchaseItem.objects.filter(purchase__status="paid")
        .select_related("purchase__customer")
        .order_by("-purchase__created_at"),
        to_attr="paid_items",
    ),
)
```

Explain in `ORM.md` why slicing inside a `Prefetch` queryset needs care, and how you
limited the list to five.
""",
                    "repo": "prodev-backend-databases",
                    "directory": "database-0x02",
                    "files": ["gatepass/views.py", "ORM.md"],
                },
                {
                    "title": "Aggregate in the database",
                    "kind": "mandatory",
                    "points": 15,
                    "body": """Write `gatepass/reports.py` with functions that return numbers
computed in one query each:

- `event_sales()`: events annotated with `tickets_sold` and `revenue_cents`;
- `sold_out_ticket_types()`: ticket types where sold quantity reached capacity, using
  `F()` expressions;
- `revenue_by_status()`: one dict of totals per purchase status, using `filter=Q(...)`.

```python
Event.objects.annotate(
    tickets_sold=Coalesce(Sum("ticket_types__items__quantity"), 0),
    revenue_cents=Coalesce(
        Sum(F("ticket_types__items__quantity") * F("ticket_types__items__unit_price_cents")),
        0,
    ),
)
```

Beware of combining two multi-valued `annotate()` calls: show the wrong result it can
produce and how you avoided it.
""",
                    "repo": "prodev-backend-databases",
                    "directory": "database-0x02",
                    "files": ["gatepass/reports.py", "gatepass/tests/test_reports.py"],
                },
                {
                    "title": "Constraints and indexes on models",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Declare on the models the rules you enforced in SQL: a non-negative
price, a positive quantity, one ticket type name per event, a case-insensitive unique
email, and a partial index for pending purchases.

```python
class Meta:
    constraints = [
        models.CheckConstraint(condition=Q(price_cents__gte=0), name="price_not_negative"),
        models.UniqueConstraint(fields=["event", "name"], name="unique_ticket_type_name"),
    ]
    indexes = [
        models.Index(
            fields=["created_at"],
            name="pending_purchase_created_idx",
            condition=Q(status="pending"),
        ),
    ]
```

Test that violating each constraint raises `IntegrityError`, and that `full_clean()`
reports it as a validation error first.
""",
                    "repo": "prodev-backend-databases",
                    "directory": "database-0x02",
                    "files": ["gatepass/models.py", "gatepass/tests/test_constraints.py"],
                },
                {
                    "title": "Never oversell the last ticket",
                    "kind": "mandatory",
                    "points": 20,
                    "body": """Write `buy_tickets(customer, ticket_type_id, quantity)` in
`gatepass/services.py`. It locks the ticket type row, checks the remaining stock, creates
the purchase and its item, and commits, all in one transaction.

```python
@transaction.atomic
def buy_tickets(customer, ticket_type_id, quantity):
    ticket_type = TicketType.objects.select_for_update().get(pk=ticket_type_id)
    if ticket_type.remaining < quantity:
        raise SoldOut(ticket_type)
    purchase = Purchase.objects.create(customer=customer, status=Purchase.Status.PENDING)
    purchase.items.create(
        ticket_type=ticket_type,
        quantity=quantity,
        unit_price_cents=ticket_type.price_cents,
    )
    return purchase
```

Write a `TransactionTestCase` (marked to run on PostgreSQL) that starts two threads buying
the last ticket at the same time and asserts that exactly one succeeds.
""",
                    "repo": "prodev-backend-databases",
                    "directory": "database-0x02",
                    "files": ["gatepass/services.py", "gatepass/tests/test_concurrency.py"],
                },
                {
                    "title": "A reversible data migration",
                    "kind": "advanced",
                    "points": 15,
                    "body": """Split `Customer.full_name` into `first_name` and `last_name` without
losing data: add the columns, fill them in a `RunPython` migration that processes rows in
batches of 2,000, and provide a reverse function that rebuilds `full_name`.

```python
def split_names(apps, schema_editor):
    Customer = apps.get_model("gatepass", "Customer")
    batch = []
    for customer in Customer.objects.only("full_name").iterator(chunk_size=2000):
        customer.first_name, _, customer.last_name = customer.full_name.partition(" ")
        batch.append(customer)
        if len(batch) == 2000:
            Customer.objects.bulk_update(batch, ["first_name", "last_name"])
            batch.clear()
    Customer.objects.bulk_update(batch, ["first_name", "last_name"])
```

Test the migration forwards and backwards with `MigrationExecutor`.
""",
                    "repo": "prodev-backend-databases",
                    "directory": "database-0x02",
                    "files": ["gatepass/migrations/0004_split_customer_name.py"],
                },
                {
                    "title": "Export a million rows in constant memory",
                    "kind": "advanced",
                    "points": 15,
                    "body": """Write a management command `export_purchases --since 2025-01-01` that
writes a CSV of purchases with their customer email and total, streaming rows with
`values_list(...).iterator(chunk_size=5000)` so memory stays flat.

```bash
$ /usr/bin/time -v python manage.py export_purchases --since 2025-01-01 > purchases.csv
Maximum resident set size (kbytes): 71240
$ wc -l purchases.csv
100001 purchases.csv
```

Compute the total with an annotation, not in Python, and compare peak memory with a naive
version that iterates over model instances.
""",
                    "repo": "prodev-backend-databases",
                    "directory": "database-0x02",
                    "files": ["gatepass/management/commands/export_purchases.py"],
                },
            ],
        },
    ],
}

_ASYNC: dict = {
    "slug": "async-programming",
    "title": "Asynchronous Programming",
    "summary": (
        "Do many things at once: asyncio coroutines and tasks, asynchronous I/O with databases "
        "and HTTP, and background jobs with Celery."
    ),
    "objectives": [
        "Explain the event loop, coroutines, tasks and when concurrency helps",
        "Run work concurrently with gather, as_completed, TaskGroup and timeouts",
        "Write async generators, comprehensions and context managers",
        "Perform asynchronous database and HTTP I/O with bounded concurrency",
        "Move slow work out of the request cycle with Celery workers and schedules",
        "Write asynchronous Django views where they pay off",
    ],
    "projects": [
        {
            "slug": "python-async-basics",
            "title": "Async Python: Coroutines and Tasks",
            "summary": (
                "Learn asyncio by simulating a fleet of slow sensors: coroutines, concurrent "
                "reads, tasks, async generators, deadlines and bounded concurrency."
            ),
            "description": """Most backend code waits: for the database, for another API, for a
file. While one request waits, the CPU could be serving another. `asyncio` makes that
explicit. A **coroutine** (`async def`) can pause at every `await`, and the **event loop**
runs other coroutines in the meantime, all in a single thread.

In this project you simulate a fleet of environmental sensors, each taking a random time
to answer. Reading them one after the other takes the *sum* of their latencies; reading
them concurrently takes roughly the *maximum*. You will measure that difference, then
learn the tools to control concurrency precisely: tasks, completion order, async
generators, deadlines with cancellation, and limits on how many operations run at once.

> Concurrency is not parallelism: asyncio helps when work *waits*, not when it
> *computes*. A CPU-bound loop inside a coroutine blocks every other coroutine.

Everything here uses the standard library only, so you can focus on the model rather
than on a framework.
""",
            "concepts": [
                "Coroutines",
                "Event loop",
                "asyncio.gather",
                "Tasks",
                "Async generators",
                "Cancellation",
            ],
            "objectives": [
                "By the end of this project you can write and run coroutines with asyncio.run",
                "You can run coroutines concurrently and collect results in completion order",
                "You can create and manage tasks and explain how they differ from coroutines",
                "You can write async generators and async comprehensions",
                "You can enforce deadlines and concurrency limits safely",
            ],
            "requirements": [
                "All files run on Ubuntu 22.04 with Python 3.12",
                "Code follows PEP 8 (checked with ruff)",
                "All functions and coroutines are type-annotated",
                "Only the standard library is used; no time.sleep in any coroutine",
            ],
            "estimated_hours": 10,
            "weight": 2,
            "prerequisites": ["python-generators"],
            "resources": [
                ("Python docs: asyncio", "https://docs.python.org/3/library/asyncio.html"),
                (
                    "Python docs: Coroutines and tasks",
                    "https://docs.python.org/3/library/asyncio-task.html",
                ),
                (
                    "Python docs: Developing with asyncio",
                    "https://docs.python.org/3/library/asyncio-dev.html",
                ),
                ("PEP 525: Asynchronous generators", "https://peps.python.org/pep-0525/"),
            ],
            "tasks": [
                {
                    "title": "A slow sensor",
                    "kind": "mandatory",
                    "points": 5,
                    "body": """Write a coroutine `read_sensor(sensor_id: str, max_latency: float =
1.0)` that waits a random time between 0 and `max_latency` seconds with `asyncio.sleep`,
then returns a `Reading` dataclass with the sensor id, a random temperature between 15.0
and 35.0, and the latency it waited.

```python
>>> import asyncio
>>> read_sensor = __import__("0-read_sensor").read_sensor
>>> asyncio.run(read_sensor("kitchen", 0.5))
Reading(sensor_id='kitchen', celsius=22.7, latency=0.31)
```

Explain in the docstring what `read_sensor("kitchen")` returns when you call it
*without* `await` or `asyncio.run`.
""",
                    "repo": "prodev-backend-async",
                    "directory": "async-0x00",
                    "files": ["0-read_sensor.py"],
                },
                {
                    "title": "Read many sensors at once",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Write `read_all(sensor_ids: list[str], max_latency: float) ->
list[Reading]` that reads every sensor concurrently and returns the readings **in the
order they finished**, using `asyncio.as_completed`. Do not sort.

```python
>>> readings = asyncio.run(read_all(["a", "b", "c", "d"], 1.0))
>>> [r.latency for r in readings]
[0.12, 0.38, 0.61, 0.94]
```

Then write `read_all_ordered`, which returns readings in input order with
`asyncio.gather`, and explain in a comment when each is preferable.
""",
                    "repo": "prodev-backend-async",
                    "directory": "async-0x00",
                    "files": ["1-read_all.py"],
                },
                {
                    "title": "Measure the difference",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Write `measure(n: int, max_latency: float) -> dict` that times
reading `n` sensors sequentially (one `await` after another) and concurrently
(`read_all`), using `time.perf_counter`, and returns both durations.

```bash
$ python3 2-measure.py 20 0.5
sequential: 5.12s  concurrent: 0.49s  speed-up: 10.4x
```

Explain the numbers: why is the concurrent time close to `max_latency` and not to
`max_latency / n`?
""",
                    "repo": "prodev-backend-async",
                    "directory": "async-0x00",
                    "files": ["2-measure.py"],
                },
                {
                    "title": "Tasks",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Write a *regular* function `schedule_reading(sensor_id, max_latency)
-> asyncio.Task` that wraps `read_sensor` in a task, and a coroutine `read_all_tasks` that
schedules every reading first and awaits them afterwards.

```python
async def main():
    task = schedule_reading("garage", 1.0)
    print(task.done())   # False: scheduled, not finished
    reading = await task
    print(task.done())   # True
```

Keep a reference to every task you create, and explain in a comment what can happen to a
task nobody references (see the note under `asyncio.create_task` in the docs).
""",
                    "repo": "prodev-backend-async",
                    "directory": "async-0x00",
                    "files": ["3-tasks.py"],
                },
                {
                    "title": "Async generators and comprehensions",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Write an async generator `stream_readings(sensor_id, interval,
count)` that yields a reading every `interval` seconds, `count` times, and a coroutine
`hot_readings(sensor_id, threshold)` that collects the readings above `threshold` with an
**async comprehension**.

```python
async def hot_readings(sensor_id: str, threshold: float) -> list[Reading]:
    return [r async for r in stream_readings(sensor_id, 0.1, 10) if r.celsius > threshold]
```

```python
>>> len(asyncio.run(hot_readings("roof", 30.0)))
3
```
""",
                    "repo": "prodev-backend-async",
                    "directory": "async-0x00",
                    "files": ["4-async_generators.py"],
                },
                {
                    "title": "Deadlines and cancellation",
                    "kind": "advanced",
                    "points": 15,
                    "body": """Write `read_before(sensor_ids, deadline: float) -> dict[str, Reading
| None]` that reads every sensor inside an `asyncio.TaskGroup`, gives each read at most
`deadline` seconds with `asyncio.timeout`, and reports `None` for sensors that were too
slow.

```python
async def _read_or_none(sensor_id, deadline):
    try:
        async with asyncio.timeout(deadline):
            return await read_sensor(sensor_id, 2.0)
    except TimeoutError:
        return None
```

```python
>>> asyncio.run(read_before(["a", "b", "c"], 0.5))
{'a': Reading(...), 'b': None, 'c': Reading(...)}
```

Show that a sensor raising an unexpected exception cancels the other reads, and explain
why that is the behaviour you want from a `TaskGroup`.
""",
                    "repo": "prodev-backend-async",
                    "directory": "async-0x00",
                    "files": ["5-deadlines.py"],
                },
                {
                    "title": "Bounded concurrency",
                    "kind": "advanced",
                    "points": 15,
                    "body": """Reading 10,000 sensors at once would open 10,000 connections. Write
`read_bounded(sensor_ids, limit: int)` that never has more than `limit` reads in flight,
using an `asyncio.Semaphore`, and prove it by tracking the peak number of concurrent reads.

```python
semaphore = asyncio.Semaphore(limit)

async def guarded(sensor_id):
    async with semaphore:
        return await read_sensor(sensor_id, 0.1)
```

```bash
$ python3 6-bounded.py 1000 --limit 50
read 1000 sensors, peak in flight: 50, elapsed: 1.07s
```
""",
                    "repo": "prodev-backend-async",
                    "directory": "async-0x00",
                    "files": ["6-bounded.py"],
                },
            ],
        },
        {
            "slug": "async-io-databases-http",
            "title": "Async I/O: Databases and HTTP",
            "summary": (
                "Apply asyncio to real I/O: concurrent database queries with aiosqlite, "
                "HTTP calls with httpx, producer-consumer queues and rate limiting."
            ),
            "description": """Simulated sleeps teach the model; real I/O teaches the pitfalls.
Database drivers and HTTP clients need async-aware libraries (a blocking call inside a
coroutine freezes the event loop), connections must be closed even when a coroutine is
cancelled, and remote services will time out, fail and rate-limit you.

In this project you query the users database from *Python Generators* concurrently with
`aiosqlite`, wrap connections in async context managers, call a public HTTP API with
`httpx.AsyncClient` with timeouts and retries, and coordinate a small crawler with a
producer-consumer `asyncio.Queue`. You finish with a token-bucket rate limiter that keeps
you within a partner API's limits.

| file | topic |
| --- | --- |
| `0-concurrent_queries.py` | `asyncio.gather` over database queries |
| `1-async_database.py` | `__aenter__` and `__aexit__` |
| `2-http_client.py` | `httpx.AsyncClient`, timeouts, retries |
| `3-queue_workers.py` | `asyncio.Queue`, workers, graceful shutdown |
| `4-rate_limiter.py` | a token bucket |
""",
            "concepts": [
                "Async context managers",
                "aiosqlite",
                "httpx",
                "asyncio.Queue",
                "Rate limiting",
            ],
            "objectives": [
                "By the end of this project you can run database queries concurrently",
                "You can write async context managers that always release resources",
                "You can call HTTP APIs concurrently with timeouts and retries",
                "You can coordinate producers and consumers with asyncio.Queue",
                "You can respect external rate limits",
            ],
            "requirements": [
                "All files run on Ubuntu 22.04 with Python 3.12",
                "Code follows PEP 8 (checked with ruff)",
                "Dependencies: aiosqlite and httpx only, pinned in requirements.txt",
                "No blocking call (time.sleep, requests, sqlite3) inside a coroutine",
            ],
            "estimated_hours": 10,
            "weight": 2,
            "prerequisites": ["python-async-basics"],
            "resources": [
                ("aiosqlite documentation", "https://aiosqlite.omnilib.dev/en/stable/"),
                ("HTTPX: Async support", "https://www.python-httpx.org/async/"),
                (
                    "Python docs: asyncio queues",
                    "https://docs.python.org/3/library/asyncio-queue.html",
                ),
                (
                    "Python docs: contextlib.asynccontextmanager",
                    "https://docs.python.org/3/library/contextlib.html#contextlib.asynccontextmanager",
                ),
            ],
            "tasks": [
                {
                    "title": "Concurrent database queries",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Write `async_fetch_users()` and `async_fetch_older_users(min_age:
int)` with `aiosqlite`, and `fetch_concurrently()`, which runs both at once with
`asyncio.gather` and returns a tuple of their results.

```python
async def async_fetch_older_users(min_age: int = 40) -> list[aiosqlite.Row]:
    async with aiosqlite.connect(DB_PATH) as db:
        db.row_factory = aiosqlite.Row
        async with db.execute(
            "SELECT * FROM user_data WHERE age > ?", (min_age,)
        ) as cursor:
            return await cursor.fetchall()
```

```bash
$ python3 0-concurrent_queries.py
all users: 1000, older than 40: 497
```
""",
                    "repo": "prodev-backend-async",
                    "directory": "async-0x01",
                    "files": ["0-concurrent_queries.py"],
                },
                {
                    "title": "An async context manager",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Write a class `AsyncDatabase(path)` with `__aenter__` (opens the
connection and returns it) and `__aexit__` (commits on success, rolls back on error,
always closes).

```python
async with AsyncDatabase("users.db") as db:
    await db.execute("UPDATE user_data SET age = age + 1 WHERE user_id = ?", (uid,))
```

Write a test that cancels the coroutine in the middle of the block (`task.cancel()`) and
checks that the connection was still closed.
""",
                    "repo": "prodev-backend-async",
                    "directory": "async-0x01",
                    "files": ["1-async_database.py"],
                },
                {
                    "title": "Concurrent HTTP with timeouts and retries",
                    "kind": "mandatory",
                    "points": 15,
                    "body": """Write `fetch_many(urls: list[str]) -> dict[str, dict | Exception]`
that fetches JSON from every URL concurrently through **one shared** `httpx.AsyncClient`,
with a 5-second timeout and up to 3 retries on connection errors and 5xx responses
(exponential backoff). A failing URL maps to its exception; the others still succeed.

```python
async with httpx.AsyncClient(timeout=httpx.Timeout(5.0)) as client:
    results = await asyncio.gather(
        *(fetch_json(client, url) for url in urls), return_exceptions=True
    )
```

Test it with `httpx.MockTransport`, never against the real network.
""",
                    "repo": "prodev-backend-async",
                    "directory": "async-0x01",
                    "files": ["2-http_client.py", "tests/test_http_client.py"],
                },
                {
                    "title": "Producers, consumers and a queue",
                    "kind": "mandatory",
                    "points": 15,
                    "body": """Build a tiny crawler: a producer puts page numbers on an
`asyncio.Queue` (max size 20), and `n` workers fetch each page and store its items in the
database. Shut down cleanly when the producer is done and the queue is empty.

```python
async def worker(name, queue, client, db):
    while True:
        page = await queue.get()
        try:
            await store(db, await fetch_page(client, page))
        finally:
            queue.task_done()
```

```bash
$ python3 3-queue_workers.py --pages 100 --workers 5
stored 2,000 items from 100 pages with 5 workers in 4.3s
```

Explain why the queue has a maximum size (back-pressure).
""",
                    "repo": "prodev-backend-async",
                    "directory": "async-0x01",
                    "files": ["3-queue_workers.py"],
                },
                {
                    "title": "A token-bucket rate limiter",
                    "kind": "advanced",
                    "points": 15,
                    "body": """A partner API allows 10 requests per second with bursts of 20. Write
an `AsyncTokenBucket(rate: float, capacity: int)` with an `acquire()` coroutine that waits
until a token is available, using `loop.time()` and no busy-waiting.

```python
bucket = AsyncTokenBucket(rate=10, capacity=20)

async def polite_fetch(client, url):
    await bucket.acquire()
    return await client.get(url)
```

```bash
$ python3 4-rate_limiter.py --requests 100
first 20 immediate, then 10/s: 100 requests in 8.0s
```

It must stay correct when many coroutines call `acquire()` at once (hint: an
`asyncio.Lock`).
""",
                    "repo": "prodev-backend-async",
                    "directory": "async-0x01",
                    "files": ["4-rate_limiter.py"],
                },
            ],
        },
        {
            "slug": "celery-background-jobs",
            "title": "Background Jobs with Celery",
            "summary": (
                "Move slow work out of requests: Celery workers with a Redis broker, reliable "
                "email tasks, retries, schedules, task workflows and async Django views."
            ),
            "description": """A user who books a workshop should see "Booked!" in 100 milliseconds,
not wait three seconds while the site talks to an email provider that may be down. The fix
is to put slow or unreliable work on a **queue** and let separate **worker** processes do
it. The web request only records the intent.

Celery is the most widely used task queue for Python. In this project you connect the
Workshops site to Celery with Redis as the broker, then learn what makes background work
*reliable*, not just asynchronous:

- enqueue only after the database transaction commits, so workers never see missing rows;
- retry transient failures with backoff, and make every task **idempotent** so that a
  retry never sends two emails;
- schedule recurring work with Celery beat;
- compose tasks into workflows and report progress back to the user.

You also write an **async Django view** that calls two slow APIs concurrently, and you
learn to tell which problems need a background job and which just need `await`.
""",
            "concepts": [
                "Task queues",
                "Celery",
                "Message broker",
                "Idempotency",
                "Retries",
                "Periodic tasks",
                "Async views",
            ],
            "objectives": [
                "By the end of this project you can configure Celery with Django and Redis",
                "You can enqueue tasks safely after a transaction commits",
                "You can make tasks idempotent and retry them with backoff",
                "You can schedule periodic tasks with Celery beat",
                "You can compose tasks into workflows and write async Django views",
            ],
            "requirements": [
                "Ubuntu 22.04, Python 3.12, Django 5.2 LTS, Celery 5.4, Redis 7",
                "Code follows PEP 8 (checked with ruff)",
                "Task arguments are small and JSON-serializable (ids, not model instances)",
                "Every task is tested with CELERY_TASK_ALWAYS_EAGER or by calling it directly",
            ],
            "estimated_hours": 14,
            "weight": 3,
            "prerequisites": ["async-io-databases-http", "django-middleware-signals"],
            "resources": [
                (
                    "Celery: First steps with Django",
                    "https://docs.celeryq.dev/en/stable/django/first-steps-with-django.html",
                ),
                ("Celery: Tasks", "https://docs.celeryq.dev/en/stable/userguide/tasks.html"),
                (
                    "Celery: Periodic tasks",
                    "https://docs.celeryq.dev/en/stable/userguide/periodic-tasks.html",
                ),
                (
                    "Celery: Canvas, designing workflows",
                    "https://docs.celeryq.dev/en/stable/userguide/canvas.html",
                ),
                (
                    "Django docs: Asynchronous support",
                    "https://docs.djangoproject.com/en/stable/topics/async/",
                ),
            ],
            "tasks": [
                {
                    "title": "Connect Celery to Django",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Create `config/celery.py`, load it from `config/__init__.py`, and
read Celery settings from Django settings with the `CELERY_` prefix. The broker URL comes
from `REDIS_URL`.

```python
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
```

```bash
$ docker run -d --name redis -p 6379:6379 redis:7-alpine
$ celery -A config worker --loglevel=info
[config]
.> transport:   redis://localhost:6379/0
[tasks]
  . workshops.tasks.ping
```
""",
                    "repo": "prodev-backend-async",
                    "directory": "async-0x02",
                    "files": ["config/celery.py", "config/__init__.py", "workshops/tasks.py"],
                },
                {
                    "title": "Send the confirmation email in the background",
                    "kind": "mandatory",
                    "points": 15,
                    "body": """Write a task `send_booking_confirmation(booking_id)` that loads the
booking and sends the email, and enqueue it from the booking view **after commit**:

```python
@shared_task
def send_booking_confirmation(booking_id: int) -> None:
    booking = Booking.objects.select_related("learner", "session__workshop").get(pk=booking_id)
    send_mail(
        subject=f"You're booked: {booking.session.workshop.title}",
        message=render_to_string("emails/booking_confirmed.txt", {"booking": booking}),
        from_email=None,
        recipient_list=[booking.learner.email],
    )
```

```python
transaction.on_commit(lambda: send_booking_confirmation.delay(booking.pk))
```

Explain why the task receives an id and not the `Booking` object, and what could go wrong
if you called `.delay()` before the commit.
""",
                    "repo": "prodev-backend-async",
                    "directory": "async-0x02",
                    "files": ["workshops/tasks.py", "workshops/views.py"],
                },
                {
                    "title": "Retries and idempotency",
                    "kind": "mandatory",
                    "points": 15,
                    "body": """Email providers fail. Configure the task to retry on `SMTPException`
and connection errors with exponential backoff and jitter, at most 5 times, and make it
**idempotent**: record `confirmation_sent_at` and do nothing if it is already set.

```python
@shared_task(
    bind=True,
    autoretry_for=(SMTPException, ConnectionError),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=5,
    acks_late=True,
)
def send_booking_confirmation(self, booking_id: int) -> None:
    ...
```

Test that two executions of the task for the same booking send exactly one email
(`django.core.mail.outbox`). Explain what `acks_late` changes if a worker dies mid-task.
""",
                    "repo": "prodev-backend-async",
                    "directory": "async-0x02",
                    "files": ["workshops/tasks.py", "workshops/tests/test_tasks.py"],
                },
                {
                    "title": "A daily digest with Celery beat",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Every day at 07:00 UTC, send each host a digest of yesterday's
bookings. Schedule it with Celery beat and fan out one task per host rather than one giant
task.

```python
from celery.schedules import crontab

CELERY_BEAT_SCHEDULE = {
    "daily-host-digest": {
        "task": "workshops.tasks.queue_host_digests",
        "schedule": crontab(hour=7, minute=0),
    },
}
```

```bash
$ celery -A config beat --loglevel=info
Scheduler: Sending due task daily-host-digest (workshops.tasks.queue_host_digests)
```

Hosts with no bookings yesterday get no email.
""",
                    "repo": "prodev-backend-async",
                    "directory": "async-0x02",
                    "files": ["config/settings.py", "workshops/tasks.py"],
                },
                {
                    "title": "An async view for slow APIs",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """The workshop page shows the weather forecast and the local currency
rate for the venue's city, from two slow third-party APIs. Write an **async** view that
calls both concurrently with `httpx.AsyncClient` and uses the async ORM for the workshop.

```python
async def workshop_context(request, slug):
    workshop = await Workshop.objects.select_related("venue").aget(slug=slug)
    async with httpx.AsyncClient(timeout=3) as client:
        weather, rate = await asyncio.gather(
            get_weather(client, workshop.venue.city),
            get_rate(client, workshop.venue.currency),
            return_exceptions=True,
        )
    return JsonResponse({"weather": safe(weather), "rate": safe(rate)})
```

Serve the project with an ASGI server (`uvicorn config.asgi:application`) and measure the
response time against a sync version.
""",
                    "repo": "prodev-backend-async",
                    "directory": "async-0x02",
                    "files": ["workshops/async_views.py"],
                },
                {
                    "title": "Workflows with chords",
                    "kind": "advanced",
                    "points": 15,
                    "body": """Build a monthly report: compute statistics for every workshop in
parallel, then merge them into one CSV and email it to staff. Use a `chord`: a `group` of
per-workshop tasks whose results feed a callback.

```python
from celery import chord

def build_monthly_report(month: str):
    header = [workshop_stats.s(pk, month) for pk in Workshop.objects.values_list("pk", flat=True)]
    return chord(header)(merge_and_send_report.s(month))
```

Explain in `WORKFLOWS.md` what happens to the chord when one header task fails, and why
chords need a result backend.
""",
                    "repo": "prodev-backend-async",
                    "directory": "async-0x02",
                    "files": ["workshops/reports.py", "WORKFLOWS.md"],
                },
                {
                    "title": "Report progress to the user",
                    "kind": "advanced",
                    "points": 15,
                    "body": """Long exports should show progress. Make `export_bookings` update its
state as it goes, and add an endpoint that returns the state of a task id for the page to
poll.

```python
@shared_task(bind=True)
def export_bookings(self, host_id: int) -> str:
    total = Booking.objects.filter(session__workshop__host_id=host_id).count()
    for done, chunk in enumerate(chunks(host_id), start=1):
        write_chunk(chunk)
        self.update_state(state="PROGRESS", meta={"done": done * 500, "total": total})
    return export_url
```

```json
{"state": "PROGRESS", "done": 1500, "total": 4200}
```

Only the host who started the export may read its state: store the task id with the
owner and answer 404 to anyone else.
""",
                    "repo": "prodev-backend-async",
                    "directory": "async-0x02",
                    "files": ["workshops/tasks.py", "workshops/views.py"],
                },
            ],
        },
    ],
}

_CACHING: dict = {
    "slug": "caching-strategies",
    "title": "Caching Strategies",
    "summary": (
        "Make applications fast and resilient with the right cache at the right layer, and "
        "keep cached data correct."
    ),
    "objectives": [
        "Explain the cache layers of a web application: HTTP, application and database",
        "Configure Django's cache framework with Redis",
        "Cache whole views, template fragments and individual values",
        "Invalidate caches correctly with TTLs, versioned keys and signals",
        "Apply cache-aside, write-behind and stampede protection patterns",
        "Measure hit ratio and latency to prove a cache pays for itself",
    ],
    "projects": [
        {
            "slug": "django-redis-caching",
            "title": "Caching Django with Redis",
            "summary": (
                "Speed up the Workshops site with Redis: per-view, low-level and template "
                "fragment caching, invalidation on change, and hit-ratio metrics."
            ),
            "description": """The workshop list is the most visited page of the site and changes a
few times a day. Rendering it from the database for every visitor is wasted work. Caching
stores the result of expensive work and serves it again until it is no longer true, and
the hard part is knowing when that is.

In this project you run Redis next to the Workshops site and use Django's cache framework
at three levels of granularity:

| level | tool | good for |
| --- | --- | --- |
| whole response | `cache_page` | anonymous, identical pages |
| template fragment | `{% cache %}` | expensive parts of personalised pages |
| single value | `cache.get` / `cache.set` | querysets, computed numbers, API results |

For each one you will decide the key, the timeout and how the entry is invalidated when
the data changes. You finish by measuring the hit ratio from Redis itself, because a
cache nobody measures is a cache nobody can trust.
""",
            "concepts": [
                "Django cache framework",
                "Redis",
                "Per-view caching",
                "Low-level cache API",
                "Template fragment caching",
                "Cache invalidation",
            ],
            "objectives": [
                "By the end of this project you can configure Django to cache in Redis",
                "You can cache whole views and know when not to",
                "You can cache querysets with the low-level API and invalidate them on change",
                "You can cache template fragments per user",
                "You can measure the cache hit ratio",
            ],
            "requirements": [
                "Ubuntu 22.04, Python 3.12, Django 5.2 LTS, Redis 7 (in Docker)",
                "Code follows PEP 8 (checked with ruff)",
                "Every cached value has an explicit timeout and a documented invalidation",
                "Tests run against the local-memory cache and clear it between tests",
            ],
            "estimated_hours": 10,
            "weight": 2,
            "prerequisites": ["django-orm-optimization", "docker-compose-stack"],
            "resources": [
                (
                    "Django docs: Cache framework",
                    "https://docs.djangoproject.com/en/stable/topics/cache/",
                ),
                ("Redis documentation", "https://redis.io/docs/latest/"),
                ("Redis: Key eviction", "https://redis.io/docs/latest/develop/reference/eviction/"),
                ("redis-py documentation", "https://redis.readthedocs.io/en/stable/"),
            ],
            "tasks": [
                {
                    "title": "Run Redis and configure the cache",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Add Redis to your Compose file and configure Django's built-in Redis
backend from `REDIS_URL`, with a key prefix and a default timeout of five minutes.
Without `REDIS_URL` the site falls back to the local-memory cache.

```python
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ["REDIS_URL"],
        "KEY_PREFIX": "workshops",
        "TIMEOUT": 300,
    }
}
```

```python
>>> from django.core.cache import cache  # inside python manage.py shell
>>> cache.set("ping", "pong")
>>> cache.get("ping")
'pong'
```

```bash
$ docker compose exec redis redis-cli --scan --pattern "workshops*"
workshops:1:ping
```
""",
                    "repo": "prodev-backend-caching",
                    "directory": "caching-0x00",
                    "files": ["config/settings.py", "compose.yaml"],
                },
                {
                    "title": "Cache a whole page",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Cache the public workshop list for 15 minutes with `cache_page`.
Logged-in users see a personalised navigation bar, so the cache must vary on the session
cookie, or better, only apply to anonymous visitors.

```python
urlpatterns = [
    path("", cache_page(60 * 15)(views.workshop_list), name="list"),
]
```

```bash
$ curl -s -o /dev/null -w "%{time_total}\\n" localhost:8000/workshops/
0.184
$ curl -s -o /dev/null -w "%{time_total}\\n" localhost:8000/workshops/
0.006
```

Explain in `CACHING.md` why caching a page that contains a CSRF token or a user's name is
dangerous, and how `Vary: Cookie` changes what gets cached.
""",
                    "repo": "prodev-backend-caching",
                    "directory": "caching-0x00",
                    "files": ["workshops/urls.py", "CACHING.md"],
                },
                {
                    "title": "Cache a queryset",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Write `get_upcoming_workshops()` in `workshops/utils.py` using the
**cache-aside** pattern: look in the cache first; on a miss, query the database, store
the result for one hour and return it. Cache plain data (a list of dicts), not querysets.

```python
def get_upcoming_workshops() -> list[dict]:
    data = cache.get(UPCOMING_KEY)
    if data is None:
        logger.info("cache miss: %s", UPCOMING_KEY)
        data = list(
            Workshop.objects.upcoming().values("id", "slug", "title", "next_session_at")
        )
        cache.set(UPCOMING_KEY, data, timeout=60 * 60)
    return data
```

Test it with `assertNumQueries(1)` on the first call and `assertNumQueries(0)` on the
second.
""",
                    "repo": "prodev-backend-caching",
                    "directory": "caching-0x00",
                    "files": ["workshops/utils.py", "workshops/tests/test_cache.py"],
                },
                {
                    "title": "Invalidate on change",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """A new workshop should appear at once, not an hour later. Delete the
cached list whenever a workshop or session is saved or deleted, using signals.

```python
@receiver([post_save, post_delete], sender=Workshop)
@receiver([post_save, post_delete], sender=Session)
def invalidate_upcoming(sender, **kwargs):
    transaction.on_commit(lambda: cache.delete(UPCOMING_KEY))
```

Test that creating a workshop makes the next call hit the database again. Explain why
the delete waits for the commit.
""",
                    "repo": "prodev-backend-caching",
                    "directory": "caching-0x00",
                    "files": ["workshops/signals.py"],
                },
                {
                    "title": "Cache template fragments",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """The dashboard's "recommended for you" sidebar is expensive and
personal. Cache it per user for 10 minutes with the `{% cache %}` tag, and invalidate a
user's fragment when they book a session.

```django
{% load cache %}
{% cache 600 recommendations request.user.pk %}
  {% include "workshops/_recommendations.html" %}
{% endcache %}
```

```python
from django.core.cache.utils import make_template_fragment_key

cache.delete(make_template_fragment_key("recommendations", [user.pk]))
```
""",
                    "repo": "prodev-backend-caching",
                    "directory": "caching-0x00",
                    "files": ["templates/workshops/dashboard.html", "workshops/signals.py"],
                },
                {
                    "title": "Measure the hit ratio",
                    "kind": "advanced",
                    "points": 15,
                    "body": """Write `get_cache_metrics()` that reads `keyspace_hits` and
`keyspace_misses` from Redis `INFO stats` (with `redis-py`), computes the hit ratio and
logs it, and expose it to staff at `/staff/cache/`.

```python
def get_cache_metrics() -> dict:
    info = redis.Redis.from_url(settings.REDIS_URL).info("stats")
    hits, misses = info["keyspace_hits"], info["keyspace_misses"]
    total = hits + misses
    return {"hits": hits, "misses": misses, "hit_ratio": hits / total if total else 0.0}
```

```json
{"hits": 18234, "misses": 1122, "hit_ratio": 0.942}
```

Run a small load test, report the ratio in `CACHING.md`, and explain what a ratio under
50% would tell you about your keys or timeouts.
""",
                    "repo": "prodev-backend-caching",
                    "directory": "caching-0x00",
                    "files": ["workshops/metrics.py", "CACHING.md"],
                },
            ],
        },
        {
            "slug": "caching-patterns",
            "title": "Caching Patterns in Production",
            "summary": (
                "Go beyond get and set: versioned keys, write-behind counters, stampede "
                "protection, HTTP validation caching and a Redis rate limiter, with benchmarks."
            ),
            "description": """Adding a cache is easy; keeping it correct and useful under real
traffic is not. Popular entries expire all at once and a hundred requests recompute them
together (a **stampede**). Counters updated on every page view turn the database into a
bottleneck. Invalidating every key that mentions a workshop requires knowing all of them.
And the fastest request is the one that never reaches your server because the browser or a
CDN already had a valid copy.

This project collects the patterns that production teams use to solve those problems:

1. **Cache-aside with versioned keys**, so a whole family of entries can be invalidated
   by bumping one number.
2. **Write-behind counters** in Redis, flushed to the database in batches.
3. **Stampede protection** with a short lock and jittered timeouts.
4. **HTTP validation caching** with `ETag` and `Last-Modified`, answering `304 Not Modified`.
5. A **sliding-window rate limiter** built on Redis sorted sets.

You finish with a load test that shows, in percentiles, what each pattern bought you.
""",
            "concepts": [
                "Cache-aside",
                "Write-behind",
                "Cache stampede",
                "Versioned keys",
                "HTTP caching",
                "Rate limiting",
            ],
            "objectives": [
                "By the end of this project you can invalidate families of keys with versioning",
                "You can buffer high-frequency writes in Redis and flush them safely",
                "You can protect expensive recomputation from stampedes",
                "You can serve conditional responses with ETag and Last-Modified",
                "You can build a rate limiter on Redis and benchmark caching changes",
            ],
            "requirements": [
                "Ubuntu 22.04, Python 3.12, Django 5.2 LTS, Redis 7",
                "Code follows PEP 8 (checked with ruff)",
                "Every pattern has tests, including a concurrency test where relevant",
                "Benchmarks report p50 and p95 latency before and after",
            ],
            "estimated_hours": 14,
            "weight": 3,
            "prerequisites": ["django-redis-caching", "celery-background-jobs"],
            "resources": [
                (
                    "Django docs: Conditional view processing",
                    "https://docs.djangoproject.com/en/stable/topics/conditional-view-processing/",
                ),
                ("MDN: HTTP caching", "https://developer.mozilla.org/en-US/docs/Web/HTTP/Caching"),
                (
                    "Redis: Sorted sets",
                    "https://redis.io/docs/latest/develop/data-types/sorted-sets/",
                ),
                ("Redis command: INCR", "https://redis.io/docs/latest/commands/incr/"),
                ("Locust documentation", "https://docs.locust.io/en/stable/"),
            ],
            "tasks": [
                {
                    "title": "Versioned keys",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Every cache entry about a workshop (detail, sessions, reviews
summary) includes the workshop's cache **version** in its key. Invalidating them all is
one `cache.incr` of the version key; old entries simply expire.

```python
def workshop_key(workshop_id: int, part: str) -> str:
    version = cache.get_or_set(f"workshop:{workshop_id}:v", 1, timeout=None)
    return f"workshop:{workshop_id}:v{version}:{part}"

def invalidate_workshop(workshop_id: int) -> None:
    try:
        cache.incr(f"workshop:{workshop_id}:v")
    except ValueError:
        cache.set(f"workshop:{workshop_id}:v", 1, timeout=None)
```

Compare this with deleting keys one by one in `PATTERNS.md`: what happens when you add a
new kind of entry next month?
""",
                    "repo": "prodev-backend-caching",
                    "directory": "caching-0x01",
                    "files": ["workshops/cache_keys.py", "PATTERNS.md"],
                },
                {
                    "title": "Write-behind view counters",
                    "kind": "mandatory",
                    "points": 15,
                    "body": """Counting page views with `UPDATE workshop SET views = views + 1` on
every request locks a hot row. Count in Redis with `INCR` instead, and flush the counters
to the database every minute from a Celery beat task, atomically reading and resetting
each counter.

```python
def record_view(workshop_id: int) -> None:
    client.incr(f"views:{workshop_id}")
    client.sadd("views:dirty", workshop_id)

def flush_views() -> int:
    flushed = 0
    for workshop_id in client.spop("views:dirty", 1000) or []:
        count = int(client.getdel(f"views:{int(workshop_id)}") or 0)
        Workshop.objects.filter(pk=workshop_id).update(views=F("views") + count)
        flushed += 1
    return flushed
```

What is lost if Redis restarts between two flushes? Write down whether that is
acceptable for view counts, and for what kind of data it would not be.
""",
                    "repo": "prodev-backend-caching",
                    "directory": "caching-0x01",
                    "files": ["workshops/counters.py", "workshops/tasks.py"],
                },
                {
                    "title": "Stop the stampede",
                    "kind": "mandatory",
                    "points": 15,
                    "body": """When the cached homepage statistics expire, every concurrent request
recomputes them. Write `get_or_compute(key, compute, timeout)`:

- only the request that wins a short lock (`cache.add(lock_key, 1, 30)`) recomputes;
- others serve the stale copy (kept under a second key with a longer timeout) or wait
  briefly;
- timeouts get random jitter (plus or minus 10%) so related keys do not expire together.

```python
if cache.add(f"{key}:lock", "1", timeout=30):
    try:
        value = compute()
        cache.set_many({key: value, f"{key}:stale": value}, timeout=jittered(timeout))
    finally:
        cache.delete(f"{key}:lock")
```

Test it with 20 threads and a `compute` that sleeps: it must run exactly once.
""",
                    "repo": "prodev-backend-caching",
                    "directory": "caching-0x01",
                    "files": ["workshops/cache_utils.py", "workshops/tests/test_stampede.py"],
                },
                {
                    "title": "HTTP validation caching",
                    "kind": "mandatory",
                    "points": 10,
                    "body": """Let browsers and proxies revalidate the workshop detail page instead
of downloading it again. Use Django's `condition` decorator with an `ETag` built from the
workshop's `updated_at` and version, and set `Cache-Control: max-age=60, public`.

```python
def workshop_etag(request, slug):
    updated = Workshop.objects.filter(slug=slug).values_list("updated_at", flat=True).first()
    return f'"{slug}-{updated.timestamp()}"' if updated else None

@condition(etag_func=workshop_etag)
def workshop_detail(request, slug): ...
```

```bash
$ curl -sI localhost:8000/workshops/intro-to-sql/ | grep -i etag
ETag: "intro-to-sql-1740909247.0"
$ curl -sI -H 'If-None-Match: "intro-to-sql-1740909247.0"' localhost:8000/workshops/intro-to-sql/
HTTP/1.1 304 Not Modified
```
""",
                    "repo": "prodev-backend-caching",
                    "directory": "caching-0x01",
                    "files": ["workshops/views.py", "workshops/tests/test_http_cache.py"],
                },
                {
                    "title": "A sliding-window rate limiter",
                    "kind": "advanced",
                    "points": 15,
                    "body": """Fixed one-minute windows let a client send twice the limit around a
window boundary. Implement a sliding window with a Redis sorted set per client: add the
current timestamp, drop entries older than the window, count what remains, all in one
`MULTI`/`EXEC` pipeline.

```python
def allow(client_id: str, limit: int, window: float) -> bool:
    now = time.time()
    key = f"rl:{client_id}"
    pipe = redis_client.pipeline(transaction=True)
    pipe.zremrangebyscore(key, 0, now - window)
    pipe.zadd(key, {f"{now}:{uuid4().hex}": now})
    pipe.zcard(key)
    pipe.expire(key, int(window) + 1)
    _, _, count, _ = pipe.execute()
    return count <= limit
```

Use it in a middleware for the booking endpoint and test the window boundary case.
""",
                    "repo": "prodev-backend-caching",
                    "directory": "caching-0x01",
                    "files": ["workshops/ratelimit.py", "workshops/middleware.py"],
                },
                {
                    "title": "Benchmark what caching bought you",
                    "kind": "advanced",
                    "points": 15,
                    "body": """Write a Locust scenario that browses the list, opens workshops and
books seats, and run it with caching disabled (`DummyCache`) and enabled, at the same
load.

```python
class Visitor(HttpUser):
    wait_time = between(1, 3)

    @task(5)
    def browse(self):
        self.client.get("/workshops/")

    @task(2)
    def open_workshop(self):
        self.client.get("/workshops/intro-to-sql/")
```

```bash
$ locust -f locustfile.py --headless -u 200 -r 20 -t 2m --host http://localhost:8000
```

Report p50 and p95 latency, requests per second and database queries per request for
both runs in `BENCHMARK.md`, and name the one pattern that helped most.
""",
                    "repo": "prodev-backend-caching",
                    "directory": "caching-0x01",
                    "files": ["locustfile.py", "BENCHMARK.md"],
                },
            ],
        },
    ],
}

PROGRAM: dict = {
    "name": "ProDev Backend Engineering",
    "slug": "prodev-backend",
    "description": """**ProDev Backend Engineering** is a project-based program for people who want
to build and run the server side of real products. You learn by shipping: every module is a
series of hands-on projects, each broken into tasks with a concrete deliverable in a Git
repository, reviewed by mentors and by your peers.

The program follows the path a backend engineer walks on the job. You start with idiomatic,
well-tested **Python**, build web applications with **Django**, expose them through **REST**
and **GraphQL** APIs, package them with **Docker** and ship them with **CI/CD** pipelines. You
then go deeper into what makes systems hold up in production: **database design** and query
performance, **asynchronous programming** and background jobs, and **caching strategies**.

| module | you will be able to |
| --- | --- |
| Python | write memory-efficient, reusable and tested code |
| Django | build data-driven web applications with auth, admin and signals |
| REST APIs | design, secure and document HTTP APIs |
| GraphQL | serve flexible typed APIs safely |
| Docker | package and run multi-service stacks |
| CI/CD | test, build and deploy on every change |
| Database Design | model data and keep queries fast |
| Asynchronous Programming | do slow work concurrently or in the background |
| Caching Strategies | make applications fast without serving stale data |

Each project has **mandatory** tasks, which make up your score, and **advanced** tasks, which
can raise it up to 200% of the mandatory points. Deadlines matter: work submitted after the
first deadline earns a reduced share of its score.
""",
    "modules": [
        _PYTHON,
        _DJANGO,
        _REST,
        _GRAPHQL,
        _DOCKER,
        _CICD,
        _DATABASES,
        _ASYNC,
        _CACHING,
    ],
}
