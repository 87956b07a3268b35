//! Process and thread objects (F152–F154): PsLookupProcessByProcessId and
//! PsLookupThreadByThreadId for the processes and threads the machine
//! started, ObReferenceObjectByHandle for NtCurrentProcess() /
//! NtCurrentThread() with its type and handle checks (a key handle is
//! another type, a closed one no handle), ObfReferenceObject /
//! ObfDereferenceObject counts and 0x18 for one dereference too many, a
//! reference left at unload, KeSetPriorityThread, and the IRQL rules.

use kmdf_sim::control::{Machine, Settings};
use kmdf_sim::ntddk::{
    KeSetPriorityThread, ObReferenceObjectByHandle, ObfDereferenceObject, ObfReferenceObject,
    PsLookupProcessByProcessId, PsLookupThreadByThreadId, PsProcessType, PsThreadType,
};
use kmdf_sim::*;

const DRV: &str = "refs.sys";
/// NtCurrentProcess() and NtCurrentThread().
const CURRENT_PROCESS: HANDLE = -1isize as HANDLE;
const CURRENT_THREAD: HANDLE = -2isize as HANDLE;

fn lookup_process(pid: u64) -> (NTSTATUS, PEPROCESS) {
    let mut process: PEPROCESS = std::ptr::null_mut();
    // SAFETY: a writable local.
    let st = unsafe { PsLookupProcessByProcessId(pid as HANDLE, &raw mut process) };
    (st, process)
}

fn lookup_thread(tid: u64) -> (NTSTATUS, PETHREAD) {
    let mut thread: PETHREAD = std::ptr::null_mut();
    // SAFETY: a writable local.
    let st = unsafe { PsLookupThreadByThreadId(tid as HANDLE, &raw mut thread) };
    (st, thread)
}

fn by_handle(handle: HANDLE, object_type: POBJECT_TYPE) -> (NTSTATUS, PVOID) {
    let mut object: PVOID = std::ptr::null_mut();
    // SAFETY: a writable local; no handle information asked for.
    let st =
        unsafe { ObReferenceObjectByHandle(handle, 0x1F_FFFF, object_type, 0, &raw mut object, std::ptr::null_mut()) };
    (st, object)
}

fn process_type() -> POBJECT_TYPE {
    // SAFETY: reading the exported variable's value (a pointer).
    let variable = unsafe { PsProcessType };
    // SAFETY: it points at the type variable, which is always initialized.
    unsafe { *variable }
}

fn thread_type() -> POBJECT_TYPE {
    // SAFETY: as above.
    let variable = unsafe { PsThreadType };
    // SAFETY: as above.
    unsafe { *variable }
}

fn dereference(object: PVOID) -> LONG_PTR {
    // SAFETY: an object the kernel handed out (or, in the 0x18 test, one
    // dereferenced too often: the machine stops).
    unsafe { ObfDereferenceObject(object) }
}

#[test]
fn lookups_find_live_processes_and_threads_and_refuse_other_ids() {
    let m = Machine::new(Settings::default());
    let pid = m.start_process(4).expect("no stop");
    let tid = m.start_thread(pid).expect("no stop");
    let (process, thread) = m
        .run(DRV, "DriverEntry", || {
            let (st, process) = lookup_process(pid);
            assert_eq!(st, STATUS_SUCCESS);
            assert!(!process.is_null());
            assert_eq!(lookup_process(pid).1, process, "one object per process");
            dereference(process.cast());
            let (st, thread) = lookup_thread(tid);
            assert_eq!(st, STATUS_SUCCESS);
            assert_ne!(thread.cast::<u8>(), process.cast::<u8>());
            // An id nothing has, and a thread id asked for as a process.
            assert_eq!(lookup_process(pid + 0x400).0, STATUS_INVALID_PARAMETER);
            assert_eq!(lookup_process(tid).0, STATUS_INVALID_PARAMETER);
            assert_eq!(lookup_thread(pid).0, STATUS_INVALID_PARAMETER);
            // The System process is always there.
            let (st, system) = lookup_process(4);
            assert_eq!(st, STATUS_SUCCESS);
            dereference(system.cast());
            (process, thread)
        })
        .expect("no stop");
    m.end_thread(pid, tid).expect("no stop");
    m.end_process(4, pid).expect("no stop");
    m.run(DRV, "EvtIoRead", || {
        assert_eq!(lookup_process(pid).0, STATUS_INVALID_PARAMETER, "an ended process is not found");
        assert_eq!(lookup_thread(tid).0, STATUS_INVALID_PARAMETER, "an ended thread is not found");
        // The references taken before the exit still hold the objects.
        dereference(process.cast());
        dereference(thread.cast());
    })
    .expect("no stop");
    kmdf_sim::testing::assert_clean(&m);
}

#[test]
fn reference_by_handle_checks_the_type_and_the_handle() {
    let m = Machine::new(Settings::default());
    m.run(DRV, "DriverEntry", || {
        let (st, process) = by_handle(CURRENT_PROCESS, process_type());
        assert_eq!(st, STATUS_SUCCESS);
        let system = lookup_process(4).1;
        assert_eq!(process, system.cast(), "NtCurrentProcess() is the System process");
        let (st, any) = by_handle(CURRENT_PROCESS, std::ptr::null_mut());
        assert_eq!((st, any), (STATUS_SUCCESS, process), "ObjectType NULL accepts any type");
        let (st, thread) = by_handle(CURRENT_THREAD, thread_type());
        assert_eq!(st, STATUS_SUCCESS);
        assert_ne!(thread, process);
        let (st, untouched) = by_handle(CURRENT_PROCESS, thread_type());
        assert_eq!((st, untouched), (STATUS_OBJECT_TYPE_MISMATCH, std::ptr::null_mut()));
        assert_eq!(by_handle(CURRENT_THREAD, process_type()).0, STATUS_OBJECT_TYPE_MISMATCH);
        assert_eq!(by_handle(0x1234 as HANDLE, process_type()).0, STATUS_INVALID_HANDLE);
        for object in [process, any, thread, system.cast()] {
            dereference(object);
        }
    })
    .expect("no stop");
    kmdf_sim::testing::assert_clean(&m);
}

#[test]
fn counts_follow_references_and_one_dereference_too_many_is_0x18() {
    let m = Machine::new(Settings::default());
    let pid = m.start_process(4).expect("no stop");
    let process = m
        .run(DRV, "DriverEntry", || {
            let process = lookup_process(pid).1;
            // SAFETY: an object the kernel handed out.
            let count = unsafe { ObfReferenceObject(process.cast()) };
            assert_eq!(count, 3, "the kernel's reference, the lookup's and this one");
            assert_eq!(dereference(process.cast()), 2);
            assert_eq!(dereference(process.cast()), 1);
            process
        })
        .expect("no stop");
    // ObfDereferenceObject is allowed up to DISPATCH_LEVEL; the extra one stops.
    let stop = m
        .run_at_irql(DRV, "EvtDpc", DISPATCH_LEVEL as u8, || dereference(process.cast()))
        .expect_err("one dereference more than the driver took");
    let b = stop.bug_check().expect("a bug check");
    assert_eq!((b.code, b.params[0], b.params[1]), (0x18, process_type() as u64, process as u64), "{stop}");
}

#[test]
fn an_object_the_machine_never_handed_out_is_not_modelled() {
    let m = Machine::new(Settings::default());
    let mut storage = [0u64; 8];
    let _ = m.run(DRV, "DriverEntry", || {
        // SAFETY: not an object: the machine stops before touching it.
        unsafe { ObfReferenceObject(storage.as_mut_ptr().cast()) }
    });
    let stop = m.stop().expect("a stop");
    assert!(stop.bug_check().is_none() && stop.to_string().contains("not modelled"), "{stop}");
}

extern "C" fn leaky_entry(_driver: *mut _DRIVER_OBJECT, _path: PUNICODE_STRING) -> NTSTATUS {
    lookup_process(4).0
}

#[test]
fn a_reference_left_at_unload_is_a_finding() {
    let m = Machine::new(Settings::default());
    assert_eq!(m.load("leak.sys", "leak", Some(leaky_entry)).expect("no stop"), STATUS_SUCCESS);
    m.unload().expect("no bug check is documented for it");
    let findings = m.findings();
    assert!(findings.iter().any(|f| f.contains("1 object reference(s)") && f.contains("process")), "{findings:?}");
}

#[test]
fn set_priority_returns_the_old_priority() {
    let m = Machine::new(Settings::default());
    let tid = m.start_thread(4).expect("no stop");
    m.run(DRV, "DriverEntry", || {
        let thread = lookup_thread(tid).1;
        // SAFETY: a thread object the kernel handed out.
        let old = unsafe { KeSetPriorityThread(thread.cast(), 16) };
        assert_eq!(old, 8, "a thread starts at the normal priority");
        // SAFETY: as above.
        let old = unsafe { KeSetPriorityThread(thread.cast(), 20) };
        assert_eq!(old, 16);
        dereference(thread.cast());
    })
    .expect("no stop");
    kmdf_sim::testing::assert_clean(&m);
    // A process object is not a thread.
    let _ = m.run(DRV, "EvtIoRead", || {
        let process = lookup_process(4).1;
        // SAFETY: not a thread: the machine stops before touching it.
        unsafe { KeSetPriorityThread(process.cast(), 16) }
    });
    assert!(m.stop().is_some_and(|s| s.to_string().contains("not modelled")));
}

#[test]
fn lookups_and_priority_keep_their_irql_rules() {
    let m = Machine::new(Settings::default());
    let stop = m
        .run_at_irql(DRV, "EvtDpc", DISPATCH_LEVEL as u8, || lookup_process(4).0)
        .expect_err("PsLookupProcessByProcessId is APC_LEVEL at most");
    assert_eq!(stop.bug_check().map(|b| b.code), Some(0xC4), "{stop}");
    drop(m);
    let m = Machine::new(Settings::default());
    let tid = m.start_thread(4).expect("no stop");
    let thread = m.run(DRV, "DriverEntry", || lookup_thread(tid).1).expect("no stop");
    let stop = m
        .run_at_irql(DRV, "EvtIoRead", APC_LEVEL as u8, || {
            // SAFETY: a thread object the kernel handed out.
            unsafe { KeSetPriorityThread(thread.cast(), 16) }
        })
        .expect_err("KeSetPriorityThread is PASSIVE_LEVEL only");
    assert_eq!(stop.bug_check().map(|b| b.code), Some(0xC4), "{stop}");
}

#[test]
fn a_key_handle_asked_for_as_a_process_is_a_type_mismatch() {
    let m = kmdf_sim::testing::machine_with_parameters("refs", "");
    let path = format!("{}\\Parameters", kmdf_sim::testing::service_key("refs"));
    m.run(DRV, "DriverEntry", || {
        let mut name = kmdf_sim::testing::wide(&path);
        let mut oa = OBJECT_ATTRIBUTES {
            Length: size_of::<OBJECT_ATTRIBUTES>() as u32,
            ObjectName: &raw mut name.us,
            Attributes: OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE,
            ..OBJECT_ATTRIBUTES::default()
        };
        let mut key: HANDLE = std::ptr::null_mut();
        // SAFETY: every pointer is to a live local.
        assert_eq!(unsafe { kmdf_sim::ntddk::ZwOpenKey(&raw mut key, KEY_READ, &raw mut oa) }, STATUS_SUCCESS);
        let (st, untouched) = by_handle(key, process_type());
        assert_eq!((st, untouched), (STATUS_OBJECT_TYPE_MISMATCH, std::ptr::null_mut()));
        assert_eq!(by_handle(key, thread_type()).0, STATUS_OBJECT_TYPE_MISMATCH);
        // SAFETY: the key handle just opened.
        assert_eq!(unsafe { kmdf_sim::ntddk::ZwClose(key) }, STATUS_SUCCESS);
        assert_eq!(by_handle(key, process_type()).0, STATUS_INVALID_HANDLE, "a closed handle is no handle");
    })
    .expect("no stop");
    kmdf_sim::testing::assert_clean(&m);
}
