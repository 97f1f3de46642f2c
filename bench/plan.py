"""Benchmark ``buzon plan`` against a bare ``polars.read_excel`` and a naive openpyxl validator.

    .venv/bin/python bench/plan.py --entries 1000000

Generates an N-entry wide upload (≈N/3 rows: RFC, name, RP, 2 emails, 1 mobile; a title row; ~1%
of deliberate mistakes; some mobiles stored as Excel numbers), then runs each contender as a whole
subprocess (imports included) and reports wall time, CPU time (user + system: steadier than wall
time on a shared machine), peak RSS (``os.wait4`` rusage of that child) and the ratios. Targets at
1,000,000 entries: plan <= 2.5x the bare read, >= 5x faster than the naive loop, peak RSS <= 2 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent

RFC_ALPHABET = "0123456789ABCDEFGHIJKLMN&OPQRSTUVWXYZ Ñ"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

NAIVE = r"""
import sys
from collections import defaultdict

import email_validator
import openpyxl
import phonenumbers
from stdnum.mx import rfc as rfc_mod

wb = openpyxl.load_workbook(sys.argv[1], read_only=True)
accepted = rejected = 0
emails = defaultdict(set)
phones = {}
owner = {}
for ws in wb.worksheets:
    header = None
    for row in ws.iter_rows(values_only=True):
        if header is None:
            if row and any(str(c).strip().upper() == "RFC" for c in row if c is not None):
                header = [str(c).strip().lower() if c is not None else "" for c in row]
            continue
        rec = dict(zip(header, row))
        rfc = str(rec.get("rfc") or "").strip().upper()
        rp = str(rec.get("registro patronal") or "").replace("-", "").strip().upper() or None
        ok_rfc = rfc_mod.is_valid(rfc) and rfc not in ("XAXX010101000", "XEXX010101000")
        if rp is not None and owner.setdefault(rp, rfc) != rfc:
            ok_rfc = False
        for key, value in rec.items():
            if value is None or not key.startswith(("correo", "celular")):
                continue
            ok = ok_rfc
            if key.startswith("correo"):
                try:
                    addr = email_validator.validate_email(
                        str(value).strip(), check_deliverability=False
                    ).normalized.lower()
                except email_validator.EmailNotValidError:
                    ok = False
                if ok:
                    scope = emails[(rfc, rp)]
                    if addr not in scope and len(scope) >= 5:
                        ok = False
                    scope.add(addr)
            else:
                text = str(value).replace(".0", "") if isinstance(value, float) else str(value)
                try:
                    number = phonenumbers.parse(text, "MX")
                    ok = ok and phonenumbers.is_valid_number(number)
                except phonenumbers.NumberParseException:
                    ok = False
                if ok:
                    national = str(number.national_number)
                    if phones.setdefault((rfc, rp), national) != national:
                        ok = False
            accepted += ok
            rejected += not ok
print(accepted, rejected)
"""


def _rfc(rnd: random.Random, fisica: bool) -> str:
    from stdnum.mx.rfc import calc_check_digit

    letters = "".join(rnd.choice(LETTERS) for _ in range(4 if fisica else 3))
    date = f"{rnd.randint(50, 99):02d}{rnd.randint(1, 12):02d}{rnd.randint(1, 28):02d}"
    homo = rnd.choice("123456789ABCDEFGHJKLMNPRSTUV") + rnd.choice(
        "123456789ABCDEFGHJKLMNPRSTUVXYZ"
    )
    body = letters + date + homo
    return body + calc_check_digit(body)


def _rp(index: int) -> str:
    from schemas.registro_patronal import calc_check_digit

    head = LETTERS[index % 26] if index % 3 == 0 else str(1 + index % 9)
    payload = f"{head}{(index // 26) % 100:02d}{index % 100000:05d}{10 + index % 4 * 10:02d}"
    return payload + calc_check_digit(payload)


def generate(path: Path, entries: int, seed: int = 7) -> int:
    """Write an N-entry upload; returns the number of data rows."""
    import xlsxwriter

    rnd = random.Random(seed)
    rows = -(-entries // 3)
    n_rfcs = max(3, rows // 30)
    rfcs = [_rfc(rnd, fisica=i % 4 == 0) for i in range(n_rfcs)]
    names = [f"Cliente {i:05d} S.A. de C.V." for i in range(n_rfcs)]
    domains = [f"cliente{i:05d}.com.mx" for i in range(n_rfcs)]
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet("Medios por RP")
    sheet.write_row(0, 0, ["Carga masiva de medios de contacto (benchmark)"])
    sheet.write_row(
        2, 0, ["RFC", "Razón social", "Registro patronal", "Correo 1", "Correo 2", "Celular"]
    )
    for r in range(rows):
        c = r * n_rfcs // rows  # RFCs in blocks: each owns its consecutive RPs
        rp = _rp(r) if r % 30 else None  # every 30th row is the RFC scope
        mistake = rnd.random()
        rfc = rfcs[c]
        mail1 = f"nomina{r % 7}@{domains[c]}"
        mail2 = f"RH.{r}@{domains[c]}"
        mobile: object = f"{rnd.choice(['55', '33', '81', '222'])}{rnd.randint(10**7, 10**8 - 1)}"[
            :10
        ]
        if mistake < 0.002:
            rfc = rfc[:8]
        elif mistake < 0.004 and rp:
            rp = rp[:-1] + str((int(rp[-1]) + 1) % 10)
        elif mistake < 0.006:
            mail2 = mail2.replace("@", "@@")
        elif mistake < 0.008:
            mobile = "800" + str(mobile)[3:]
        if r % 4 == 0:
            mobile = int(str(mobile))  # Excel number cell
        elif r % 4 == 1:
            mobile = f"+52 1 {str(mobile)[:2]} {str(mobile)[2:6]} {str(mobile)[6:]}"
        sheet.write_row(r + 3, 0, [rfc, names[c], rp or "", mail1, mail2, mobile])
    book.close()
    return rows


def run(label: str, argv: list[str]) -> dict:
    """Run ``argv`` as a child; wall time and that child's own peak RSS."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # wait4 gives this child's rusage alone (RUSAGE_CHILDREN would mix the contenders).
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    out = proc.stdout.read().decode() if proc.stdout else ""
    err = proc.stderr.read().decode() if proc.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code
    if code != 0:
        raise SystemExit(f"{label} failed ({code}):\n{err[-2000:]}")
    cpu = usage.ru_utime + usage.ru_stime
    return {
        "label": label,
        "seconds": wall,
        "cpu": cpu,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "stdout": out,
    }


def _show(result: dict, runs: list[dict] | None = None) -> None:
    every = ""
    if runs and len(runs) > 1:
        every = "  (runs: " + " ".join(f"{r['seconds']:.2f}" for r in runs) + ")"
    print(
        f"{result['label']:6s} {result['seconds']:7.2f} s wall  {result['cpu']:7.2f} s CPU  "
        f"peak RSS {result['peak_rss_mb']:6.0f} MiB{every}",
        flush=True,
    )


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument(
        "--file", type=Path, help="use this upload (generated there first if it does not exist)"
    )
    parser.add_argument("--skip-naive", action="store_true", help="do not run the naive loop")
    parser.add_argument("--repeat", type=int, default=1, help="best of N runs for plan and read")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    workdir = Path(tempfile.mkdtemp(prefix="buzon-bench-"))
    path = args.file or workdir / f"carga_{args.entries}.xlsx"
    if not path.exists():
        start = time.perf_counter()
        rows = generate(path, args.entries)
        print(
            f"generated {path} ({rows:,} rows, {path.stat().st_size / 2**20:.1f} MiB) "
            f"in {time.perf_counter() - start:.1f} s",
            flush=True,
        )
    py = str(VENV_BIN / "python")
    contenders = {
        # --sin-registro: the stage alone, whatever store the working folder may hold.
        "plan": [str(VENV_BIN / "buzon"), "plan", str(path), "--json", "--sin-registro"],
        "read": [py, "-c", f"import polars as pl; pl.read_excel({str(path)!r})"],
    }
    results: dict[str, dict] = {}
    every: dict[str, list[dict]] = {}
    for label, argv in contenders.items():
        runs = every[label] = [run(label, argv) for _ in range(args.repeat)]
        results[label] = min(runs, key=lambda r: r["seconds"])
        _show(results[label], runs)
    if not args.skip_naive:
        naive = workdir / "naive.py"
        naive.write_text(NAIVE)
        results["naive"] = run("naive", [py, str(naive), str(path)])
        _show(results["naive"])

    summary = json.loads(results["plan"]["stdout"])
    plan_s, read_s = results["plan"]["seconds"], results["read"]["seconds"]
    print(
        f"entries validated: {summary['entries']:,} (accepted {summary['accepted']:,}, "
        f"rejected {summary['rejected']:,})"
    )
    plan_c, read_c = results["plan"]["cpu"], results["read"]["cpu"]
    print(
        f"plan / bare read     = {plan_s / read_s:5.2f}x wall, {plan_c / read_c:5.2f}x CPU "
        "(target <= 2.5x)"
    )
    if args.repeat > 1:
        # Best-of-N above; the medians show how much a noisy machine moves it.
        walls = {label: _median([r["seconds"] for r in runs]) for label, runs in every.items()}
        print(f"  median of {args.repeat} runs = {walls['plan'] / walls['read']:5.2f}x wall")
    if "naive" in results:
        naive_s, naive_c = results["naive"]["seconds"], results["naive"]["cpu"]
        print(
            f"naive loop / plan    = {naive_s / plan_s:5.2f}x wall, {naive_c / plan_c:5.2f}x CPU "
            "(target >= 5x)"
        )
    print(f"plan peak RSS        = {results['plan']['peak_rss_mb']:.0f} MiB (target <= 2048 MiB)")


if __name__ == "__main__":
    main()
