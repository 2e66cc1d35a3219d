#!/usr/bin/env python3
"""Benchmark harness for releasekit-sign (Python 3.11 standard library only).

Starts `releasekit-sandbox serve` with injected latency, generates artifacts in a
temporary directory, and times releasekit-sign against its references in the same
run, alternating tools within each repetition (ABAB) so that machine load falls on
both. Writes a Markdown table (`results.md`) and a hand-drawn SVG plot
(`results.svg`). See bench/README.md for what each case measures.

No figure is asserted: the harness exits non-zero only if a run fails (a tool exits
non-zero, or a bundle is missing), never because a target is missed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SIGSTORE_PYTHON_VERSION = "4.5.1"
KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB


class RunFailed(Exception):
    """A benchmarked command failed: the only reason the harness exits non-zero."""


# --------------------------------------------------------------------------- running


@dataclass
class Sample:
    wall: float  # seconds
    rss_kib: int  # peak resident set size
    cpu: float  # user + system seconds, all threads
    fds: int = 0  # most open file descriptors seen (sampled; 0 when not watched)


@dataclass
class Series:
    label: str
    samples: list[Sample] = field(default_factory=list)

    @property
    def walls(self) -> list[float]:
        return [s.wall for s in self.samples]

    @property
    def median(self) -> float:
        return statistics.median(self.walls)

    @property
    def lo(self) -> float:
        return min(self.walls)

    @property
    def hi(self) -> float:
        return max(self.walls)

    @property
    def cpu_median(self) -> float:
        return statistics.median(s.cpu for s in self.samples)

    @property
    def rss_max_kib(self) -> int:
        return max(s.rss_kib for s in self.samples)

    @property
    def rss_median_kib(self) -> float:
        return statistics.median(s.rss_kib for s in self.samples)

    @property
    def fds_max(self) -> int:
        return max((s.fds for s in self.samples), default=0)


GNU_TIME = "/usr/bin/time"


def open_fds(time_pid: int) -> int:
    """Open file descriptors of GNU time's child (the measured tool), 0 if gone."""
    try:
        children = Path(f"/proc/{time_pid}/task/{time_pid}/children").read_text().split()
        return sum(len(os.listdir(f"/proc/{c}/fd")) for c in children)
    except OSError:
        return 0


def measure(argv: list[str], log_dir: Path, *, env: dict | None = None, watch_fds: bool = False,
            cwd: Path | None = None) -> Sample:
    """Run argv once: wall time from spawn to reap, peak RSS as GNU time reports it.

    Not wait4's rusage: Linux carries the pre-exec address space's high-water mark
    across exec, and the child forked from this Python process starts with the
    harness's own ~25 MiB, which would become the floor of every figure. GNU time is
    a small C process, so its child's pre-exec mark is negligible. Output goes to
    files, not pipes, so a chatty child can never block on a full pipe.
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    out_path = log_dir / "last.stdout"
    err_path = log_dir / "last.stderr"
    rss_path = log_dir / "last.rss"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen([GNU_TIME, "-q", "-f", "%M %U %S", "-o", str(rss_path), *argv],
                                stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env, cwd=cwd)
        fds = 0
        if watch_fds:  # sampled every 10 ms: sockets and files held open at once
            while proc.poll() is None:
                fds = max(fds, open_fds(proc.pid))
                time.sleep(0.01)
        proc.wait()
        wall = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = err_path.read_text(errors="replace")[-3000:] or out_path.read_text(errors="replace")[-3000:]
        raise RunFailed(f"{redact(argv)} exited with {proc.returncode}:\n{tail}")
    rss, user, system = rss_path.read_text().split()[-3:]
    return Sample(wall=wall, rss_kib=int(rss), cpu=float(user) + float(system), fds=fds)


def require_gnu_time() -> None:
    p = subprocess.run([GNU_TIME, "-f", "%M", "true"], capture_output=True, text=True)
    if p.returncode != 0 or not p.stderr.strip().isdigit():
        raise RunFailed(f"{GNU_TIME} is not GNU time (Debian/Ubuntu: apt-get install time)")


def redact(argv: list[str]) -> str:
    """The command for messages, with the identity token replaced."""
    shown = []
    hide_next = False
    for a in argv:
        shown.append("<token>" if hide_next else a)
        hide_next = a == "--identity-token"
    return shlex.join(str(a) for a in shown)


def checked(argv: list[str], **kw) -> subprocess.CompletedProcess:
    p = subprocess.run(argv, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        raise RunFailed(f"{redact(argv)} exited with {p.returncode}:\n{p.stderr[-3000:]}")
    return p


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- tools


@dataclass
class Tools:
    ours: Path
    sandbox: Path
    sigstore: Path
    floor: Path | None = None  # releasekit-bench-floor; None: not in --bin-dir, floor not measured


def target_dir() -> Path:
    return Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target")


def build_or_find(args) -> Tools:
    if args.bin_dir:
        bin_dir = Path(args.bin_dir).resolve()  # runs may change directory
    else:
        bin_dir = target_dir() / "release"
        if not args.no_build:
            log("cargo build --release -p releasekit-sign -p releasekit-sandbox -p releasekit-bench-floor")
            subprocess.run(
                ["cargo", "build", "--release", "-p", "releasekit-sign", "-p", "releasekit-sandbox",
                 "-p", "releasekit-bench-floor"],
                cwd=REPO,
                check=True,
            )
    ours, sandbox = bin_dir / "releasekit-sign", bin_dir / "releasekit-sandbox"
    for b in (ours, sandbox):
        if not b.is_file():
            raise RunFailed(f"{b} not found (build it, or pass --bin-dir)")
    floor = bin_dir / "releasekit-bench-floor"
    if not floor.is_file():
        log(f"{floor} not found: the cryptographic floor is not measured")
    return Tools(ours=ours, sandbox=sandbox, sigstore=sigstore_python(args),
                 floor=floor if floor.is_file() else None)


def sigstore_python(args) -> Path:
    """sigstore-python: --sigstore, $RELEASEKIT_SIGSTORE_PYTHON, or the pinned venv the
    tests use under $CARGO_TARGET_DIR/peers/ (created here if missing)."""
    explicit = args.sigstore or os.environ.get("RELEASEKIT_SIGSTORE_PYTHON")
    if explicit:
        return Path(explicit)
    venv = target_dir() / "peers" / f"sigstore-python-{SIGSTORE_PYTHON_VERSION}"
    bin_ = venv / "bin" / "sigstore"
    if bin_.is_file():
        return bin_
    log(f"creating {venv} (pip install sigstore=={SIGSTORE_PYTHON_VERSION})")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", f"sigstore=={SIGSTORE_PYTHON_VERSION}"],
        check=True,
    )
    return bin_


def has_verify(ours: Path) -> bool:
    p = subprocess.run([str(ours), "verify", "--help"], capture_output=True)
    return p.returncode == 0


# --------------------------------------------------------------------------- cryptographic floor


@dataclass
class Floor:
    """What one bundle's cryptography costs on this machine (releasekit-bench-floor,
    run beside each repetition): the floor the CPU per artifact is read against."""
    verify_us: list[float] = field(default_factory=list)  # one P-256 verification
    sign_us: list[float] = field(default_factory=list)  # one P-256 signature
    sha256_us: list[float] = field(default_factory=list)  # SHA-256 of one artifact

    def sample(self, tools: Tools, artifact_bytes: int) -> None:
        if tools.floor is None:
            return
        out = checked([str(tools.floor), str(artifact_bytes)]).stdout
        figures = json.loads(out)
        self.verify_us.append(float(figures["p256_verify_us"]))
        self.sign_us.append(float(figures["p256_sign_us"]))
        self.sha256_us.append(float(figures["sha256_us"]))

    def report(self, case: "Case", cpu_ms: float, per: str, signatures: int, size_kib: int,
               checks: str, left_out: str) -> None:
        """The summary row and the note giving `cpu_ms` per `per` against the floor:
        SHA-256 of the artifact, `signatures` signatures and BUNDLE_VERIFICATIONS
        verifications, from the medians. Nothing when the floor was not measured."""
        if not self.verify_us:
            return
        sha, sign, verify = (statistics.median(v) for v in (self.sha256_us, self.sign_us, self.verify_us))
        floor_ms = (sha + signatures * sign + BUNDLE_VERIFICATIONS * verify) / 1000
        case.ratios.append((f"  same, CPU per {per} vs this machine's cryptographic floor", cpu_ms / floor_ms,
                            "x", "(reported)", None, f"{cpu_ms:.2f} ms", f"{floor_ms:.2f} ms"))
        parts = [f"SHA-256 of {size_kib} KiB {sha:.0f} us"]
        if signatures:
            parts.append(f"{signatures} P-256 signature {sign:.0f} us")
        parts.append(f"{BUNDLE_VERIFICATIONS} P-256 verifications x {verify:.0f} us")
        case.notes.append(
            f"Cryptographic floor per {per}, measured beside each repetition with the libraries "
            f"releasekit-sign uses (`releasekit-bench-floor`, one thread): "
            f"{' + '.join(parts)} = {floor_ms:.2f} ms ({checks}). No {left_out} work is in it.")


# A bundle with a Rekor v1 entry and an RFC 3161 timestamp holds four signatures
# that each need a verification (the artifact's, the SET, the checkpoint, the
# timestamp's); the certificate's and the authorities' chains are checked once a run.
BUNDLE_VERIFICATIONS = 4


# --------------------------------------------------------------------------- sandbox


class Sandbox:
    """`releasekit-sandbox serve` as a child process, stopped on exit."""

    def __init__(self, tools: Tools, work: Path, latency_ms: int):
        self.tools = tools
        self.env_file = work / "sandbox.env"
        self.log_path = work / "sandbox.log"
        self.latency_ms = latency_ms
        self.proc: subprocess.Popen | None = None
        self.vars: dict[str, str] = {}
        self.dir = work / "sandbox"

    def __enter__(self) -> "Sandbox":
        self.dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [
                str(self.tools.sandbox), "serve",
                "--env-file", str(self.env_file),
                "--latency-ms", str(self.latency_ms),
                "--dir", str(self.dir),
                # The whole run signs with certificates obtained at its start.
                "--cert-validity-secs", "3600",
            ],
            stdout=subprocess.DEVNULL,
            stderr=open(self.log_path, "wb"),
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while not self.env_file.exists():
            if self.proc.poll() is not None:
                raise RunFailed(f"the sandbox exited: {self.log_path.read_text(errors='replace')[-2000:]}")
            if time.monotonic() > deadline:
                raise RunFailed("the sandbox did not write its env file within 60 s")
            time.sleep(0.05)
        for line in self.env_file.read_text().splitlines():
            parts = shlex.split(line)
            if len(parts) == 2 and parts[0] == "export" and "=" in parts[1]:
                k, v = parts[1].split("=", 1)
                self.vars[k] = v
        return self

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def cpu_seconds(self) -> float:
        """CPU the sandbox has used so far (utime + stime of all its threads)."""
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    @property
    def trust_config(self) -> str:
        return self.vars["SANDBOX_TRUST_CONFIG"]

    def token(self) -> str:
        """A fresh identity token, obtained outside the timed region."""
        return checked([str(self.tools.sandbox), "token", "--env-file", str(self.env_file)]).stdout.strip()


# --------------------------------------------------------------------------- artifacts


def write_random(path: Path, size: int) -> None:
    """Incompressible bytes, so no layer (filesystem, cache) can shortcut them."""
    chunk = 8 * MIB
    with open(path, "wb") as f:
        left = size
        while left > 0:
            n = min(chunk, left)
            f.write(os.urandom(n))
            left -= n


def small_set(dir_: Path, count: int, size: int) -> list[Path]:
    dir_.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(count):
        p = dir_ / f"artifact-{i:04d}.bin"
        write_random(p, size)
        files.append(p)
    return files


def fresh_links(files: list[Path], dir_: Path) -> list[Path]:
    """Hard links to `files` in the new directory `dir_`, so that a measured sign writes
    its bundles where no earlier run deleted any. On ext4 without a journal (this
    machine's disk) the inode allocator skips every inode freed in the last 5 minutes
    (300 s while its table block is dirty), reading the inode table for each: bundles
    deleted and written again rep after rep made every new file dearer as the run went
    on. A CI job writes its bundles once, into a fresh checkout."""
    dir_.mkdir(parents=True)
    out = []
    for f in files:
        link = dir_ / f.name
        os.link(f, link)
        out.append(link)
    return out


def remove_bundles(files: list[Path]) -> None:
    for f in files:
        Path(f"{f}.sigstore.json").unlink(missing_ok=True)


def require_bundles(files: list[Path], who: str) -> None:
    missing = [f for f in files if not Path(f"{f}.sigstore.json").is_file()]
    if missing:
        raise RunFailed(f"{who} exited 0 but left {len(missing)} artifacts without a bundle, e.g. {missing[0]}")


def warm(files: list[Path]) -> None:
    """Read every file once so all tools see a warm page cache."""
    for f in files:
        with open(f, "rb") as fh:
            while fh.read(8 * MIB):
                pass


# --------------------------------------------------------------------------- cases


@dataclass
class Case:
    key: str
    title: str
    series: list[Series]
    # (label, ours series index, reference series index, how the ratio reads, target)
    ratios: list[tuple[str, float, str, str, bool | None]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    caption: str = ""  # the plot's one-line summary under the panel
    load: tuple[str, str] = ("", "")
    # Scale case only: (N, sign series, verify series), drawn as time and RSS against N.
    points: list[tuple[int, "Series", "Series"]] = field(default_factory=list)


def ours_sign(tools: Tools, sb: Sandbox, jobs: int | None, paths: list[Path | str],
              extra: tuple[str, ...] = ()) -> list[str]:
    argv = [str(tools.ours), "--quiet", "sign", "--trust-config", sb.trust_config,
            "--identity-token", sb.token(), "--overwrite", *extra]
    if jobs:
        argv += ["--jobs", str(jobs)]
    return argv + [str(p) for p in paths]


def peer_sign(tools: Tools, sb: Sandbox, files: list[Path]) -> list[str]:
    return [str(tools.sigstore), "--trust-config", sb.trust_config, "sign",
            "--identity-token", sb.token(), "--overwrite"] + [str(f) for f in files]


def case_sign_small(args, tools: Tools, sb: Sandbox, work: Path) -> Case:
    n, size = args.small_count, args.small_kib * KIB
    log(f"sign-small: generating 2 x {n} artifacts of {args.small_kib} KiB")
    src = small_set(work / "small" / "ours", n, size)
    peer_dir = work / "small" / "peer"
    peer_dir.mkdir(parents=True, exist_ok=True)
    peer_files = []
    for f in src:  # same bytes for both tools, separate directories for their bundles
        shutil.copyfile(f, peer_dir / f.name)
        peer_files.append(peer_dir / f.name)
    ours_dir = work / "small" / "ours"
    logs = work / "logs"

    jobs_list = [args.jobs] + [j for j in args.jobs_sweep if j != args.jobs]
    ours_series = {j: Series(f"releasekit-sign --jobs {j}") for j in jobs_list}
    peer = Series(f"sigstore-python {SIGSTORE_PYTHON_VERSION} (one invocation)")
    # The same run with build provenance: one more signature, Rekor entry and
    # timestamp (one round trip), its statement over every artifact. The
    # sandbox's token is an Actions token, so it has the claims provenance needs.
    prov = Series(f"releasekit-sign --jobs {args.jobs} --provenance")
    prov_argv = lambda d: ours_sign(tools, sb, args.jobs, [d], ("--provenance", "--provenance-name", "bench.intoto.jsonl"))
    prov_env = {**os.environ, "GITHUB_SERVER_URL": "https://github.com"}
    prov_dir = work / "small" / "provenance"
    prov_dir.mkdir(parents=True, exist_ok=True)
    load0 = loadavg()
    # Untimed warm-up: page cache, Python bytecode, the sandbox's first connections.
    measure(ours_sign(tools, sb, args.jobs, [ours_dir]), logs)
    measure(peer_sign(tools, sb, peer_files), logs)
    # Every measured run signs hard links to the same files in a directory of its own,
    # kept until the end (see fresh_links).
    runs = work / "small" / "runs"
    crypto = Floor()
    for rep in range(args.reps):
        log(f"sign-small rep {rep + 1}/{args.reps}")
        crypto.sample(tools, size)
        for j in jobs_list:
            files = fresh_links(src, runs / f"ours-j{j}-{rep}")
            ours_series[j].samples.append(measure(ours_sign(tools, sb, j, [files[0].parent]), logs))
            require_bundles(files, "releasekit-sign")
        files = fresh_links(src, runs / f"provenance-{rep}")
        prov.samples.append(measure(prov_argv(files[0].parent), logs, env=prov_env, cwd=prov_dir))
        require_bundles(files, "releasekit-sign --provenance")
        if not (prov_dir / "bench.intoto.jsonl").is_file():
            raise RunFailed("releasekit-sign --provenance exited 0 but wrote no bench.intoto.jsonl")
        files = fresh_links(peer_files, runs / f"peer-{rep}")
        peer.samples.append(measure(peer_sign(tools, sb, files), logs))
        require_bundles(files, "sigstore-python")
    head = ours_series[args.jobs]
    case = Case(
        key="sign-small",
        title=f"sign, many small: {n} x {args.small_kib} KiB, {args.latency_ms} ms per request",
        series=[*ours_series.values(), prov, peer],
        load=(load0, loadavg()),
    )
    ratio = peer.median / head.median
    case.ratios.append((f"sign {n} x {args.small_kib} KiB, --jobs {args.jobs}, vs sigstore-python sign",
                        ratio, "x faster", ">= 12x", ratio >= 12, span(head), span(peer)))
    rtt = args.latency_ms / 1000
    floor = 2 * rtt + -(-n // args.jobs) * rtt
    case.ratios.append((f"  same, vs the round-trip floor at c = {args.jobs} ({fmt_s(floor)})", head.median / floor,
                        "x", "<= 1.3x", head.median / floor <= 1.3, "", ""))
    cpu = head.cpu_median / n * 1000
    case.ratios.append(("  same, CPU per artifact (user + sys)", cpu, "ms", "<= 0.6 ms", cpu <= 0.6,
                        f"{cpu:.2f} ms", ""))
    # Signing an artifact: its hash, our signature, the self-verification's checks.
    crypto.report(case, cpu, "artifact", 1, args.small_kib,
                  "the artifact's hash, its signature, and the self-verification's checks of the SET, "
                  "the checkpoint, the timestamp and the signature", "HTTP, JSON, file or thread")
    added = prov.median - head.median
    case.ratios.append((f"  same, with --provenance: time added (one round trip is {args.latency_ms} ms)",
                        added * 1000, "ms", f"<= {args.latency_ms} ms + a few",
                        added <= args.latency_ms / 1000 + 0.02,
                        f"{added * 1000:.0f} ms ({fmt_s(prov.median)} vs {fmt_s(head.median)})", ""))
    for j in jobs_list[1:]:
        r = peer.median / ours_series[j].median
        case.ratios.append((f"  same, --jobs {j}", r, "x faster", ">= 12x", r >= 12, span(ours_series[j]), ""))
    case.caption = "vs sigstore-python: " + ", ".join(
        f"{peer.median / ours_series[j].median:.1f}x (--jobs {j})" for j in jobs_list)
    rtt = args.latency_ms / 1000
    case.notes.append(
        "Round-trip floor per artifact: one Rekor entry and one RFC 3161 timestamp, "
        f"requested together (1 x {args.latency_ms} ms); with c artifacts in flight the run "
        f"cannot finish before about 2r + ceil(N/c) * r = "
        + ", ".join(f"{(2 * rtt + -(-n // j) * rtt):.2f} s (c={j})" for j in jobs_list)
        + "."
    )
    return case


def case_sign_large(args, tools: Tools, sb: Sandbox, work: Path) -> Case:
    big, mid, mid_count = args.large_mib * MIB, args.medium_mib * MIB, args.medium_count
    d = work / "large"
    d.mkdir(parents=True, exist_ok=True)
    log(f"sign-large: generating 1 x {args.large_mib} MiB + {mid_count} x {args.medium_mib} MiB")
    big_file = d / "big.bin"
    write_random(big_file, big)
    mids = []
    for i in range(mid_count):
        p = d / f"medium-{i:02d}.bin"
        write_random(p, mid)
        mids.append(p)
    files = [big_file, *mids]
    total = big + mid * mid_count
    warm(files)
    logs = work / "logs"

    ours_all = Series(f"releasekit-sign, all {len(files)} files")
    sha = Series("sha256sum (coreutils), same files")
    ossl = Series("openssl dgst -sha256, same files")
    ours_mid = Series(f"releasekit-sign, one {fmt_size(mid)} file")
    ours_big = Series(f"releasekit-sign, one {fmt_size(big)} file")
    ossl_big = Series(f"openssl dgst -sha256, one {fmt_size(big)} file")
    sha_argv = ["sha256sum", *map(str, files)]
    ossl_argv = ["openssl", "dgst", "-sha256", *map(str, files)]
    load0 = loadavg()
    measure(ours_sign(tools, sb, args.jobs, files), logs)
    measure(sha_argv, logs)
    measure(ossl_argv, logs)
    for rep in range(args.reps):
        log(f"sign-large rep {rep + 1}/{args.reps}")
        remove_bundles(files)
        ours_all.samples.append(measure(ours_sign(tools, sb, args.jobs, files), logs))
        require_bundles(files, "releasekit-sign")
        sha.samples.append(measure(sha_argv, logs))
        ossl.samples.append(measure(ossl_argv, logs))
        ours_mid.samples.append(measure(ours_sign(tools, sb, args.jobs, [mids[0]]), logs))
        ours_big.samples.append(measure(ours_sign(tools, sb, args.jobs, [big_file]), logs))
        ossl_big.samples.append(measure(["openssl", "dgst", "-sha256", str(big_file)], logs))
    case = Case(
        key="sign-large",
        title=f"sign, large: 1 x {fmt_size(big)} + {mid_count} x {fmt_size(mid)} ({fmt_size(total)}), "
              f"{args.latency_ms} ms per request",
        series=[ours_all, sha, ossl, ours_mid, ours_big, ossl_big],
        load=(load0, loadavg()),
    )
    def tp(s: Series) -> float:  # MB/s, 10^6 bytes
        return total / s.median / 1e6

    r_sha = tp(ours_all) / tp(sha)
    r_ossl = tp(ours_all) / tp(ossl)
    case.ratios.append((f"sign {fmt_size(total)} (1 x {fmt_size(big)} + {mid_count} x {fmt_size(mid)}): "
                        "throughput vs sha256sum", r_sha, "of its throughput", ">= 90 %", r_sha >= 0.9,
                        f"{span(ours_all)} ({tp(ours_all):.0f} MB/s)", f"{span(sha)} ({tp(sha):.0f} MB/s)"))
    case.ratios.append(("  same, vs openssl dgst -sha256 (SHA-NI)", r_ossl, "of its throughput",
                        "(stricter reference)", None, "", f"{span(ossl)} ({tp(ossl):.0f} MB/s)"))
    # One file is hashed on one core by both tools: the per-core comparison. Our wall
    # time also holds the signing round trips (token, certificate, log entry, timestamp).
    r_core = ossl_big.median / ours_big.median
    case.ratios.append((f"  per core: one {fmt_size(big)} file vs openssl dgst -sha256", r_core,
                        "of its throughput", "(reported)", None,
                        f"{span(ours_big)} ({big / ours_big.median / 1e6:.0f} MB/s)",
                        f"{span(ossl_big)} ({big / ossl_big.median / 1e6:.0f} MB/s)"))
    rss_mib = max(ours_all.rss_max_kib, ours_mid.rss_max_kib, ours_big.rss_max_kib) / KIB
    flat = ours_big.rss_max_kib - ours_mid.rss_max_kib
    case.ratios.append(("sign-large: peak RSS, max over all our runs", rss_mib, "MiB", "< 64 MiB", rss_mib < 64,
                        f"{rss_mib:.1f} MiB", ""))
    case.ratios.append((f"  peak RSS growth from one {fmt_size(mid)} to one {fmt_size(big)} file", flat / KIB, "MiB",
                        "flat", abs(flat) < 8 * KIB, "", ""))
    case.caption = (f"throughput {r_sha * 100:.0f} % of sha256sum's, {r_ossl * 100:.0f} % of openssl's; "
                    f"peak RSS {rss_mib:.1f} MiB")
    case.notes.append(
        f"Throughput (MB/s, 10^6 bytes): releasekit-sign {tp(ours_all):.0f} (wall time includes the "
        f"token-to-bundle network round trips), sha256sum {tp(sha):.0f}, openssl {tp(ossl):.0f}. "
        "Files are read once before timing (warm page cache for every tool). sha256sum and openssl hash "
        "the files one after another on one core; releasekit-sign hashes up to --jobs files at once."
    )
    return case


def case_verify(args, tools: Tools, sb: Sandbox, work: Path, ours_can_verify: bool) -> Case:
    n = args.verify_count
    log(f"verify: generating {n} artifacts of {args.verify_kib} KiB and signing them")
    d = work / "verify"
    files = small_set(d, n, args.verify_kib * KIB)
    logs = work / "logs"
    # The bundles are releasekit-sign's; both verifiers check the same files.
    measure(ours_sign(tools, sb, max(args.jobs, 64), [d]), logs)
    require_bundles(files, "releasekit-sign")
    identity, issuer = sb.vars["SANDBOX_IDENTITY"], sb.vars["SANDBOX_ISSUER"]
    ours_argv = [str(tools.ours), "--quiet", "verify", "--trust-config", sb.trust_config,
                 "--cert-identity", identity, "--cert-oidc-issuer", issuer, str(d)]
    peer_argv = [str(tools.sigstore), "--trust-config", sb.trust_config, "verify", "identity", "--offline",
                 "--cert-identity", identity, "--cert-oidc-issuer", issuer, *map(str, files)]
    ours = Series("releasekit-sign verify (one invocation)")
    peer = Series(f"sigstore-python {SIGSTORE_PYTHON_VERSION} verify identity --offline (one invocation)")
    load0 = loadavg()
    if ours_can_verify:
        measure(ours_argv, logs)
    measure(peer_argv, logs)
    crypto = Floor()
    for rep in range(args.reps):
        log(f"verify rep {rep + 1}/{args.reps}")
        crypto.sample(tools, args.verify_kib * KIB)
        if ours_can_verify:
            ours.samples.append(measure(ours_argv, logs))
        peer.samples.append(measure(peer_argv, logs))
    case = Case(
        key="verify",
        title=f"verify: {n} artifacts of {args.verify_kib} KiB with bundles (offline)",
        series=[s for s in (ours, peer) if s.samples],
        load=(load0, loadavg()),
    )
    if ours_can_verify:
        r = peer.median / ours.median
        case.ratios.append((f"verify {n} x {args.verify_kib} KiB vs sigstore-python verify identity", r, "x faster",
                            ">= 10x", r >= 10, span(ours), span(peer)))
        cpu = ours.cpu_median / n * 1000
        case.ratios.append(("  same, CPU per bundle (user + sys)", cpu, "ms", "<= 0.35 ms", cpu <= 0.35,
                            f"{cpu:.2f} ms", ""))
        crypto.report(case, cpu, "bundle", 0, args.verify_kib,
                      "the artifact's hash; the signature, the SET, the checkpoint and the timestamp",
                      "JSON, DER, file or thread")
        case.caption = f"{r:.1f}x faster than sigstore-python"
    else:
        case.ratios.append((f"verify {n} bundles vs sigstore-python", float("nan"), "",
                            ">= 10x", None, "not measured", span(peer)))
        case.notes.append("This build of releasekit-sign has no `verify` command: only the peer was measured.")
    return case


def case_scale(args, tools: Tools, sb: Sandbox, work: Path) -> Case:
    """Sign and verify N small artifacts for growing N: time should grow linearly,
    peak RSS and open descriptors should stay flat."""
    logs = work / "logs"
    identity, issuer = sb.vars["SANDBOX_IDENTITY"], sb.vars["SANDBOX_ISSUER"]
    reps = min(args.reps, 3)
    case = Case(key="scale", title=f"scale: sign and verify N artifacts of {args.scale_kib} KiB, "
                f"{args.latency_ms} ms per request, --jobs {args.jobs}", series=[])
    load0 = loadavg()
    for n in args.scale_counts:
        log(f"scale: N = {n}")
        d = work / "scale" / str(n)
        files = small_set(d, n, args.scale_kib * KIB)
        sign_s = Series(f"releasekit-sign sign, N = {n}")
        verify_s = Series(f"releasekit-sign verify, N = {n}")
        verify_argv = [str(tools.ours), "--quiet", "verify", "--trust-config", sb.trust_config,
                       "--cert-identity", identity, "--cert-oidc-issuer", issuer, str(d)]
        measure(ours_sign(tools, sb, args.jobs, [d]), logs)  # warm-up
        for rep in range(reps):
            run = fresh_links(files, work / "scale" / f"{n}-{rep}")  # see fresh_links
            sign_s.samples.append(measure(ours_sign(tools, sb, args.jobs, [run[0].parent]), logs,
                                          watch_fds=True))
            require_bundles(run, "releasekit-sign")
            verify_argv[-1] = str(run[0].parent)
            verify_s.samples.append(measure(verify_argv, logs, watch_fds=True))
        case.series += [sign_s, verify_s]
        case.points.append((n, sign_s, verify_s))
    case.load = (load0, loadavg())
    (n0, s0, v0), (n1, s1, v1) = case.points[-2], case.points[-1]
    rss = max(max(s.rss_max_kib, v.rss_max_kib) for _, s, v in case.points) / KIB
    case.ratios.append((f"scale: peak RSS at N = {n1} (sign / verify)", rss, "MiB", "< 64 MiB", rss < 64,
                        f"{s1.rss_max_kib / KIB:.1f} / {v1.rss_max_kib / KIB:.1f} MiB", ""))
    # Linear: the per-artifact cost of the largest N stays within 1.5x of the one before.
    for what, a, b in (("sign", s0, s1), ("verify", v0, v1)):
        per0, per1 = a.median / n0, b.median / n1
        case.ratios.append((f"  {what}: time per artifact at N = {n1} vs N = {n0}", per1 / per0, "x",
                            "linear (<= 1.5x)", per1 / per0 <= 1.5,
                            f"{per1 * 1000:.2f} ms vs {per0 * 1000:.2f} ms", ""))
    fds = max(max(s.fds_max, v.fds_max) for _, s, v in case.points)
    case.ratios.append(("  most open file descriptors seen, any N", fds, "", "bounded", None, str(fds), ""))
    case.caption = (f"{s1.median / n1 * 1000:.2f} ms per artifact to sign and "
                    f"{v1.median / n1 * 1000:.2f} ms to verify at N = {n1}; peak RSS {rss:.1f} MiB")
    case.notes.append(
        "Per N: " + "; ".join(
            f"N = {n}: sign {fmt_s(s.median)} ({s.cpu_median / n * 1000:.2f} ms CPU each), "
            f"verify {fmt_s(v.median)} ({v.cpu_median / n * 1000:.2f} ms CPU each), "
            f"peak RSS {s.rss_max_kib / KIB:.1f} / {v.rss_max_kib / KIB:.1f} MiB, "
            f"at most {max(s.fds_max, v.fds_max)} open descriptors"
            for n, s, v in case.points) + ". Descriptors are sampled every 10 ms."
    )
    return case


def case_release(args, tools: Tools, sb: Sandbox, work: Path) -> Case:
    """`verify --release` of a release holding N artifacts and their bundles, every
    GitHub response delayed: its time should follow the concurrency (--jobs), not
    the number of requests, which one after another would take minutes."""
    n, r = args.release_count, args.latency_ms / 1000
    logs = work / "logs"
    d = work / "release"
    files = small_set(d, n, args.release_kib * KIB)
    env = {**os.environ, **{k: v for k, v in sb.vars.items() if k.startswith("GITHUB_")}}
    repo, tag = sb.vars["GITHUB_REPOSITORY"], sb.vars["GITHUB_REF"].removeprefix("refs/tags/")
    # GitHub's API, and the storage it sends asset downloads to (a 302, then
    # the bytes from there, as github.com does).
    faults = [[str(tools.sandbox), "fault", "--env-file", str(sb.env_file), "--service", s]
              for s in ("github", "storage")]
    # Set-up, untimed: GitHub answers at once while the release is filled.
    log(f"release: signing {n} artifacts of {args.release_kib} KiB, uploading them and their bundles")
    for fault in faults:
        checked(fault + ["--clear"])
    upload = Series("releasekit-sign sign --upload --upload-artifacts (set-up, one run, GitHub at 0 ms)")
    try:
        upload.samples.append(
            measure(ours_sign(tools, sb, args.jobs, [d], ("--upload", "--upload-artifacts")), logs, env=env))
    finally:
        for fault in faults:
            checked(fault + ["--clear", "--latency-ms", str(args.latency_ms)])
    require_bundles(files, "releasekit-sign --upload")
    default = 32  # verify --release's default --jobs
    jobs_list = sorted({default, *args.release_jobs})
    series = {j: Series(f"releasekit-sign verify --release, --jobs {j}" + (" (its default)" if j == default else ""))
              for j in jobs_list}
    argv = lambda j: [str(tools.ours), "--quiet", "verify", "--release", f"{repo}@{tag}",
                      "--trust-config", sb.trust_config, "--jobs", str(j)]
    load0 = loadavg()
    measure(argv(default), logs, env=env)  # warm-up
    for rep in range(min(args.reps, 3)):
        log(f"release rep {rep + 1}/{min(args.reps, 3)}")
        for j in jobs_list:
            series[j].samples.append(measure(argv(j), logs, env=env))
    case = Case(key="release",
                title=f"verify --release: {n} artifacts of {args.release_kib} KiB and their bundles "
                      f"({2 * n} assets), {args.latency_ms} ms per GitHub response",
                series=list(series.values()), load=(load0, loadavg()))
    # Requests one after another: the release, its tag, the listing's first page
    # (100 assets a page), the pages it numbers 8 at once; then per artifact its
    # bundle and then itself, c artifacts at once, each download two round
    # trips (the API's redirect, then storage).
    pages = -(-2 * n // 100)
    listing = 1 + -(-(pages - 1) // 8)
    floor = lambda c: (2 + listing + 4 * -(-n // c)) * r
    sequential = (2 + pages + 4 * n) * r
    head = series[default]
    ratio = head.median / floor(default)
    case.ratios.append((f"verify --release of {n} artifacts ({2 * n} assets), --jobs {default}, vs the floor "
                        f"at that concurrency ({fmt_s(floor(default))})", ratio, "x", "<= 1.5x", ratio <= 1.5,
                        span(head), ""))
    speedup = sequential / head.median
    case.ratios.append((f"  same, vs its {2 + pages + 4 * n} requests one after another ({fmt_s(sequential)})",
                        speedup, "x faster", "bound by concurrency", None, "", ""))
    case.ratios.append((f"  set-up: sign {n} artifacts, upload them and their bundles one at a time, download "
                        f"all {2 * n} back and check them (GitHub at 0 ms)", upload.median, "", "(reported)", None,
                        fmt_s(upload.median), ""))
    case.caption = (f"--jobs {default}: {fmt_s(head.median)}, {ratio:.1f}x the floor at that concurrency; "
                    f"{speedup:.0f}x faster than its requests one after another")
    case.notes.append(
        f"Floor at c assets at once: the release and its tag, then the listing ({pages} pages: the first, then "
        f"the others 8 at once, {listing} round trips), then per artifact two downloads in sequence (bundle, "
        f"then artifact), each the API's redirect then the storage's answer, c artifacts at a time: "
        f"(2 + {listing} + 4 ceil(N / c)) r = " +
        ", ".join(f"{fmt_s(floor(j))} (c = {j})" for j in jobs_list) + ". Each figure: median of "
        f"{min(args.reps, 3)} runs. The release was filled by `sign --upload --upload-artifacts` with GitHub "
        "answering at once (timed once: the set-up row), then GitHub's latency was set back.")
    return case


def case_cold(args, tools: Tools, work: Path) -> Case:
    logs = work / "logs"
    ours = Series("releasekit-sign --help")
    peer = Series(f"sigstore --help (sigstore-python {SIGSTORE_PYTHON_VERSION})")
    load0 = loadavg()
    measure([str(tools.ours), "--help"], logs)
    measure([str(tools.sigstore), "--help"], logs)
    for _ in range(args.cold_reps):
        ours.samples.append(measure([str(tools.ours), "--help"], logs))
        peer.samples.append(measure([str(tools.sigstore), "--help"], logs))
    case = Case(key="cold", title="cold start: `--help` wall time", series=[ours, peer], load=(load0, loadavg()))
    r = peer.median / ours.median
    case.caption = f"{r:.0f}x faster start than sigstore-python"
    case.ratios.append(("cold start (`--help`) vs sigstore-python", r, "x faster", "(reported)", None,
                        span(ours), span(peer)))
    size = tools.ours.stat().st_size
    linkage = checked(["file", "-b", str(tools.ours)]).stdout.strip() if shutil.which("file") else ""
    kind = "statically linked" if "static" in linkage else "dynamically linked"
    case.ratios.append((f"release binary size (stripped, {kind})", size / MIB, "MiB", "(reported)", None,
                        f"{size / MIB:.1f} MiB", ""))
    image = image_size(args.image)
    if image is not None:
        engine, bytes_ = image
        case.ratios.append((f"container image size (`{args.image}`)", bytes_ / MIB, "MiB", "(reported)", None,
                            f"{bytes_ / MIB:.1f} MiB", ""))
        case.notes.append(f"Image size as `{engine} image inspect` reports it (uncompressed).")
    else:
        case.notes.append(
            "No container image was measured (pass --image REF naming a built image, with podman or a "
            "running Docker daemon): the Dockerfile's image is this binary, statically linked, plus a CA "
            "bundle on `scratch`."
        )
    return case


def image_size(ref: str | None) -> tuple[str, int] | None:
    if not ref:
        return None
    for engine in ("podman", "docker"):
        if not shutil.which(engine):
            continue
        p = subprocess.run([engine, "image", "inspect", "-f", "{{.Size}}", ref], capture_output=True, text=True)
        if p.returncode == 0 and p.stdout.strip().isdigit():
            return engine, int(p.stdout.strip())
    raise RunFailed(f"--image {ref}: neither podman nor docker can inspect it")


def fmt_size(b: int) -> str:
    if b >= GIB and b % GIB == 0:
        return f"{b // GIB} GiB"
    if b >= MIB:
        return f"{b / MIB:g} MiB"
    return f"{b / KIB:g} KiB"


def fmt_s(x: float) -> str:
    return f"{x * 1000:.0f} ms" if x < 1 else f"{x:.2f} s"


def span(s: Series) -> str:
    """Median with [min - max], for the summary."""
    return f"{fmt_s(s.median)} [{fmt_s(s.lo)} - {fmt_s(s.hi)}]"


def fmt_ratio(value: float, unit: str) -> str:
    if value != value:  # NaN
        return "n/a"
    if unit == "x faster":
        return f"{value:.1f}x faster"
    if unit == "of its throughput":
        return f"{value * 100:.0f} %"
    return f"{value:.1f} {unit}"


def machine() -> str:
    model = ""
    sha_ni = False
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and not model:
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags"):
                sha_ni = sha_ni or " sha_ni" in line
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({model or platform.machine()}; SHA-NI {'yes' if sha_ni else 'no'}), {platform.system()} {platform.release()}"


def git_rev() -> str:
    p = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "src", "sandbox", "Cargo.toml", "Cargo.lock"],
                           cwd=REPO, capture_output=True, text=True).stdout.strip()
    return (p.stdout.strip() or "unknown") + (" (with uncommitted changes)" if dirty else "")


def write_markdown(path: Path, cases: list[Case], args, tools: Tools, started: dt.datetime, command: str,
                   svg_name: str) -> None:
    ours_version = checked([str(tools.ours), "--version"]).stdout.strip()
    peer_version = checked([str(tools.sigstore), "--version"]).stdout.strip()
    lines = [
        "# releasekit-sign benchmark results",
        "",
        f"Reproduce: `{command}` (see [README.md](README.md)).",
        "",
        f"- Run: {started:%Y-%m-%d %H:%M} UTC, commit {git_rev()}, {'quick' if args.quick else 'full'} mode, "
        f"{args.reps} repetitions per case ({args.cold_reps} for start-up), after one untimed warm-up run each.",
        f"- Machine: {machine()}. Load average (1/5/15 min) at each case's start and end is in the tables: "
        "other work was running on the machine; tools alternate within each repetition (ABAB), so load falls on both.",
        f"- Sandbox: `releasekit-sandbox serve --latency-ms {args.latency_ms}` (every response of Fulcio, Rekor v1, "
        "the TSA, the OIDC issuer and GitHub is delayed that long), on 127.0.0.1, same machine.",
        f"- Tools: {ours_version}; sigstore-python {peer_version.split()[-1]}; "
        f"{first_line(['sha256sum', '--version'])}; {first_line(['openssl', 'version'])}.",
        f"- Our sign runs use `--jobs {args.jobs}`.",
        "- Every figure: median of the repetitions, with [min - max]. Ratios compare medians.",
        "",
        "## Summary",
        "",
        "| measure | releasekit-sign | reference | ratio | target | met |",
        "|---|---|---|---|---|---|",
    ]
    for c in cases:
        for label, value, unit, target, met, ours, ref in c.ratios:
            mark = {True: "yes", False: "**no**", None: ""}[met]
            shown = label.strip() if not label.startswith("  ") else "&nbsp;&nbsp;" + label.strip()
            ratio = "" if unit in ("MiB", "", "ms") else fmt_ratio(value, unit)
            if unit == "MiB" and label.strip().startswith("peak RSS growth"):
                ours, ratio = f"{value:+.1f} MiB", ""
            lines.append(f"| {shown} | {ours} | {ref} | {ratio} | {target} | {mark} |")
    lines += ["", f"![plot]({svg_name})", ""]
    for c in cases:
        lines += [f"## {c.title}", "", f"Load average: {c.load[0]} at start, {c.load[1]} at end.", "",
                  "| command | median | min | max | CPU (user+sys, median) | peak RSS (median / max) | runs |",
                  "|---|---|---|---|---|---|---|"]
        for s in c.series:
            lines.append(
                f"| {s.label} | {fmt_s(s.median)} | {fmt_s(s.lo)} | {fmt_s(s.hi)} | {fmt_s(s.cpu_median)} | "
                f"{s.rss_median_kib / KIB:.1f} / {s.rss_max_kib / KIB:.1f} MiB | {len(s.samples)} |"
            )
        lines.append("")
        for note in c.notes:
            lines += [note, ""]
    path.write_text("\n".join(lines))


def first_line(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True).stdout.splitlines()[0].strip()
    except (OSError, IndexError):
        return " ".join(argv[:1]) + " (version unknown)"


def write_svg(path: Path, cases: list[Case], args) -> None:
    """One panel per case, own time axis; bar = median, whisker = min..max."""
    width, label_w, right_pad = 980, 400, 150
    plot_w = width - label_w - right_pad
    bar_h, gap, panel_gap, title_h = 18, 6, 26, 24
    palette = {"ours": "#1f6feb", "ref": "#8c959f"}
    y = 44
    parts: list[str] = []
    parts.append(f'<text x="12" y="26" font-size="17" font-weight="bold">releasekit-sign benchmark '
                 f'({args.latency_ms} ms per request; median, whiskers min-max)</text>')
    for c in cases:
        if not c.series:
            continue
        if c.points:
            y = scale_panels(parts, c, y, width)
            continue
        parts.append(f'<text x="12" y="{y + 16}" font-size="14" font-weight="bold">{html.escape(c.title)}</text>')
        y += title_h
        top = max(s.hi for s in c.series)
        scale = plot_w / (top * 1.05)
        # axis ticks at "nice" steps
        step = nice_step(top * 1.05 / 4)
        t = 0.0
        axis_top = y
        rows_h = len(c.series) * (bar_h + gap)
        while t <= top * 1.05:
            x = label_w + t * scale
            parts.append(f'<line x1="{x:.1f}" y1="{axis_top}" x2="{x:.1f}" y2="{axis_top + rows_h}" '
                         f'stroke="#d0d7de" stroke-width="1"/>')
            parts.append(f'<text x="{x:.1f}" y="{axis_top + rows_h + 12}" font-size="10" text-anchor="middle" '
                         f'fill="#57606a">{html.escape(fmt_tick(t))}</text>')
            t += step
        for s in c.series:
            colour = palette["ours"] if s.label.startswith("releasekit-sign") else palette["ref"]
            w = s.median * scale
            parts.append(f'<text x="{label_w - 8}" y="{y + bar_h - 5}" font-size="12" text-anchor="end">'
                         f'{html.escape(s.label)}</text>')
            parts.append(f'<rect x="{label_w}" y="{y}" width="{max(w, 1):.1f}" height="{bar_h}" fill="{colour}"/>')
            x1, x2, ym = label_w + s.lo * scale, label_w + s.hi * scale, y + bar_h / 2
            parts.append(f'<line x1="{x1:.1f}" y1="{ym}" x2="{x2:.1f}" y2="{ym}" stroke="#24292f" stroke-width="1.2"/>')
            for xx in (x1, x2):
                parts.append(f'<line x1="{xx:.1f}" y1="{ym - 5}" x2="{xx:.1f}" y2="{ym + 5}" stroke="#24292f" '
                             f'stroke-width="1.2"/>')
            parts.append(f'<text x="{label_w + s.hi * scale + 6:.1f}" y="{y + bar_h - 5}" font-size="11" '
                         f'fill="#24292f">{html.escape(fmt_s(s.median))}</text>')
            y += bar_h + gap
        y += 26  # below the tick labels
        parts.append(f'<text x="{label_w}" y="{y}" font-size="12" fill="#24292f">{html.escape(c.caption)}</text>')
        y += panel_gap
    height = y + 4
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif">\n'
           f'<rect width="100%" height="100%" fill="white"/>\n' + "\n".join(parts) + "\n</svg>\n")
    path.write_text(svg)


def scale_panels(parts: list[str], c: Case, y: int, width: int) -> int:
    """Two line charts side by side, N on a log axis: wall time (log) and peak RSS (linear)."""
    import math
    parts.append(f'<text x="12" y="{y + 16}" font-size="14" font-weight="bold">{html.escape(c.title)}</text>')
    y += 30
    h, pad_l, gap = 200, 70, 60
    w = (width - 2 * pad_l - gap - 20) // 2
    ns = [n for n, _, _ in c.points]
    lx0, lx1 = math.log10(min(ns)), math.log10(max(ns))

    def xpos(x0: float, n: int) -> float:
        return x0 + (math.log10(n) - lx0) / max(lx1 - lx0, 1e-9) * w

    colours = {"sign": "#1f6feb", "verify": "#bf3989"}
    charts = (
        ("wall time (median, log scale)", lambda s: s.median, True, fmt_tick),
        ("peak RSS (max)", lambda s: s.rss_max_kib / KIB, False, lambda v: f"{v:g} MiB"),
    )
    for i, (title, value, log_y, tick) in enumerate(charts):
        x0 = pad_l + i * (w + pad_l + gap)
        vals = [value(s) for _, a, b in c.points for s in (a, b)]
        if log_y:
            lo = 10 ** math.floor(math.log10(min(vals)))
            hi = 10 ** math.ceil(math.log10(max(vals)))
            ticks = [lo * 10 ** k for k in range(int(round(math.log10(hi / lo))) + 1)]
            ypos = lambda v: y + h - (math.log10(v) - math.log10(lo)) / math.log10(hi / lo) * h
        else:
            hi = max(64.0, max(vals) * 1.1)
            step = nice_step(hi / 4)
            ticks = [k * step for k in range(int(hi / step) + 1)]
            ypos = lambda v: y + h - v / hi * h
        parts.append(f'<text x="{x0}" y="{y - 6}" font-size="12" fill="#24292f">{html.escape(title)}</text>')
        parts.append(f'<rect x="{x0}" y="{y}" width="{w}" height="{h}" fill="none" stroke="#d0d7de"/>')
        for t in ticks:
            yy = ypos(t)
            parts.append(f'<line x1="{x0}" y1="{yy:.1f}" x2="{x0 + w}" y2="{yy:.1f}" stroke="#eaeef2"/>')
            parts.append(f'<text x="{x0 - 6}" y="{yy + 4:.1f}" font-size="10" text-anchor="end" '
                         f'fill="#57606a">{html.escape(tick(t))}</text>')
        if not log_y:
            yy = ypos(64)
            parts.append(f'<line x1="{x0}" y1="{yy:.1f}" x2="{x0 + w}" y2="{yy:.1f}" stroke="#cf222e" '
                         f'stroke-dasharray="4 3"/>')
            parts.append(f'<text x="{x0 + w - 4}" y="{yy - 4:.1f}" font-size="10" text-anchor="end" '
                         f'fill="#cf222e">64 MiB target</text>')
        for n in ns:
            parts.append(f'<text x="{xpos(x0, n):.1f}" y="{y + h + 14}" font-size="10" text-anchor="middle" '
                         f'fill="#57606a">N={n}</text>')
        for k, what in enumerate(("sign", "verify")):
            pts = [(xpos(x0, n), ypos(value((a, b)[k]))) for n, a, b in c.points]
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py in pts)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colours[what]}" stroke-width="2"/>')
            for px, py in pts:
                parts.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{colours[what]}"/>')
            parts.append(f'<text x="{x0 + 8}" y="{y + 16 + 14 * k}" font-size="11" '
                         f'fill="{colours[what]}">{what}</text>')
    y += h + 36
    parts.append(f'<text x="{pad_l}" y="{y}" font-size="12" fill="#24292f">{html.escape(c.caption)}</text>')
    return y + 26


def fmt_tick(t: float) -> str:
    if t == 0:
        return "0"
    return f"{t * 1000:g} ms" if t < 1 else f"{round(t, 2):g} s"


def nice_step(raw: float) -> float:
    if raw <= 0:
        return 1.0
    mag = 10 ** int(f"{raw:e}".split("e")[1])
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str]):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="development mode: few and small files, 2 repetitions; writes to bench/quick/")
    p.add_argument("--latency-ms", type=int, default=50, help="latency the sandbox adds to every response (50)")
    p.add_argument("--reps", type=int, help="repetitions per case (full 7, quick 2)")
    p.add_argument("--cold-reps", type=int, help="repetitions of the start-up case (full 21, quick 5)")
    p.add_argument("--jobs", type=int, default=64, help="releasekit-sign --jobs for sign runs (64, its default)")
    p.add_argument("--jobs-sweep", default="32,64,128",
                   help="extra --jobs values timed in the many-small case, comma-separated ('' for none)")
    p.add_argument("--cases", default="sign-small,sign-large,verify,scale,release,cold",
                   help="comma-separated subset of: sign-small, sign-large, verify, scale, release, cold")
    p.add_argument("--out", help="directory for results.md and results.svg (full: bench/, quick: bench/quick/)")
    p.add_argument("--archive", action="store_true",
                   help="also copy the results to <out>/runs/<date>-<time>.{md,svg} (default in full mode)")
    p.add_argument("--workdir", help="where to generate artifacts (default: a temporary directory, removed after)")
    p.add_argument("--bin-dir", help="take releasekit-sign and releasekit-sandbox from here; do not build")
    p.add_argument("--no-build", action="store_true", help="use $CARGO_TARGET_DIR/release as is")
    p.add_argument("--sigstore", help="sigstore-python CLI to compare with (default: pinned venv under target/peers/)")
    p.add_argument("--image", help="container image whose size to report (podman, or docker with a running daemon)")
    a = p.parse_args(argv)
    a.jobs_sweep = [int(x) for x in a.jobs_sweep.split(",") if x.strip()]
    a.cases = [c.strip() for c in a.cases.split(",") if c.strip()]
    if a.quick:
        a.reps = a.reps or 2
        a.cold_reps = a.cold_reps or 5
        a.small_count, a.small_kib = 40, 64
        a.large_mib, a.medium_mib, a.medium_count = 64, 8, 10
        a.verify_count, a.verify_kib = 100, 64
        a.scale_counts, a.scale_kib = [10, 100, 300], 4
        a.release_count, a.release_kib, a.release_jobs = 50, 4, [8, 32]
        a.out = a.out or str(REPO / "bench" / "quick")
    else:
        a.reps = a.reps or 7
        a.cold_reps = a.cold_reps or 21
        a.small_count, a.small_kib = 200, 64
        a.large_mib, a.medium_mib, a.medium_count = 2048, 128, 10
        a.verify_count, a.verify_kib = 1000, 64
        a.scale_counts, a.scale_kib = [10, 100, 1000, 5000], 4
        a.release_count, a.release_kib, a.release_jobs = 500, 4, [8, 32, 128]
        a.out = a.out or str(REPO / "bench")
        a.archive = True
    return a


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    started = dt.datetime.now(dt.timezone.utc)
    command = "python3 bench/run.py" + (" " + shlex.join(argv) if argv else "")
    try:
        require_gnu_time()
        tools = build_or_find(args)
        ours_can_verify = has_verify(tools.ours)
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="releasekit-bench-", dir=args.workdir) as tmp:
            work = Path(tmp)
            cases: list[Case] = []
            with Sandbox(tools, work, args.latency_ms) as sb:
                for key, run_case in (
                    ("sign-small", lambda: case_sign_small(args, tools, sb, work)),
                    ("sign-large", lambda: case_sign_large(args, tools, sb, work)),
                    ("verify", lambda: case_verify(args, tools, sb, work, ours_can_verify)),
                    ("scale", lambda: case_scale(args, tools, sb, work)),
                    ("release", lambda: case_release(args, tools, sb, work)),
                ):
                    if key not in args.cases:
                        continue
                    cpu0 = sb.cpu_seconds()
                    case = run_case()
                    case.notes.append(
                        f"The sandbox itself used {sb.cpu_seconds() - cpu0:.1f} s of CPU during this case "
                        "(all runs, both tools, set-up included), on the same cores."
                    )
                    cases.append(case)
                    shutil.rmtree(work / "large", ignore_errors=True)  # 3 GiB: free it early
            if "cold" in args.cases:
                cases.append(case_cold(args, tools, work))
        write_svg(out / "results.svg", cases, args)
        write_markdown(out / "results.md", cases, args, tools, started, command, "results.svg")
        if args.archive:
            runs = out / "runs"
            runs.mkdir(exist_ok=True)
            stamp = f"{started:%Y-%m-%d-%H%M}"
            shutil.copyfile(out / "results.svg", runs / f"{stamp}.svg")
            md = (out / "results.md").read_text().replace("(results.svg)", f"({stamp}.svg)").replace(
                "(README.md)", "(../README.md)")
            (runs / f"{stamp}.md").write_text(md)
        log(f"wrote {out / 'results.md'} and {out / 'results.svg'}")
        print((out / "results.md").read_text())
        return 0
    except RunFailed as e:
        print(f"bench: a run failed: {e}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as e:
        print(f"bench: {redact([str(x) for x in e.cmd])} exited with {e.returncode}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
