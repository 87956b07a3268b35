"""Runs one linked driver image under speakeasy with the framework model of kmdf_model.py, through
the scenario that wdfkey-sim-trace printed, and writes the emulated trace as JSON.

Run by emulate.py with the Python of the venv it made (speakeasy pinned there):
    python run_speakeasy.py IMAGE PLAN.json SLOTS.json OUT.json
"""

import importlib.metadata
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import speakeasy
from speakeasy.winenv.defs import wdf as speakeasy_wdf

sys.path.insert(0, str(Path(__file__).resolve().parent))
import kmdf_model  # noqa: E402


def speakeasy_slots():
    """Speakeasy's own WDFFUNCTIONS structure: its field order is its idea of the table's slots."""
    return [name[len("pfn"):] for name, _ in speakeasy_wdf.WDFFUNCTIONS(8).__dict__.items()
            if name.startswith("pfn")]


def main(image, plan_file, slots_file, out_file):
    plan = json.loads(Path(plan_file).read_text())
    header = json.loads(Path(slots_file).read_text())     # wdffuncenum.h: slot -> DDI
    ours = speakeasy_slots()
    # The table is laid out by wdffuncenum.h (what the framework's own table follows); speakeasy's
    # WDFFUNCTIONS, written by others, confirms the slots where it agrees — and names the ones where
    # it does not (its last fields are USB DDIs appended out of the header's order).
    mismatch = [(i, a, b) for i, (a, b) in enumerate(zip(ours, header["slots"])) if a != b]
    slots = header["slots"]
    logging.basicConfig(level=getattr(logging, os.environ.get("EMULATE_LOG", "CRITICAL")))
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        # speakeasy names the service after the file: <service>.sys
        sys_file = Path(tmp) / f"{plan['service']}.sys"
        shutil.copyfile(image, sys_file)
        se = speakeasy.Speakeasy()
        model = kmdf_model.Kmdf(se, plan, slots, plan["layouts"], header["count"])
        module = se.load_module(str(sys_file))
        errors = []
        done = []

        def run_error():
            run = se.emu.curr_run
            err = getattr(run, "error", None) if run else None
            return None if err is None else f"{getattr(err, 'type', err)} at pc {getattr(err, 'pc', 0) or 0:#x}"

        for i, step in enumerate(plan["steps"]):
            model.step = i
            kind = step["step"]
            if model.stopped:
                break
            if kind == "load":
                model.event("FxDriverEntry(DriverObject, RegistryPath)")
                se.run_module(module)
                ret = se.emu.curr_run.ret_val if se.emu.curr_run else None
                if model.stopped:
                    break
                model.event(f"FxDriverEntry returned {kmdf_model.s32(ret or 0):#x}")
                if ret is None or kmdf_model.s32(ret) < 0:
                    errors.append(f"step {i}: FxDriverEntry returned {ret}")
            elif kind == "add":
                if model.driver is None:
                    errors.append(f"step {i}: no WDFDRIVER to add a device to")
                    break
                se.call(model.start_event(model.add_device(step["hardware_id"], 0)), [])
            elif kind == "ioctl":
                se.call(model.start_event(model.ioctl(step["code"], bytes.fromhex(step["input"]),
                                                      step["output_len"])), [])
            elif kind == "remove":
                se.call(model.start_event(model.remove_device()), [])
            elif kind == "unload":
                # The I/O manager calls DriverObject->DriverUnload: the stub's, which calls the
                # framework's (FxDriver::Unload) and then WdfVersionUnbind.
                unload = model.u64(model.driver_object + plan["layouts"]["DRIVER_OBJECT.DriverUnload"])
                if not unload:
                    errors.append(f"step {i}: DriverObject->DriverUnload is NULL: the driver cannot be unloaded")
                    break
                model.event(f"DriverObject->DriverUnload {unload:#x} (the stub's FxStubDriverUnload)")
                se.call(unload, [model.driver_object])
            err = run_error()
            if err and not model.stopped:
                errors.append(f"step {i} ({kind}): the emulation stopped: {err}")
                break
            done.append(i)
        leaks = [f"pool {a:#x} ({n} bytes)" for a, n in model.pool.items()]
        live = [f"{o.kind} {h:#x}" for h, o in model.objects.items()]
        out = {
            "tool": "scripts/emulate/run_speakeasy.py",
            "speakeasy": importlib.metadata.version("speakeasy-emulator-refined"),
            "image": str(image),
            "steps_run": done,
            "trace": model.trace,
            "io": model.io_results,
            "findings": model.findings,
            "errors": errors,
            "stopped": model.stopped,
            "bound": model.bound,
            "unbound": model.unbound,
            "leaks": leaks,
            "live_objects": live,
            "slot_names": {"speakeasy": len(ours), "wdffuncenum.h": len(header["slots"]),
                           "disagreements": mismatch,
                           "confirmed_by_speakeasy": sorted(i for i, (a, b) in enumerate(zip(ours, header["slots"]))
                                                            if a == b)},
            "seconds": round(time.monotonic() - t0, 2),
        }
        se.shutdown()
    Path(out_file).write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
