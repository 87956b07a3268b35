#!/usr/bin/env python3
"""Build and run every C KMDF driver of a Windows-driver-samples checkout with the kit.

    scripts/cdriver/samples.py --samples ~/Windows-driver-samples \\
        --headers ~/wdf/src/publicinc/wdf/kmdf/1.33 [--harness target/debug/wdfkey-harness] [--json OUT]

A driver project is a .vcxproj with <DriverType>KMDF</DriverType> and <ConfigurationType>Driver,
whose ClCompile sources are all C (.c). Each is built with scripts/cdriver/build (--sdk mingw;
include directories: the project's own and every directory with headers under the sample's
top-level folder), unchanged; each image that links is loaded and run for one stress cycle with
`wdfkey-harness run-sys --cycles 1` (install, add device, disable/enable, unload). Nothing is
fetched: the checkout and the headers are the user's. Prints one line per project and the counts
(compile, link, load = DriverEntry ran without a stop, cycle clean); --json writes them too.
"""
import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def projects(root):
    for p in sorted(root.rglob("*.vcxproj")):
        text = p.read_text(errors="replace")
        if "<DriverType>KMDF</DriverType>" not in text or "<ConfigurationType>Driver" not in text:
            continue
        sources = [s.strip().replace("\\", "/") for group in re.findall(r'<ClCompile Include="([^"]+)"', text)
                   for s in group.split(";") if s.strip()]
        if not sources or not all(s.lower().endswith(".c") for s in sources):
            continue
        yield p, [on_disk(p.parent / s) for s in sources]


def on_disk(path):
    """`path` as the disk spells it (the projects name files in any case, as Windows allows)."""
    if path.exists():
        return path
    parent = on_disk(path.parent) if path.parent != path else path.parent
    if parent.is_dir():
        for f in parent.iterdir():
            if f.name.lower() == path.name.lower():
                return f
    return parent / path.name


def include_dirs(project):
    """The project's directory, then its AdditionalIncludeDirectories that name directories of
    the checkout ($(ProjectDir)-relative or plain relative paths; the WDK's macros are the kit's
    --headers and mingw-w64)."""
    dirs = [project.parent]
    text = project.read_text(errors="replace")
    for group in re.findall(r"<AdditionalIncludeDirectories>([^<]*)</AdditionalIncludeDirectories>", text):
        for d in group.split(";"):
            d = d.strip().replace("\\", "/")
            for macro in ("$(MSBuildProjectDirectory)", "$(ProjectDir)", "$(MSBuildThisFileDirectory)"):
                d = d.replace(macro, str(project.parent) + "/")
            if not d or "$(" in d or "%(" in d:
                continue
            path = (project.parent / d).resolve()
            if path.is_dir() and path not in dirs:
                dirs.append(path)
    return dirs


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--samples", type=Path, required=True, help="a Windows-driver-samples checkout")
    p.add_argument("--headers", type=Path, required=True, help="the KMDF 1.33 headers")
    p.add_argument("--harness", type=Path, default=HERE.parent.parent / "target" / "debug" / "wdfkey-harness",
                   help="the wdfkey-harness binary (cargo build -p wdfkey-harness)")
    p.add_argument("--json", type=Path, help="write the results here")
    a = p.parse_args()
    for path, what in ((a.samples, "--samples"), (a.headers, "--headers")):
        if not path.is_dir():
            print(f"samples.py: {what} {path}: not a directory", file=sys.stderr)
            return 2
    if not a.harness.is_file():
        print(f"samples.py: no {a.harness}: cargo build -p wdfkey-harness (or --harness)", file=sys.stderr)
        return 2
    results = []
    with tempfile.TemporaryDirectory(prefix="cdriver-samples-") as tmp:
        for vcx, sources in projects(a.samples):
            name = str(vcx.relative_to(a.samples))
            out = Path(tmp) / (vcx.stem + ".sys")
            cmd = [sys.executable, str(HERE / "build"), "--headers", str(a.headers), "-o", str(out)]
            for d in include_dirs(vcx):
                cmd += ["-I", str(d)]
            r = subprocess.run(cmd + [str(s) for s in sources], capture_output=True, text=True)
            row = {"project": name, "compiled": False, "linked": False, "loaded": False, "clean": False, "note": ""}
            log = r.stdout + r.stderr
            if r.returncode != 0:
                row["compiled"] = "linking failed" in log
                first = next((l for l in log.splitlines() if "error" in l), log.strip().splitlines()[-1:] or [""])
                row["note"] = first if isinstance(first, str) else first[0]
            else:
                row["compiled"] = row["linked"] = True
                try:
                    run = subprocess.run([str(a.harness), "run-sys", str(out), "--cycles", "1"],
                                         capture_output=True, text=True, timeout=60)
                    text = run.stdout + run.stderr
                    row["clean"] = run.returncode == 0
                    errors = [l.strip() for l in text.splitlines() if l.strip().startswith("error: cycle 0:")]
                    row["note"] = errors[0] if errors else ("clean" if row["clean"] else text.strip()[-200:])
                    # DriverEntry ran to its end without a stop unless the stop names DriverEntry's code
                    # or the image could not be opened.
                    row["loaded"] = run.returncode in (0, 1) and "DriverEntry" not in row["note"]
                except subprocess.TimeoutExpired:
                    row["note"] = "run-sys timed out (60 s)"
            results.append(row)
            print(f"{'C' if row['compiled'] else '-'}{'L' if row['linked'] else '-'}"
                  f"{'D' if row['loaded'] else '-'}{'U' if row['clean'] else '-'}  {name}: {row['note']}")
    counts = {k: sum(1 for r in results if r[k]) for k in ("compiled", "linked", "loaded", "clean")}
    print(f"{len(results)} C KMDF driver projects: compiled {counts['compiled']}, linked {counts['linked']}, "
          f"DriverEntry without a stop {counts['loaded']}, one stress cycle clean {counts['clean']}")
    if a.json:
        a.json.write_text(json.dumps({"projects": results, "counts": counts, "total": len(results)}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
