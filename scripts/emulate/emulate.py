#!/usr/bin/env python3
"""Run the linked driver .sys under an emulator and compare its call trace with kmdf-sim's.

One command: links the driver for x86_64-pc-windows-msvc (ci/windows-check.py --link, with the
project's WdfDriverEntry.lib stand-in), runs the image under speakeasy (PyPI
speakeasy-emulator-refined, pinned by version and hash in a venv this script makes) with the
project's framework model (kmdf_model.py: each hook a documented behaviour citing docs/facts.md),
drives the scenario — load (DriverEntry with a Parameters key seeded), add the device
(AddDevice -> EvtDriverDeviceAdd), every IOCTL the driver serves and one it does not, remove the
device, unload — and prints the WDF/kernel call trace: routine, function-table slot, key
arguments, status, registry keys and values touched.

Then the same scenario runs on kmdf-sim with the driver's source (wdfkey-sim-trace) and the two
traces are compared: the same DDIs in the same order with the same statuses, the same registry keys
and values read and written, the same IOCTL results. Every difference is printed; the routines only
one side has by design are listed, with their reasons, in known-differences.toml, and so are the
emulator's limitations.

Variants:
  reference  the project's driver (wdfkey-guard): passes when the traces agree and the emulated run
             is clean (no stop, no finding, nothing leaked, bound and unbound).
  raw        the seed bug (scripts/emulate/raw-variant): a driver that ZwCloses its WDFKEY's handle in
             EvtDriverUnload. Passes when both traces agree, both show the driver's own ZwClose of
             the key's handle, and both see the framework close it again (kmdf-sim: bug check 0x93;
             the model: the same finding).

Exit status: 0 every variant passed; 1 a difference or a failed expectation; 2 bad arguments or a
setup problem (link failed, no venv, a tool missing).
"""

import argparse
import difflib
import hashlib
import json
import os
import subprocess
import sys
import time
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
TARGET = "x86_64-pc-windows-msvc"
IMAGES = {"reference": "wdfkey_guard.dll", "raw": "wdfkey_raw_variant.dll"}
REQUIREMENTS = HERE / "requirements.txt"
KNOWN = HERE / "known-differences.toml"
FUNCENUM = REPO / "kmdf-sim" / "data" / "kmdf-1.33-types.tsv"


class Setup(Exception):
    """Stops the run before anything is claimed (exit 2)."""


def say(msg):
    print(f"emulate: {msg}", flush=True)


def parse_args(argv):
    p = argparse.ArgumentParser(prog="scripts/emulate/emulate.py", description=__doc__.split("\n\n", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=(
                                    "examples:\n"
                                    "  scripts/emulate/emulate.py --install          # link, emulate, compare both variants\n"
                                    "  scripts/emulate/emulate.py --variant reference --image DIR/wdfkey_guard.dll\n"
                                    "  scripts/emulate/emulate.py --wrong-slot-test   # a shifted function enum must fail\n"))
    p.add_argument("--variant", choices=["reference", "raw", "all"], default="all")
    p.add_argument("--work", type=Path, default=Path(os.environ.get("EMULATE_WORK") or "/tmp/wdfkey-emulate"),
                   help="ci/windows-check.py's work directory for the link (default $EMULATE_WORK or "
                        "/tmp/wdfkey-emulate)")
    p.add_argument("--image-dir", type=Path,
                   help="use the images already linked in DIR (wdfkey_guard.dll, wdfkey_raw_variant.dll) "
                        "instead of linking")
    p.add_argument("--bindings", metavar="FILE|DIR",
                   help="pass to ci/windows-check.py: build against these wdk-sys bindings")
    p.add_argument("--install", action="store_true",
                   help="let ci/windows-check.py apt-get install the toolchain and linker it needs")
    p.add_argument("--venv", type=Path, default=REPO / "target" / "emulate" / "venv",
                   help="the venv speakeasy is installed in (default target/emulate/venv)")
    p.add_argument("--report", type=Path, default=REPO / "target" / "emulate" / "report.json",
                   help="JSON report (default target/emulate/report.json)")
    p.add_argument("--wrong-slot-test", action="store_true",
                   help="build a scratch copy of the bindings whose function enum is shifted by one from "
                        "WdfDriverCreate on (outside the repository), link the driver against it, and pass "
                        "only if the emulated run or the comparison FAILS")
    p.add_argument("--self-test", action="store_true",
                   help="after the runs, show that the checks can fail: the reference image run with the "
                        "model's function table shifted by one from WdfDriverCreate on must fail, and a "
                        "kmdf-sim trace with one status changed must differ from the emulated one")
    p.add_argument("--quiet-trace", action="store_true", help="print differences and the verdict only")
    return p.parse_args(argv)


# ---------------------------------------------------------------- tools


def venv_python(venv):
    """A venv with the pinned speakeasy (requirements.txt, --require-hashes), made once per
    requirements file."""
    py = venv / "bin" / "python"
    stamp = venv / "requirements.sha256"
    want = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if py.exists() and stamp.is_file() and stamp.read_text() == want:
        return py
    say(f"making the venv {venv} (speakeasy, pinned by hash)")
    venv.parent.mkdir(parents=True, exist_ok=True)
    r = subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], capture_output=True, text=True)
    if r.returncode != 0:
        raise Setup(f"python3 -m venv failed: {r.stderr.strip()} (Debian: apt-get install python3-venv)")
    # --no-build-isolation: lznt1 is an sdist; it builds with the venv's own setuptools, nothing
    # unpinned is fetched.
    cmd = [str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--require-hashes",
           "--no-deps", "--no-build-isolation", "-r", str(REQUIREMENTS)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise Setup(f"pip install of {REQUIREMENTS.name} failed:\n{r.stdout}{r.stderr}")
    stamp.write_text(want)
    return py


def link(a, work, bindings=None):
    """ci/windows-check.py --link: the two driver images, linked with the stand-in."""
    cmd = [sys.executable, str(REPO / "ci" / "windows-check.py"), "--link", "--no-clippy", "--work", str(work),
           "--report", str(work / "windows-check-report.json")]
    if a.install:
        cmd.append("--install")
    if bindings:
        cmd += ["--bindings", str(bindings)]
    say(f"linking: {' '.join(cmd[1:])}")
    t0 = time.monotonic()
    r = subprocess.run(cmd, cwd=REPO)
    if r.returncode != 0:
        raise Setup(f"ci/windows-check.py --link exited {r.returncode}: no image to emulate")
    say(f"linked in {time.monotonic() - t0:.0f} s")
    return work / "proj" / "target" / "link" / TARGET / "debug"     # windows-check.py's LINK_TARGET_DIR


def sim_trace(variant):
    r = subprocess.run(["cargo", "run", "--quiet", "--locked", "-p", "wdfkey-sim-trace", "--", "--variant", variant],
                       cwd=REPO, capture_output=True, text=True)
    if r.returncode != 0:
        raise Setup(f"wdfkey-sim-trace failed:\n{r.stderr}")
    return json.loads(r.stdout)


def header_slots():
    """KMDF 1.33's function table from wdffuncenum.h (kmdf-sim/data): slot -> DDI, and the count."""
    rows = {}
    for line in FUNCENUM.read_text().splitlines():
        f = line.split("\t")
        if len(f) >= 5 and f[0] == "enum" and f[1] == "WDFFUNCENUM":
            rows[f[4]] = int(f[3])
    count = rows.pop("WdfFunctionTableNumEntries", None)
    slots = sorted((i, n[: -len("TableIndex")]) for n, i in rows.items() if n.endswith("TableIndex"))
    if count is None or [i for i, _ in slots] != list(range(count)):
        raise Setup(f"{FUNCENUM}: the WDFFUNCENUM rows are not slots 0..WdfFunctionTableNumEntries-1")
    return {"slots": [n for _, n in slots], "count": count}


def shifted(slots, at="WdfDriverCreate"):
    """The table with every name from `at` on moved up one slot (the count unchanged)."""
    names = slots["slots"]
    i = names.index(at)
    return {"slots": names[:i] + ["WdfShiftedAway"] + names[i:-1], "count": slots["count"]}


def self_test(py, image_dir, slots, work, known):
    """The checks can fail: a wrong slot fails the run or the comparison; a changed status is a
    difference."""
    failures = []
    sim = sim_trace("reference")
    emu = emulate(py, image_dir / IMAGES["reference"], sim, shifted(slots), work, "self-test-shifted")
    differences, _, _ = compare(sim, emu, known[0], known[1])
    problems = judge("reference", sim, emu, differences)
    if not problems:
        failures.append("the reference image passed with the model's function table shifted by one")
    else:
        say("self-test: a table shifted by one from WdfDriverCreate fails: "
            + (emu["stopped"] or problems[0].splitlines()[0]))
    good = emulate(py, image_dir / IMAGES["reference"], sim, slots, work, "self-test")
    changed = json.loads(json.dumps(sim))
    call = next(e for e in changed["trace"] if e["routine"] == "WdfRegistryQueryULong")
    call["status"] = -1073741772 if call["status"] == 0 else 0
    differences, _, _ = compare(changed, good, known[0], known[1])
    if len(differences) != 1 or "WdfRegistryQueryULong" not in differences[0]:
        failures.append(f"one changed status gave {len(differences)} difference(s), not 1: {differences}")
    else:
        say("self-test: one changed status in kmdf-sim's trace is reported as one difference")
    return failures


def emulate(py, image, plan, slots, work, variant):
    d = work / "emulate"
    d.mkdir(parents=True, exist_ok=True)
    files = {k: d / f"{variant}-{k}.json" for k in ("plan", "slots", "emulated")}
    files["plan"].write_text(json.dumps(plan))
    files["slots"].write_text(json.dumps(slots))
    files["emulated"].unlink(missing_ok=True)
    r = subprocess.run([str(py), "-B", str(HERE / "run_speakeasy.py"), str(image), str(files["plan"]),
                        str(files["slots"]), str(files["emulated"])], capture_output=True, text=True, timeout=600)
    if r.returncode != 0 or not files["emulated"].is_file():
        raise Setup(f"run_speakeasy.py on {image.name} exited {r.returncode}:\n{r.stdout[-3000:]}{r.stderr[-3000:]}")
    return json.loads(files["emulated"].read_text())


# ---------------------------------------------------------------- comparison


def known_differences():
    k = tomllib.loads(KNOWN.read_text())
    return ({e["routine"]: e["reason"] for e in k.get("emulator_only", [])},
            {e["routine"]: e["reason"] for e in k.get("simulator_only", [])},
            k.get("limitations", []))


def call_key(e):
    return (e["routine"], e["status"], tuple(e["registry"]))


def show_call(e):
    st = "" if e["status"] is None else f" -> {e['status'] & 0xFFFFFFFF:#010x}"
    return f"{e['routine']}{st}" + "".join(f"\n{'':12}| {r}" for r in e["registry"])


def compare(sim, emu, emulator_only, simulator_only):
    """Every difference between the two traces (after the known ones), as text."""
    a = [e for e in sim["trace"] if e["routine"] not in simulator_only]
    b = [e for e in emu["trace"] if "routine" in e and e["routine"] not in emulator_only]
    out = []
    sm = difflib.SequenceMatcher(None, [call_key(e) for e in a], [call_key(e) for e in b], autojunk=False)
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op == "equal":
            continue
        lines = [f"  {op} at simulator call {i1 + 1}, emulated call {j1 + 1}:"]
        lines += [f"    kmdf-sim : step {e['step']} {show_call(e)}" for e in a[i1:i2]]
        lines += [f"    emulated : step {e['step']} {show_call(e)}" for e in b[j1:j2]]
        out.append("\n".join(lines))
    sim_io = {r["step"]: r for r in sim["io"]}
    emu_io = {r["step"]: r for r in emu["io"]}
    for step in sorted(set(sim_io) | set(emu_io)):
        x, y = sim_io.get(step), emu_io.get(step)
        if x != y:
            out.append(f"  IOCTL result of step {step}:\n    kmdf-sim : {x}\n    emulated : {y}")
    return out, len(a), len(b)


def print_trace(emu, plan):
    steps = plan["steps"]
    last = None
    for e in emu["trace"]:
        if e["step"] != last:
            last = e["step"]
            s = steps[last] if last < len(steps) else {"step": "?"}
            print(f"  == step {last}: {s['step']}" + (f" {s.get('name', '')}" if s["step"] == "ioctl" else ""))
        if "event" in e:
            print(f"       .. {e['event']}")
            continue
        slot = "  --  " if e["slot"] is None else f"[{e['slot']:>3}] "
        st = "" if e["status"] is None else f" -> {e['status'] & 0xFFFFFFFF:#010x}"
        print(f"     {slot} {e['routine']}{st}  {e['args']}")
        for r in e["registry"]:
            print(f"{'':14}| {r}")


def judge(variant, sim, emu, differences):
    """What must hold, beyond the traces agreeing."""
    problems = []
    if emu["errors"]:
        problems += emu["errors"]
    if sim["errors"]:
        problems += [f"kmdf-sim: {e}" for e in sim["errors"]]
    if not emu["bound"]:
        problems.append("the stand-in never bound to the framework (WdfVersionBind)")
    misnamed = {d[0] for d in emu["slot_names"]["disagreements"]}
    used = {e["slot"] for e in emu["trace"] if e.get("slot") is not None}
    if used & misnamed:
        problems.append(f"slots {sorted(used & misnamed)} are named differently by speakeasy's WDFFUNCTIONS and "
                        f"wdffuncenum.h: {emu['slot_names']['disagreements']}")
    zwclose = [e for e in emu["trace"] if e.get("routine") == "ZwClose" and any(
        r.startswith("close ") for r in e["registry"])]
    sim_zwclose = [e for e in sim["trace"] if e["routine"] == "ZwClose"]
    if variant == "reference":
        if emu["stopped"]:
            problems.append(f"the emulated run stopped: {emu['stopped']}")
        problems += [f"finding: {f}" for f in emu["findings"]]
        if emu["leaks"]:
            problems.append(f"pool leaked at unload: {emu['leaks']}")
        if emu["live_objects"]:
            problems.append(f"framework objects left after unload: {emu['live_objects']}")
        if not emu["unbound"]:
            problems.append("the driver never unbound (WdfVersionUnbind): DriverUnload was not the stub's")
        if sim["stop"]:
            problems.append("kmdf-sim stopped: " + sim["stop"].splitlines()[0])
        problems += [f"kmdf-sim violation: {v}" for v in sim["violations"]]
        if zwclose:
            problems.append("the reference driver ZwCloses a key handle itself")
    else:
        if not zwclose:
            problems.append("the emulated trace does not show the driver's own ZwClose of the key's handle")
        if not sim_zwclose:
            problems.append("kmdf-sim's trace does not show the driver's ZwClose")
        if not any("framework closed WDFKEY" in f for f in emu["findings"]):
            problems.append("the framework model did not see its second close of the key's handle")
        if "INVALID_KERNEL_HANDLE (93)" not in (sim["stop"] or ""):
            problems.append("kmdf-sim did not bug-check 0x93")
    problems += [f"trace difference:\n{d}" for d in differences]
    return problems


def run_variant(variant, py, image_dir, slots, work, known, quiet):
    emulator_only, simulator_only, _ = known
    image = image_dir / IMAGES[variant]
    if not image.is_file():
        raise Setup(f"no image {image}")
    sim = sim_trace(variant)
    t0 = time.monotonic()
    emu = emulate(py, image, sim, slots, work, variant)
    seconds = time.monotonic() - t0
    print(f"\n== {variant}: {image} under speakeasy {emu['speakeasy']} "
          f"({seconds:.1f} s, of which emulation {emu['seconds']:.1f} s)")
    if not quiet:
        print_trace(emu, sim)
    differences, n_sim, n_emu = compare(sim, emu, emulator_only, simulator_only)
    used = sorted({(e["slot"], e["routine"]) for e in emu["trace"] if e.get("slot") is not None})
    print("  table slots used: " + ", ".join(f"{n} {s}" for s, n in used))
    confirmed = set(emu["slot_names"]["confirmed_by_speakeasy"])
    print(f"  {sum(s in confirmed for s, _ in used)} of these {len(used)} slots are named the same by speakeasy's own "
          f"WDFFUNCTIONS ({emu['slot_names']['speakeasy']} entries; it names "
          f"{', '.join(str(d[0]) for d in emu['slot_names']['disagreements']) or 'none'} otherwise); "
          f"the rest by wdffuncenum.h alone")
    print(f"  compared {n_sim} kmdf-sim calls with {n_emu} emulated calls "
          f"(dropped as known: {', '.join(sorted(emulator_only))} from the emulated side)")
    for f in emu["findings"]:
        print(f"  model finding: {f}")
    if sim["stop"]:
        print("  kmdf-sim stop: " + " | ".join(l.strip() for l in sim["stop"].splitlines()
                                                 if "(93)" in l or l.startswith("ROOT_CAUSE")))
    if differences:
        print(f"  {len(differences)} difference(s):")
        for d in differences:
            print(d)
    problems = judge(variant, sim, emu, differences)
    verdict = "PASSED" if not problems else "FAILED"
    detail = {"reference": "traces agree; emulated run clean",
              "raw": "traces agree; both show the driver's ZwClose of its WDFKEY's handle and the framework's "
                     "second close (0x93)"}[variant]
    print(f"  {variant}: {verdict}" + (f": {detail}" if not problems else ""))
    for p in problems:
        print(f"    - {p}")
    return {"variant": variant, "image": str(image), "passed": not problems, "problems": problems,
            "differences": differences, "slots_used": [{"slot": s, "routine": n} for s, n in used],
            "emulated_calls": n_emu, "simulator_calls": n_sim, "seconds": round(seconds, 2),
            "emulated": emu, "simulator": {k: sim[k] for k in ("trace", "io", "stop", "violations", "errors")}}


# ---------------------------------------------------------------- the wrong-slot test


def shifted_bindings(work):
    """A scratch copy of the shipped bindings whose _WDFFUNCENUM is shifted by one from
    WdfDriverCreate on (each index + 1, the count unchanged), with its MANIFEST's sums redone."""
    import lzma  # noqa: F401  (tarfile's xz support)
    import tarfile
    src = REPO / "ci" / "windows-check" / "wdk-sys-0.5.2-bindings.tar.xz"
    out = work / "shifted-bindings"
    if out.exists():
        import shutil
        shutil.rmtree(out)
    out.mkdir(parents=True)
    with tarfile.open(src) as t:
        for m in t.getmembers():
            if m.isfile():
                (out / Path(m.name).name).write_bytes(t.extractfile(m).read())
    types = (out / "types.rs").read_text()
    import re
    start = types.index("pub mod _WDFFUNCENUM {")
    end = types.index("\n}", start)
    body = types[start:end]
    first = int(re.search(r"WdfDriverCreateTableIndex: Type = (\d+);", body).group(1))

    def bump(m):
        name, n = m.group(1), int(m.group(2))
        if name == "WdfFunctionTableNumEntries" or n < first or n + 1 >= 458:
            return m.group(0)
        return f"pub const {name}: Type = {n + 1};"
    shifted = re.sub(r"pub const (\w+): Type = (\d+);", bump, body)
    (out / "types.rs").write_text(types[:start] + shifted + types[end:])
    manifest = (out / "MANIFEST").read_text()
    for f in ("constants.rs", "types.rs", "ntddk.rs", "wdf.rs"):
        digest = hashlib.sha256((out / f).read_bytes()).hexdigest()
        manifest = re.sub(rf"^[0-9a-f]{{64}}  {re.escape(f)}$", f"{digest}  {f}", manifest, flags=re.M)
    (out / "MANIFEST").write_text(manifest)
    return out


# ---------------------------------------------------------------- main


def main(argv):
    a = parse_args(argv)
    t0 = time.monotonic()
    try:
        known = known_differences()
        slots = header_slots()
        py = venv_python(a.venv)
        if a.wrong_slot_test:
            work = a.work / "wrong-slot"
            bindings = shifted_bindings(work)
            say(f"wrong-slot test: bindings with _WDFFUNCENUM shifted by one from WdfDriverCreate on: {bindings}")
            image_dir = link(a, work, bindings)
            result = run_variant("reference", py, image_dir, slots, work, known, a.quiet_trace)
            ok = not result["passed"]
            say("wrong-slot test " + ("PASSED: the driver built against a shifted function enum fails the "
                                      "emulated run / the comparison" if ok else
                                      "FAILED: a shifted function enum went unnoticed"))
            return 0 if ok else 1
        image_dir = a.image_dir or link(a, a.work, a.bindings)
        variants = ["reference", "raw"] if a.variant == "all" else [a.variant]
        results = [run_variant(v, py, image_dir, slots, a.work, known, a.quiet_trace) for v in variants]
        self_test_failures = self_test(py, image_dir, slots, a.work, known) if a.self_test else []
    except Setup as e:
        print(f"emulate: error: {e}", file=sys.stderr)
        return 2
    print("\n== emulator limitations (what these runs do not check; scripts/emulate/known-differences.toml)")
    for lim in known[2]:
        print(f"  - {lim}")
    print("== known differences (routines only the emulated side has, dropped before comparing)")
    for r, why in known[0].items():
        print(f"  - {r}: {' '.join(why.split())}")
    a.report.parent.mkdir(parents=True, exist_ok=True)
    a.report.write_text(json.dumps({"tool": "scripts/emulate/emulate.py", "results": results,
                                    "known_differences": {"emulator_only": known[0], "simulator_only": known[1]},
                                    "limitations": known[2], "seconds": round(time.monotonic() - t0, 1)},
                                   indent=1) + "\n")
    passed = sum(r["passed"] for r in results)
    for f in self_test_failures:
        print(f"emulate: self-test FAILED: {f}")
    print(f"emulate: {passed} passed, {len(results) - passed} failed ({time.monotonic() - t0:.0f} s; report {a.report})")
    return 0 if passed == len(results) and not self_test_failures else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
