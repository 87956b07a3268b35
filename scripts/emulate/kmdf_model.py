"""The framework (KMDF 1.33, Wdf01000.sys), its loader (WDFLDR.SYS) and the kernel routines the
driver imports, as speakeasy hooks: what speakeasy itself does not model, or models too thinly to
run a KMDF driver (its WdfDriverCreate does not write *Driver, WdfRegistryClose closes nothing, it
has no WdfRegistryWdmGetHandle and never calls EvtDriverDeviceAdd).

Every hook is one documented behaviour and cites its fact in docs/facts.md (F…) or says
ASSUMPTION, as the simulator (kmdf-sim) does for the same DDI. The hooks go through speakeasy's
public `add_api_hook` only; speakeasy itself is not patched.

How the driver reaches them:
  * WDFLDR.SYS!WdfVersionBind (the stand-in FxDriverEntry's import) is hooked. It checks the bind
    contract (fxldr.h: WDF_BIND_INFO2, Version 1.33, FuncCount = the framework's
    WdfFunctionTableNumEntries, fxlibrarycommon.cpp) and writes the address of a function table
    into *FuncTable ("FuncTable arrives with a ptr to &WdfFunctions", F78). Slot i of that table
    is a speakeasy callback named after the DDI at index i of KMDF 1.33's wdffuncenum.h (speakeasy's
    own WDFFUNCTIONS structure names the same DDI at 373 of them; run_speakeasy.py reports which)
    — so a driver that indexes the table wrongly reaches another DDI than it meant, and the model
    stops or the comparison shows it.
  * Every slot lands in one dispatcher (module `wdf01000`), which runs the DDI of that name or
    stops the run naming the DDI and its slot when the model has no such DDI.
  * Framework code that calls back into the driver (EvtDriverDeviceAdd, EvtIoDeviceControl,
    cleanup callbacks, EvtDriverUnload) is written as a generator that yields driver calls; the
    dispatcher runs each yielded call on the emulated CPU with a return address that lands in a
    continuation callback, and resumes the generator there.
"""

import struct

# NTSTATUS values (ntstatus.h)
STATUS_SUCCESS = 0
STATUS_BUFFER_OVERFLOW = 0x80000005
STATUS_NO_MORE_ENTRIES = 0x8000001A
STATUS_UNSUCCESSFUL = 0xC0000001
STATUS_INVALID_HANDLE = 0xC0000008
STATUS_BUFFER_TOO_SMALL = 0xC0000023
STATUS_OBJECT_TYPE_MISMATCH = 0xC0000024
STATUS_OBJECT_NAME_NOT_FOUND = 0xC0000034

REG_DWORD = 4
REG_CREATED_NEW_KEY = 1
REG_OPENED_EXISTING_KEY = 2
PLUGPLAY_REGKEY_DEVICE = 1
PLUGPLAY_REGKEY_DRIVER = 2
KEY_VALUE_BASIC_INFORMATION = 0   # KEY_VALUE_INFORMATION_CLASS::KeyValueBasicInformation
KEY_FULL_INFORMATION = 2          # KEY_INFORMATION_CLASS::KeyFullInformation
KEY_BASIC_INFORMATION = 0         # KEY_INFORMATION_CLASS::KeyBasicInformation

# DDI parameters that are 32-bit (ULONG, ACCESS_MASK, NTSTATUS, enums): the x64 convention leaves
# the upper half of their register or stack slot undefined, so the model reads the low 32 bits.
ULONG_PARAMS = {"access", "options", "kind", "length", "value", "key_type", "io_type", "status"}

FRAMEWORK = "wdf01000"            # the dispatcher's module name
EMULATOR = "wdfkeyemu"            # the continuation's and the framework events' module name
# WDF handles are opaque to the driver: values in a range nothing is mapped at.
HANDLE_BASE = 0x00007F0000000000


def s32(v):
    """An NTSTATUS as the signed 32-bit value the simulator's trace prints."""
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


class Stop(Exception):
    """The model cannot go on: a DDI it does not serve, a broken contract, a bug check."""


class Obj:
    """A framework object: its kind, parent, callbacks, context and, for a key, its handle."""

    def __init__(self, kind, handle, parent, attrs):
        self.kind = kind
        self.handle = handle
        self.parent = parent
        self.children = []
        self.cleanup = attrs.get("cleanup", 0)
        self.destroy = attrs.get("destroy", 0)
        self.context = None           # (type info address, context address)
        self.key_handle = None        # a key's WDM handle (m_Key, F1)
        self.path = None              # a key's registry path
        self.extra = {}


class Registry:
    """The registry the driver sees: keys by lower-cased absolute path, values by lower-cased name
    (the configuration manager is case-insensitive), each access noted for the trace."""

    def __init__(self):
        self.keys = {}
        self.notes = []

    def create_path(self, path):
        parts = path.split("\\")
        for i in range(2, len(parts) + 1):
            p = "\\".join(parts[:i])
            self.keys.setdefault(p.lower(), {"path": p, "values": {}})

    def exists(self, path):
        return path.lower() in self.keys

    def open(self, path, create):
        """ZwOpenKey / ZwCreateKey: (created, status); like ZwCreateKey only the last component is
        created (ASSUMPTION, as kmdf-sim's registry)."""
        if path.lower() in self.keys:
            self.notes.append(f"open {path.lower()}")
            return False, STATUS_SUCCESS
        if not create or path.rsplit("\\", 1)[0].lower() not in self.keys:
            return False, STATUS_OBJECT_NAME_NOT_FOUND
        self.keys[path.lower()] = {"path": path, "values": {}}
        self.notes.append(f"create {path.lower()}")
        return True, STATUS_SUCCESS

    def read(self, path, name):
        v = self.keys[path.lower()]["values"].get(name.lower())
        self.notes.append(f"read {path.lower()}:{name} " + (f"= {v[1]}:{v[2].hex()}" if v else "absent"))
        return v

    def write(self, path, name, kind, data):
        self.notes.append(f"write {path.lower()}:{name} = {kind}:{bytes(data).hex()}")
        self.keys[path.lower()]["values"][name.lower()] = (name, kind, bytes(data))

    def remove(self, path, name):
        removed = self.keys[path.lower()]["values"].pop(name.lower(), None) is not None
        self.notes.append(f"remove {path.lower()}:{name}" + ("" if removed else " absent"))
        return removed

    def values(self, path):
        self.notes.append(f"enumerate-values {path.lower()}")
        return list(self.keys[path.lower()]["values"].values())

    def subkeys(self, path):
        self.notes.append(f"enumerate-subkeys {path.lower()}")
        prefix = path.lower() + "\\"
        return [k["path"].rsplit("\\", 1)[1] for p, k in self.keys.items()
                if p.startswith(prefix) and "\\" not in p[len(prefix):]]

    def take_notes(self):
        notes, self.notes = self.notes, []
        return notes


class Kmdf:
    """The framework, its loader and the kernel routines, for one emulated driver."""

    def __init__(self, se, plan, slots, layouts, function_count):
        self.se = se
        self.plan = plan
        self.slots = slots                      # slot -> DDI name
        self.slot_of = {n: i for i, n in enumerate(slots)}
        self.L = layouts                        # "TYPE.Field" -> offset, "sizeof TYPE" -> size
        self.function_count = function_count    # the framework's WdfFunctionTableNumEntries
        self.registry = Registry()
        self.objects = {}
        self.next_handle = HANDLE_BASE
        self.kernel_handles = {}                # WDM key handle -> path
        self.next_kernel_handle = 0xFFFFFFFF80000000 + 0x100
        self.trace = []                         # the trace entries
        self.findings = []                      # what the model saw go wrong (double close, leak...)
        self.step = 0
        self.stack = []                         # running framework generators: (gen, entry rsp, trace entry)
        self.pending_init = None                # the WDFDEVICE_INIT of a running EvtDriverDeviceAdd
        self.pending_event = None
        self.device = None
        self.emu = None
        self.globals = 0
        self.table = 0
        self.bound = False
        self.unbound = False
        self.driver = None                      # the WDFDRIVER
        self.driver_object = 0
        self.service_path = None
        self.pool = {}                          # ExAllocatePool2 allocations: address -> size
        self.io_results = []
        self.stopped = None
        for s in plan["seed"]:
            self.registry.create_path(s["path"])
            self.registry.keys[s["path"].lower()]["values"][s["name"].lower()] = (
                s["name"], s["kind"], bytes.fromhex(s["data"]))
        self.registry.take_notes()
        se.add_api_hook(self._bind, "wdfldr", "WdfVersionBind", argc=4)
        se.add_api_hook(self._unbind, "wdfldr", "WdfVersionUnbind", argc=3)
        se.add_api_hook(self._dispatch, FRAMEWORK, "*", argc=10)
        se.add_api_hook(self._continue, EMULATOR, "*", argc=0)
        for name in ("ExAllocatePool2", "ExFreePool", "ZwClose", "ZwQueryKey", "ZwEnumerateKey",
                     "ZwEnumerateValueKey", "KeBugCheckEx", "DbgPrint", "memcmp", "strlen", "memset"):
            se.add_api_hook(self._kernel, "ntoskrnl", name, argc=6)

    # ------------------------------------------------------------ memory helpers

    def rd(self, addr, size):
        return bytes(self.se.mem_read(addr, size))

    def u8(self, addr):
        return self.rd(addr, 1)[0]

    def u16(self, addr):
        return struct.unpack("<H", self.rd(addr, 2))[0]

    def u32(self, addr):
        return struct.unpack("<I", self.rd(addr, 4))[0]

    def u64(self, addr):
        return struct.unpack("<Q", self.rd(addr, 8))[0]

    def w32(self, addr, v):
        self.se.mem_write(addr, struct.pack("<I", v & 0xFFFFFFFF))

    def w64(self, addr, v):
        self.se.mem_write(addr, struct.pack("<Q", v & 0xFFFFFFFFFFFFFFFF))

    def off(self, field):
        return self.L[field]

    def unicode(self, addr):
        """A UNICODE_STRING's text (F64: byte lengths)."""
        if not addr:
            return None
        length = self.u16(addr + self.off("UNICODE_STRING.Length"))
        buf = self.u64(addr + self.off("UNICODE_STRING.Buffer"))
        return self.rd(buf, length).decode("utf-16-le") if length else ""

    def alloc(self, size, tag):
        addr = self.se.mem_alloc(max(size, 1), tag=f"wdfkeyemu.{tag}")
        self.se.mem_write(addr, b"\0" * max(size, 1))
        return addr

    # ------------------------------------------------------------ the trace

    def record(self, routine, status=None, args="", kernel=False):
        self.trace.append({"step": self.step, "routine": routine,
                           "slot": None if kernel else self.slot_of.get(routine),
                           "status": None if status is None else s32(status), "args": args,
                           "registry": self.registry.take_notes()})

    def flush_notes(self):
        """Registry accesses made since the last record belong to the innermost DDI still running
        (one that called back into the driver), or, with none, to the framework's own work — as
        kmdf-sim's call record attributes them."""
        notes = self.registry.take_notes()
        if not notes:
            return
        entry = next((e for _, _, e in reversed(self.stack) if e is not None), None)
        if entry is None:
            self.trace.append({"step": self.step, "routine": "(framework)", "slot": None, "status": None,
                               "args": "", "registry": notes})
        else:
            entry["registry"] += notes

    def event(self, text):
        """A framework event or driver callback: shown in the trace, not compared."""
        self.trace.append({"step": self.step, "event": text})

    # ------------------------------------------------------------ loader

    def _bind(self, emu, api, orig, argv):
        """WdfVersionBind (F78; fxldr.h, fxlibrarycommon.cpp LibraryRegisterClient): a 1.33 client of a
        1.33 framework must bind with FuncCount = WdfFunctionTableNumEntries; the table's address
        goes where FuncTable points ("a ptr to &WdfFunctions"), the driver globals to
        *ComponentGlobals. V1.Size = sizeof(WDF_BIND_INFO2) (fxldr.h)."""
        self.emu = emu
        driver_object, registry_path, info, globals_out = argv[:4]
        size = self.u32(info)
        major, minor = self.u32(info + 16), self.u32(info + 20)
        count = self.u32(info + 28)
        table_ptr = self.u64(info + 32)
        problems = []
        if size != 88:
            problems.append(f"BindInfo.Size {size}, not sizeof(WDF_BIND_INFO2) = 88")
        if (major, minor) != (1, 33):
            problems.append(f"version {major}.{minor}, not 1.33")
        if count != self.function_count:
            problems.append(f"FuncCount {count}, the framework's WdfFunctionTableNumEntries is {self.function_count}")
        if size == 88:
            count_ptr = self.u64(info + 64)
            if count_ptr and self.u32(count_ptr) != count:
                problems.append("*FuncCountPtr differs from FuncCount")
        args = (f"DriverObject={driver_object:#x} RegistryPath={self.unicode(registry_path)!r} "
                f"Version={major}.{minor} FuncCount={count}")
        if problems:
            # ASSUMPTION: the loader's status for a refused bind (production: ReportDdiFunctionCountMismatch, goto Done).
            self.findings.append("WdfVersionBind refused the bind: " + "; ".join(problems))
            self.record("WdfVersionBind", STATUS_UNSUCCESSFUL, args, kernel=True)
            return STATUS_UNSUCCESSFUL
        self.table = self.alloc(8 * count, "WdfFunctions")
        for i in range(count):
            self.w64(self.table + 8 * i, emu.add_callback(FRAMEWORK, self.slots[i]))
        self.w64(table_ptr, self.table)
        self.globals = self.alloc(self.L["sizeof WDF_DRIVER_GLOBALS"], "WdfDriverGlobals")
        self.w64(globals_out, self.globals)
        self.driver_object = driver_object
        self.bound = True
        self.record("WdfVersionBind", STATUS_SUCCESS, args, kernel=True)
        return STATUS_SUCCESS

    def _unbind(self, emu, api, orig, argv):
        """WdfVersionUnbind (F78): releases the bind; the globals must be the bound ones."""
        registry_path, info, globals_ = argv[:3]
        if globals_ != self.globals:
            self.findings.append(f"WdfVersionUnbind with globals {globals_:#x}, bound {self.globals:#x}")
        self.unbound = True
        self.record("WdfVersionUnbind", STATUS_SUCCESS, f"RegistryPath={self.unicode(registry_path)!r}", kernel=True)
        return STATUS_SUCCESS

    # ------------------------------------------------------------ dispatch and driver calls

    def _dispatch(self, emu, api, orig, argv):
        """Every function-table slot: runs the DDI of that name."""
        self.emu = emu
        name = api.split(".", 1)[1]
        self.flush_notes()
        if name == "FxDriver::Unload":
            # the driver object's DriverUnload, set by WdfDriverCreate (not a table slot)
            return self.run_generator(self.fx_driver_unload(), first=True)
        ddi = getattr(self, "ddi_" + name, None)
        if ddi is None:
            slot = self.slot_of.get(name)
            return self.stop(f"the driver called function-table slot {slot} ({name}), which the model does "
                             f"not serve")
        if argv[0] != self.globals:
            self.findings.append(f"{name} called with DriverGlobals {argv[0]:#x}, not the bound {self.globals:#x}")
        try:
            code = ddi.__code__        # after DriverGlobals, as many arguments as the DDI takes
            args = [a & 0xFFFFFFFF if n in ULONG_PARAMS else a
                    for n, a in zip(code.co_varnames[1:code.co_argcount], argv[1:])]
            result = ddi(*args)
        except Stop as e:
            return self.stop(str(e))
        except Exception as e:  # a defect of the model itself: stop, never guess
            return self.stop(f"the model failed in {name}: {e!r}")
        if hasattr(result, "send"):
            return self.run_generator(result, first=True, entry=self.trace[-1])
        return result

    def run_generator(self, gen, first, value=None, entry=None):
        """Advances a framework generator: a yielded (function, args, what) is called on the
        emulated CPU, returning into the continuation; a finished generator returns its value to
        the framework routine's caller."""
        if first:
            self.stack.append((gen, self.se.reg_read("rsp"), entry))
        gen, entry_rsp, _ = self.stack[-1]
        try:
            fn, args, what = gen.send(value) if not first else next(gen)
        except StopIteration as done:
            self.flush_notes()
            self.stack.pop()
            self.se.reg_write("rsp", entry_rsp)
            return done.value
        except Stop as e:
            self.flush_notes()
            self.stack.pop()
            self.se.reg_write("rsp", entry_rsp)
            return self.stop(str(e))
        self.event(what)
        # Below the framework routine's return address: [rsp] = fn (speakeasy "returns" there),
        # [rsp+8] = the continuation (fn's return address), fn's home space, its stack arguments;
        # fn is entered with rsp = 8 mod 16 (the x64 calling convention).
        frame = 16 + 32 + 8 * max(0, len(args) - 4) + 64
        rsp = (entry_rsp - frame) & ~0xF
        self.w64(rsp, fn)
        self.w64(rsp + 8, self.emu.add_callback(EMULATOR, "continue"))
        for i, a in enumerate(args[4:]):
            self.w64(rsp + 48 + 8 * i, a)
        for reg, a in zip(("rcx", "rdx", "r8", "r9"), args):
            self.se.reg_write(reg, a & 0xFFFFFFFFFFFFFFFF)
        self.se.reg_write("rsp", rsp)
        return 0

    def _continue(self, emu, api, orig, argv):
        """A driver function the framework called returned: resume the framework."""
        self.emu = emu
        name = api.split(".", 1)[1]
        if name == "event":
            return self.run_generator(self.pending_event, first=True)
        return self.run_generator(None, first=False, value=self.se.reg_read("rax"))

    def start_event(self, gen):
        """Runs a framework event (PnP, I/O) from the top: a generator started by the CPU at the
        `event` callback, so its driver calls run like any other."""
        self.pending_event = gen
        return self.emu.add_callback(EMULATOR, "event")

    def stop(self, why):
        self.stopped = why
        self.findings.append(why)
        self.se.stop()
        return STATUS_UNSUCCESSFUL

    # ------------------------------------------------------------ objects

    def attributes(self, addr):
        """WDF_OBJECT_ATTRIBUTES (F11): callbacks, parent, context type."""
        if not addr:
            return {}
        info = self.u64(addr + self.off("WDF_OBJECT_ATTRIBUTES.ContextTypeInfo"))
        override = self.u64(addr + self.off("WDF_OBJECT_ATTRIBUTES.ContextSizeOverride"))
        return {
            "size": self.u32(addr),
            "cleanup": self.u64(addr + self.off("WDF_OBJECT_ATTRIBUTES.EvtCleanupCallback")),
            "destroy": self.u64(addr + self.off("WDF_OBJECT_ATTRIBUTES.EvtDestroyCallback")),
            "parent": self.u64(addr + self.off("WDF_OBJECT_ATTRIBUTES.ParentObject")),
            "type_info": info,
            "context_size": override or (self.u64(info + self.off("WDF_OBJECT_CONTEXT_TYPE_INFO.ContextSize"))
                                         if info else 0),
        }

    def create(self, kind, attrs, default_parent):
        """A framework object: parent from the attributes or the default (F10, F11); its context
        zero-filled (F76), identified by the type info's UniqueType."""
        if attrs.get("size") not in (None, self.L["sizeof WDF_OBJECT_ATTRIBUTES"]):
            raise Stop(f"{kind}: WDF_OBJECT_ATTRIBUTES.Size {attrs['size']}, "
                       f"not {self.L['sizeof WDF_OBJECT_ATTRIBUTES']} (F64)")
        self.next_handle += 0x100
        parent = attrs.get("parent") or default_parent
        o = Obj(kind, self.next_handle, parent, attrs)
        if attrs.get("type_info"):
            unique = self.u64(attrs["type_info"] + self.off("WDF_OBJECT_CONTEXT_TYPE_INFO.UniqueType"))
            o.context = (unique or attrs["type_info"], self.alloc(attrs["context_size"], f"context.{kind}"))
        self.objects[o.handle] = o
        if parent in self.objects:
            self.objects[parent].children.append(o.handle)
        return o

    def get(self, handle, kind=None):
        o = self.objects.get(handle)
        if o is None or (kind and o.kind != kind):
            raise Stop(f"{handle:#x} is not a live {kind or 'framework object'}: bug check 0x10D "
                       f"WDF_VIOLATION (F20, F54)")
        return o

    def delete(self, o):
        """Deletes an object: every child first, then its own EvtCleanupCallback (F29, F30); a key's
        handle is closed by the framework as the object goes (F2, F5). A generator: cleanup
        callbacks are driver calls."""
        for child in list(o.children):
            if child in self.objects:
                yield from self.delete(self.objects[child])
        if o.cleanup:
            yield (o.cleanup, [o.handle], f"{o.kind} EvtCleanupCallback({o.handle:#x})")
        if o.kind == "key" and o.key_handle is not None:
            self.framework_close(o)
        if o.destroy:
            yield (o.destroy, [o.handle], f"{o.kind} EvtDestroyCallback({o.handle:#x})")
        self.objects.pop(o.handle, None)
        if o.parent in self.objects and o.handle in self.objects[o.parent].children:
            self.objects[o.parent].children.remove(o.handle)

    def framework_close(self, key):
        """~FxRegKey closes m_Key with ZwClose (F2, F5). A handle the driver already closed is the
        seed bug: from kernel mode, bug check 0x93 INVALID_KERNEL_HANDLE (F7, F41, F67)."""
        h, key.key_handle = key.key_handle, None
        if h in self.kernel_handles:
            self.registry.notes.append(f"close {self.kernel_handles.pop(h).lower()}")
        else:
            self.findings.append(f"the framework closed WDFKEY {key.handle:#x}'s handle {h:#x} ({key.path}), which "
                                 f"someone else had closed: bug check 0x93 INVALID_KERNEL_HANDLE (F7, F41, F67)")
            self.event(f"~FxRegKey of WDFKEY {key.handle:#x}: ZwClose({h:#x}) of a closed handle -> bug check 0x93 "
                       f"INVALID_KERNEL_HANDLE (F7, F41, F67)")

    # ------------------------------------------------------------ keys

    def open_key(self, path, access, attrs_addr, key_out, create, default_parent):
        """A key object and its handle (F1, F8): the object is made first, then the key opened or
        created; on failure the object goes without callbacks and the open's status is returned
        (F12-F16)."""
        if not key_out:
            raise Stop("NULL Key: bug check 0x10D WDF_VIOLATION (F20)")
        self.w64(key_out, 0)
        o = self.create("key", self.attributes(attrs_addr), default_parent)
        created, status = self.registry.open(path, create)
        if status != STATUS_SUCCESS:
            self.objects.pop(o.handle)
            if o.parent in self.objects:
                self.objects[o.parent].children.remove(o.handle)
            return status, False
        self.next_kernel_handle += 4
        o.key_handle, o.path = self.next_kernel_handle, self.registry.keys[path.lower()]["path"]
        self.kernel_handles[o.key_handle] = o.path
        self.w64(key_out, o.handle)
        return STATUS_SUCCESS, created

    def key(self, handle):
        o = self.get(handle, "key")
        if o.key_handle not in self.kernel_handles:
            # ZwQueryValueKey & co. on a closed handle (F39): STATUS_INVALID_HANDLE.
            raise Stop(f"WDFKEY {handle:#x}'s handle was closed under it (F6, F77)")
        return o

    def value_name(self, addr):
        name = self.unicode(addr)
        if name is None:
            raise Stop("NULL ValueName: bug check 0x10D WDF_VIOLATION (F20)")
        return name

    # ------------------------------------------------------------ DDIs: driver

    def ddi_WdfDriverCreate(self, driver_object, registry_path, attrs, config, driver_out):
        """WdfDriverCreate (F27, F79): the WDFDRIVER, default parent of every object (F10); a PnP
        driver's DriverUnload becomes FxDriver::Unload and the stub's DisplaceDriverUnload is set
        TRUE."""
        if config == 0:
            raise Stop("WdfDriverCreate: NULL DriverConfig")
        add = self.u64(config + self.off("WDF_DRIVER_CONFIG.EvtDriverDeviceAdd"))
        unload = self.u64(config + self.off("WDF_DRIVER_CONFIG.EvtDriverUnload"))
        flags = self.u32(config + self.off("WDF_DRIVER_CONFIG.DriverInitFlags"))
        o = self.create("driver", self.attributes(attrs), None)
        o.extra.update(add=add, unload=unload, flags=flags)
        self.driver = o
        self.service_path = self.unicode(registry_path)
        self.w64(self.globals + self.off("WDF_DRIVER_GLOBALS.Driver"), o.handle)
        non_pnp, no_dispatch_override = 0x1, 0x2    # WdfDriverInitNonPnpDriver, WdfDriverInitNoDispatchOverride
        displace = 1 if (flags & (non_pnp | no_dispatch_override)) == 0 or unload else 0
        self.se.mem_write(self.globals + self.off("WDF_DRIVER_GLOBALS.DisplaceDriverUnload"), bytes([displace]))
        # F79 (FxDriver::Initialize): without NoDispatchOverride the framework sets the driver
        # object's DriverUnload — for a non-PnP driver only when it has EvtDriverUnload.
        if not (flags & no_dispatch_override):
            fx_unload = self.emu.add_callback(FRAMEWORK, "FxDriver::Unload")
            self.w64(driver_object + self.off("DRIVER_OBJECT.DriverUnload"),
                     fx_unload if not (flags & non_pnp) or unload else 0)
        if driver_out:
            self.w64(driver_out, o.handle)
        self.record("WdfDriverCreate", STATUS_SUCCESS,
                    f"RegistryPath={self.service_path!r} EvtDriverDeviceAdd={add:#x} EvtDriverUnload={unload:#x}")
        return STATUS_SUCCESS

    def fx_driver_unload(self):
        """FxDriver::Unload (F27, F79): EvtDriverUnload, then the WDFDRIVER is deleted with its
        children (F29)."""
        d = self.driver
        if d is None:
            return
        if d.extra["unload"]:
            yield (d.extra["unload"], [d.handle], f"EvtDriverUnload({d.handle:#x})")
        yield from self.delete(d)
        self.driver = None

    def ddi_WdfDriverOpenParametersRegistryKey(self, driver, access, attrs, key_out):
        """WdfDriverOpenParametersRegistryKey (F14): Services\\<svc>\\Parameters; read-only through
        IoOpenDriverRegistryKey (ASSUMPTION, as kmdf-sim: a missing key is created), else created
        under the service key. Parent: the driver (F10)."""
        self.get(driver, "driver")
        st, _ = self.open_key(self.service_path + "\\Parameters", access, attrs, key_out, True, driver)
        self.record("WdfDriverOpenParametersRegistryKey", st, f"DesiredAccess={access:#x}")
        return st

    def ddi_WdfDriverOpenPersistentStateRegistryKey(self, driver, access, attrs, key_out):
        """WdfDriverOpenPersistentStateRegistryKey (F15, F74; ASSUMPTION as kmdf-sim: it is
        Services\\<svc>\\State, created when missing). Parent: the driver (F10)."""
        self.get(driver, "driver")
        st, _ = self.open_key(self.service_path + "\\State", access, attrs, key_out, True, driver)
        self.record("WdfDriverOpenPersistentStateRegistryKey", st, f"DesiredAccess={access:#x}")
        return st

    # ------------------------------------------------------------ DDIs: registry

    def ddi_WdfRegistryOpenKey(self, parent, name, access, attrs, key_out):
        """WdfRegistryOpenKey (F12): ZwOpenKey relative to the parent key's handle (or absolute)."""
        sub = self.value_name(name)
        path = sub if not parent else self.key(parent).path + "\\" + sub
        st, _ = self.open_key(path, access, attrs, key_out, False, self.driver.handle)
        self.record("WdfRegistryOpenKey", st, f"KeyName={sub!r} DesiredAccess={access:#x}")
        return st

    def ddi_WdfRegistryCreateKey(self, parent, name, access, options, disposition, attrs, key_out):
        """WdfRegistryCreateKey (F13): ZwCreateKey; the optional disposition written on success."""
        sub = self.value_name(name)
        path = sub if not parent else self.key(parent).path + "\\" + sub
        st, created = self.open_key(path, access, attrs, key_out, True, self.driver.handle)
        if st == STATUS_SUCCESS and disposition:
            self.w32(disposition, REG_CREATED_NEW_KEY if created else REG_OPENED_EXISTING_KEY)
        self.record("WdfRegistryCreateKey", st, f"KeyName={sub!r} DesiredAccess={access:#x} Options={options:#x}")
        return st

    def ddi_WdfRegistryClose(self, key):
        """WdfRegistryClose (F4): closes the handle now, then deletes the object."""
        o = self.get(key, "key")
        self.record("WdfRegistryClose", None, f"Key={key:#x}")
        return self.then_zero(self.delete(o))

    @staticmethod
    def then_zero(gen):
        """A VOID DDI's framework work as a generator."""
        yield from gen
        return 0

    def ddi_WdfRegistryWdmGetHandle(self, key):
        """WdfRegistryWdmGetHandle (F6): lends the key object's own handle (no check of a stale
        key: the DDI has none, F19)."""
        o = self.get(key, "key")
        self.record("WdfRegistryWdmGetHandle", None, f"Key={key:#x} -> {o.key_handle:#x}")
        return o.key_handle

    def ddi_WdfRegistryQueryULong(self, key, name, value_out):
        """WdfRegistryQueryULong (F23): REG_DWORD only (else STATUS_OBJECT_TYPE_MISMATCH); a missing
        value STATUS_OBJECT_NAME_NOT_FOUND; the output written only on success."""
        o = self.key(key)
        n = self.value_name(name)
        v = self.registry.read(o.path, n)
        if v is None:
            st = STATUS_OBJECT_NAME_NOT_FOUND
        elif v[1] != REG_DWORD or len(v[2]) != 4:
            st = STATUS_OBJECT_TYPE_MISMATCH
        else:
            st = STATUS_SUCCESS
            self.se.mem_write(value_out, v[2])
        self.record("WdfRegistryQueryULong", st, f"ValueName={n!r}")
        return st

    def ddi_WdfRegistryQueryValue(self, key, name, length, buffer, length_out, type_out):
        """WdfRegistryQueryValue (F21, F22): any type; larger than the buffer is
        STATUS_BUFFER_OVERFLOW with the length and type still reported; data copied only when it
        fits; an empty value probed with no buffer is STATUS_SUCCESS."""
        o = self.key(key)
        n = self.value_name(name)
        v = self.registry.read(o.path, n)
        if v is None:
            st = STATUS_OBJECT_NAME_NOT_FOUND
        else:
            _, kind, data = v
            st = STATUS_SUCCESS if len(data) <= length else STATUS_BUFFER_OVERFLOW
            if st == STATUS_SUCCESS and data:
                self.se.mem_write(buffer, data)
            if length_out:
                self.w32(length_out, len(data))
            if type_out:
                self.w32(type_out, kind)
        self.record("WdfRegistryQueryValue", st, f"ValueName={n!r} ValueLength={length}")
        return st

    def ddi_WdfRegistryAssignULong(self, key, name, value):
        """WdfRegistryAssignULong (F26): ZwSetValueKey with REG_DWORD."""
        o = self.key(key)
        n = self.value_name(name)
        self.registry.write(o.path, n, REG_DWORD, struct.pack("<I", value & 0xFFFFFFFF))
        self.record("WdfRegistryAssignULong", STATUS_SUCCESS, f"ValueName={n!r} Value={value & 0xFFFFFFFF}")
        return STATUS_SUCCESS

    def ddi_WdfRegistryAssignValue(self, key, name, kind, length, data):
        """WdfRegistryAssignValue (F26): ZwSetValueKey with the caller's type and bytes."""
        o = self.key(key)
        n = self.value_name(name)
        self.registry.write(o.path, n, kind & 0xFFFFFFFF, self.rd(data, length) if length else b"")
        self.record("WdfRegistryAssignValue", STATUS_SUCCESS, f"ValueName={n!r} ValueType={kind} ValueLength={length}")
        return STATUS_SUCCESS

    def ddi_WdfRegistryRemoveValue(self, key, name):
        """WdfRegistryRemoveValue (F26): ZwDeleteValueKey; a missing value is
        STATUS_OBJECT_NAME_NOT_FOUND."""
        o = self.key(key)
        n = self.value_name(name)
        st = STATUS_SUCCESS if self.registry.remove(o.path, n) else STATUS_OBJECT_NAME_NOT_FOUND
        self.record("WdfRegistryRemoveValue", st, f"ValueName={n!r}")
        return st

    # ------------------------------------------------------------ DDIs: objects

    def ddi_WdfObjectGetTypedContextWorker(self, handle, type_info):
        """WdfObjectGetTypedContextWorker: the context whose type is TypeInfo's UniqueType, or NULL
        ("querying for a type not associated with the handle is a legitimate operation",
        handleapi.cpp)."""
        o = self.get(handle)
        unique = self.u64(type_info + self.off("WDF_OBJECT_CONTEXT_TYPE_INFO.UniqueType")) if type_info else 0
        ctx = o.context[1] if o.context and o.context[0] in (unique, type_info) else 0
        self.record("WdfObjectGetTypedContextWorker", None, f"{o.kind} {handle:#x} -> {ctx:#x}")
        return ctx

    def ddi_WdfObjectDelete(self, handle):
        """WdfObjectDelete (F29-F33; F5 for a key: its handle closed)."""
        o = self.get(handle)
        if o.kind in ("driver", "device", "queue"):
            raise Stop(f"WdfObjectDelete on a {o.kind}: a NoDeleteDDI object, bug check 0x10D (F33)")
        self.record("WdfObjectDelete", None, f"{o.kind} {handle:#x}")
        return self.then_zero(self.delete(o))

    # ------------------------------------------------------------ DDIs: devices and queues

    def ddi_WdfDeviceInitSetIoType(self, init, io_type):
        """WdfDeviceInitSetIoType: the device's I/O type (buffered, as kmdf-sim's requests)."""
        self.init_state(init)["io_type"] = io_type
        self.record("WdfDeviceInitSetIoType", None, f"IoType={io_type}")
        return 0

    def init_state(self, init):
        if not self.pending_init or self.pending_init["address"] != init:
            raise Stop(f"{init:#x} is not the WDFDEVICE_INIT of this EvtDriverDeviceAdd")
        return self.pending_init

    def ddi_WdfDeviceCreate(self, init_ptr, attrs, device_out):
        """WdfDeviceCreate: consumes the WDFDEVICE_INIT (*DeviceInit set to NULL, ASSUMPTION as
        kmdf-sim) and makes the device, a NoDeleteDDI child of the driver (F33, F10)."""
        self.init_state(self.u64(init_ptr))
        o = self.create("device", self.attributes(attrs), self.driver.handle)
        o.extra["devnode"] = self.pending_init["devnode"]
        self.w64(init_ptr, 0)
        self.pending_init["device"] = o
        self.w64(device_out, o.handle)
        self.record("WdfDeviceCreate", STATUS_SUCCESS, "")
        return STATUS_SUCCESS

    def ddi_WdfDeviceOpenRegistryKey(self, device, key_type, access, attrs, key_out):
        """WdfDeviceOpenRegistryKey (F16, F17): the devnode's hardware (PLUGPLAY_REGKEY_DEVICE) or
        software (PLUGPLAY_REGKEY_DRIVER) key, parent the driver; paths as kmdf-sim's root devnode
        (ASSUMPTION there)."""
        o = self.get(device, "device")
        node = o.extra["devnode"]
        if key_type & PLUGPLAY_REGKEY_DEVICE:
            path = node["hardware_key"]
        elif key_type & PLUGPLAY_REGKEY_DRIVER:
            path = node["software_key"]
        else:
            raise Stop(f"WdfDeviceOpenRegistryKey: DeviceInstanceKeyType {key_type:#x} not modelled")
        st, _ = self.open_key(path, access, attrs, key_out, False, self.driver.handle)
        self.record("WdfDeviceOpenRegistryKey", st, f"DeviceInstanceKeyType={key_type:#x} DesiredAccess={access:#x}")
        return st

    def ddi_WdfDeviceCreateDeviceInterface(self, device, guid, reference):
        """WdfDeviceCreateDeviceInterface: registers the interface (ASSUMPTION as kmdf-sim)."""
        o = self.get(device, "device")
        g = self.rd(guid, 16)
        o.extra.setdefault("interfaces", []).append(g)
        self.record("WdfDeviceCreateDeviceInterface", STATUS_SUCCESS, f"Guid={g.hex()}")
        return STATUS_SUCCESS

    def ddi_WdfIoQueueCreate(self, device, config, attrs, queue_out):
        """WdfIoQueueCreate: a queue, child of its device; the default queue gets the device's
        requests (ASSUMPTIONs as kmdf-sim)."""
        d = self.get(device, "device")
        o = self.create("queue", self.attributes(attrs), device)
        o.extra.update(
            default=self.u8(config + self.off("WDF_IO_QUEUE_CONFIG.DefaultQueue")),
            dispatch=self.u32(config + self.off("WDF_IO_QUEUE_CONFIG.DispatchType")),
            device_control=self.u64(config + self.off("WDF_IO_QUEUE_CONFIG.EvtIoDeviceControl")))
        if o.extra["default"]:
            d.extra["default_queue"] = o
        if queue_out:
            self.w64(queue_out, o.handle)
        self.record("WdfIoQueueCreate", STATUS_SUCCESS,
                    f"DefaultQueue={o.extra['default']} DispatchType={o.extra['dispatch']}")
        return STATUS_SUCCESS

    # ------------------------------------------------------------ DDIs: requests

    def retrieve(self, name, request, minimum, buffer_out, length_out, output):
        """The buffer DDIs (METHOD_BUFFERED: one system buffer; ASSUMPTION as kmdf-sim: shorter than
        the minimum, or empty, is STATUS_BUFFER_TOO_SMALL)."""
        r = self.get(request, "request")
        length = r.extra["output_len"] if output else r.extra["input_len"]
        if length == 0 or length < minimum:
            st = STATUS_BUFFER_TOO_SMALL
        else:
            st = STATUS_SUCCESS
            self.w64(buffer_out, r.extra["buffer"])
            if length_out:
                self.w64(length_out, length)
        self.record(name, st, f"MinimumRequired={minimum}")
        return st

    def ddi_WdfRequestRetrieveInputBuffer(self, request, minimum, buffer_out, length_out):
        return self.retrieve("WdfRequestRetrieveInputBuffer", request, minimum, buffer_out, length_out, False)

    def ddi_WdfRequestRetrieveOutputBuffer(self, request, minimum, buffer_out, length_out):
        return self.retrieve("WdfRequestRetrieveOutputBuffer", request, minimum, buffer_out, length_out, True)

    def ddi_WdfRequestCompleteWithInformation(self, request, status, information):
        """WdfRequestCompleteWithInformation: the caller gets the status, Information and that many
        bytes of the system buffer; the request is deleted with its children (K3)."""
        r = self.get(request, "request")
        info = min(information, r.extra["output_len"])
        self.io_results.append({"step": self.step, "status": s32(status), "information": information,
                                "output": self.rd(r.extra["buffer"], info).hex() if info else ""})
        self.record("WdfRequestCompleteWithInformation", None, f"Status={s32(status):#x} Information={information}")
        r.extra["completed"] = True
        return self.then_zero(self.delete(r))

    # ------------------------------------------------------------ framework events (the scenario)

    def add_device(self, hardware_id, index):
        """The PnP manager adds a devnode: AddDevice, which the framework set in the driver object
        (F79: a PnP driver's AddDevice is FxDriver::AddDevice), calls EvtDriverDeviceAdd with a
        WDFDEVICE_INIT (F35's order)."""
        d = self.driver
        instance = f"ROOT\\{hardware_id.rsplit(chr(92), 1)[-1]}\\{index:04}"
        node = {"hardware_key": f"\\Registry\\Machine\\SYSTEM\\CurrentControlSet\\Enum\\{instance}\\Device Parameters",
                "software_key": f"\\Registry\\Machine\\SYSTEM\\CurrentControlSet\\Control\\Class\\"
                                f"{instance.replace(chr(92), '#')}"}
        for p in node.values():
            self.registry.create_path(p)
        self.pending_init = {"address": self.alloc(64, "WDFDEVICE_INIT"), "device": None, "devnode": node}
        status = yield (d.extra["add"], [d.handle, self.pending_init["address"]],
                        f"EvtDriverDeviceAdd({d.handle:#x}, WDFDEVICE_INIT)")
        device = self.pending_init["device"]
        self.pending_init = None
        self.event(f"EvtDriverDeviceAdd returned {s32(status):#x}")
        self.device = device if s32(status) >= 0 else None
        return 0

    def ioctl(self, code, data, output_len):
        """An IOCTL (METHOD_BUFFERED) on the device: a request, child of the default queue, with one
        system buffer of max(input, output) bytes, presented to EvtIoDeviceControl."""
        q = self.device.extra.get("default_queue") if self.device else None
        if q is None or not q.extra["device_control"]:
            raise Stop("no default queue with EvtIoDeviceControl to present the IOCTL to")
        r = self.create("request", {}, q.handle)
        size = max(len(data), output_len)
        r.extra.update(input_len=len(data), output_len=output_len, buffer=self.alloc(size, "SystemBuffer"))
        if data:
            self.se.mem_write(r.extra["buffer"], data)
        yield (q.extra["device_control"], [q.handle, r.handle, output_len, len(data), code],
               f"EvtIoDeviceControl(code {code:#x}, in {len(data)}, out {output_len})")
        if r.handle in self.objects and not r.extra.get("completed"):
            self.findings.append(f"the IOCTL {code:#x} was not completed by the time EvtIoDeviceControl returned")
        return 0

    def remove_device(self):
        """Orderly removal (F35): the device is deleted with its children (the queue) and its
        EvtCleanupCallback runs (F29)."""
        if self.device:
            yield from self.delete(self.device)
            self.device = None
        return 0

    # ------------------------------------------------------------ kernel routines

    def _kernel(self, emu, api, orig, argv):
        self.emu = emu
        name = api.split(".", 1)[1]
        self.flush_notes()
        try:
            return getattr(self, "k_" + name)(orig, argv)
        except Stop as e:
            return self.stop(str(e))
        except Exception as e:  # a defect of the model itself: stop, never guess
            return self.stop(f"the model failed in {name}: {e!r}")

    def k_ExAllocatePool2(self, orig, argv):
        """ExAllocatePool2 (wdk-alloc's allocator): zeroed pool unless POOL_FLAG_UNINITIALIZED; NULL
        on failure (not modelled: never fails)."""
        flags, size, tag = argv[0], argv[1], argv[2] & 0xFFFFFFFF
        addr = self.alloc(size, "pool")
        self.pool[addr] = size
        self.record("ExAllocatePool2", None, f"Flags={flags:#x} NumberOfBytes={size} Tag={tag:#x}", kernel=True)
        return addr

    def k_ExFreePool(self, orig, argv):
        """ExFreePool: frees an ExAllocatePool2 allocation; another address is bug check 0xC2 (BAD_POOL_CALLER)."""
        p = argv[0]
        if self.pool.pop(p, None) is None:
            return self.stop(f"ExFreePool({p:#x}) of memory not allocated from pool: bug check 0xC2")
        self.se.mem_free(p)
        self.record("ExFreePool", None, "", kernel=True)
        return 0

    def k_ZwClose(self, orig, argv):
        """ZwClose (F39): a live handle is closed, STATUS_SUCCESS; a closed one is
        STATUS_INVALID_HANDLE (or bug check 0x93 with the verifier, F67)."""
        h = argv[0]
        owner = next((o for o in self.objects.values() if o.key_handle == h), None)
        if h in self.kernel_handles:
            path = self.kernel_handles.pop(h)
            self.registry.notes.append(f"close {path.lower()}")
            st = STATUS_SUCCESS
        else:
            st = STATUS_INVALID_HANDLE
        who = f" (the WDM handle of WDFKEY {owner.handle:#x}, {owner.path}: the driver closes a handle the " \
              f"framework owns, F7)" if owner else ""
        if owner:
            self.findings.append(f"the driver ZwClose'd handle {h:#x}{who}")
        self.record("ZwClose", st, f"Handle={h:#x}{who}", kernel=True)
        return st

    def handle_path(self, h):
        if h not in self.kernel_handles:
            raise Stop(f"a registry routine on handle {h:#x}, which is not open (F39)")
        return self.kernel_handles[h]

    def enumerate(self, routine, argv, information_class, items, record):
        """ZwEnumerateValueKey / ZwEnumerateKey: the `index`th item's record in *KeyInformation and
        the needed length in *ResultLength; STATUS_NO_MORE_ENTRIES past the last; a buffer too small
        for the record's fixed part is STATUS_BUFFER_TOO_SMALL, too small for its name
        STATUS_BUFFER_OVERFLOW with the fixed part written (the ZwEnumerate*Key pages; as
        kmdf-sim's ntddk)."""
        h, index, cls, buffer, length, result_len = argv[:6]
        index, cls, length = index & 0xFFFFFFFF, cls & 0xFFFFFFFF, length & 0xFFFFFFFF
        if cls != information_class:
            raise Stop(f"{routine} information class {cls} not modelled")
        entries = items(self.handle_path(h))
        if index >= len(entries):
            st = STATUS_NO_MORE_ENTRIES
        else:
            fixed, name = record(entries[index])
            data = fixed + name
            self.w32(result_len, len(data))
            if length < len(fixed):
                st = STATUS_BUFFER_TOO_SMALL
            else:
                st = STATUS_SUCCESS if length >= len(data) else STATUS_BUFFER_OVERFLOW
                self.se.mem_write(buffer, data if st == STATUS_SUCCESS else fixed)
        self.record(routine, st, f"Index={index} Length={length}", kernel=True)
        return st

    def k_ZwEnumerateValueKey(self, orig, argv):
        """ZwEnumerateValueKey, KeyValueBasicInformation {TitleIndex, Type, NameLength, Name}."""
        def record(value):
            name = value[0].encode("utf-16-le")
            return struct.pack("<III", 0, value[1], len(name)), name
        return self.enumerate("ZwEnumerateValueKey", argv, KEY_VALUE_BASIC_INFORMATION, self.registry.values, record)

    def k_ZwEnumerateKey(self, orig, argv):
        """ZwEnumerateKey, KeyBasicInformation {LastWriteTime, TitleIndex, NameLength, Name}."""
        def record(subkey):
            name = subkey.encode("utf-16-le")
            return struct.pack("<QII", 0, 0, len(name)), name
        return self.enumerate("ZwEnumerateKey", argv, KEY_BASIC_INFORMATION, self.registry.subkeys, record)

    def k_ZwQueryKey(self, orig, argv):
        """ZwQueryKey, KeyFullInformation: counts and longest lengths."""
        h, cls, buffer, length, result_len = argv[:5]
        cls, length = cls & 0xFFFFFFFF, length & 0xFFFFFFFF
        path = self.handle_path(h)
        if cls != KEY_FULL_INFORMATION:
            raise Stop(f"ZwQueryKey class {cls} not modelled")
        subkeys, values = self.registry.subkeys(path), self.registry.values(path)
        data = struct.pack("<QIIIIIIIIII", 0, 0, 0, 0, len(subkeys), max([len(k) * 2 for k in subkeys], default=0),
                           0, len(values), max([len(v[0]) * 2 for v in values], default=0),
                           max([len(v[2]) for v in values], default=0), 0)
        self.w32(result_len, len(data))
        st = STATUS_BUFFER_TOO_SMALL if length < len(data) else STATUS_SUCCESS
        if st == STATUS_SUCCESS:
            self.se.mem_write(buffer, data)
        self.record("ZwQueryKey", st, "", kernel=True)
        return st

    def k_KeBugCheckEx(self, orig, argv):
        """KeBugCheckEx (wdk-panic: a Rust panic in the driver is a bug check): the run stops."""
        return self.stop(f"the driver bug-checked: KeBugCheckEx({argv[0]:#x}, {argv[1]:#x}, {argv[2]:#x}, "
                         f"{argv[3]:#x})")

    def k_DbgPrint(self, orig, argv):
        """DbgPrint: speakeasy formats it; the text goes into the trace."""
        n = orig(argv)
        self.record("DbgPrint", None, repr(argv[0]) if argv else "", kernel=True)
        return n

    def k_memcmp(self, orig, argv):
        """memcmp (the C library routine ntoskrnl exports)."""
        a, b, n = argv[:3]
        x, y = self.rd(a, n) if n else b"", self.rd(b, n) if n else b""
        return 0 if x == y else (-1 & 0xFFFFFFFF if x < y else 1)

    def k_memset(self, orig, argv):
        """memset: the fill byte is (unsigned char)c (C11 7.24.6.1). speakeasy's own memset takes the
        whole 64-bit register and fails when its upper bits are not zero (an emulator limitation)."""
        dest, c, n = argv[:3]
        if n:
            self.se.mem_write(dest, bytes([c & 0xFF]) * n)
        return dest

    def k_strlen(self, orig, argv):
        """strlen (the C library routine ntoskrnl exports)."""
        s, n = argv[0], 0
        while self.rd(s + n, 1) != b"\0":
            n += 1
        return n
