//! PsSetCreateProcessNotifyRoutineEx (F146): the PS_CREATE_NOTIFY_INFO a
//! routine sees as the test creates a process, CreateInfo NULL at exit, a
//! refusal through CreationStatus, one table shared with the plain routines
//! (registration order, the same limit), the critical region the routines
//! run in, and 0xCE for a routine left registered at unload.

use kmdf_sim::control::{Machine, Settings};
use kmdf_sim::ntddk::{PsSetCreateProcessNotifyRoutine, PsSetCreateProcessNotifyRoutineEx};
use kmdf_sim::*;
use std::cell::RefCell;

/// A removal that finds nothing (F84, F146).
const STATUS_PROCEDURE_NOT_FOUND: NTSTATUS = 0xC000_007A_u32 as NTSTATUS;

thread_local! {
    /// One line per call of a routine.
    static SEEN: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

fn text(s: PCUNICODE_STRING) -> String {
    // SAFETY: the kernel's string, valid during the callback.
    let s = unsafe { &*s };
    // SAFETY: Buffer holds Length bytes of UTF-16.
    let units = unsafe { std::slice::from_raw_parts(s.Buffer, usize::from(s.Length) / 2) };
    String::from_utf16_lossy(units)
}

extern "C" fn on_process_ex(_process: PEPROCESS, pid: HANDLE, info: PPS_CREATE_NOTIFY_INFO) {
    // SAFETY: null at exit, else the kernel's PS_CREATE_NOTIFY_INFO.
    let line = match unsafe { info.as_mut() } {
        None => format!("ex exit {}", pid as u64),
        Some(i) => {
            let image = text(i.ImageFileName);
            if image.ends_with("evil.exe") {
                i.CreationStatus = STATUS_ACCESS_DENIED;
            }
            format!(
                "ex create {} parent {} {} [{}] size {}",
                pid as u64,
                i.ParentProcessId as u64,
                image,
                text(i.CommandLine),
                i.Size
            )
        }
    };
    SEEN.with(|s| s.borrow_mut().push(line));
}

extern "C" fn on_process(_parent: HANDLE, pid: HANDLE, create: BOOLEAN) {
    SEEN.with(|s| s.borrow_mut().push(format!("plain {} {}", pid as u64, create != 0)));
}

fn register_ex(remove: bool) -> NTSTATUS {
    // SAFETY: a routine of this test binary, callable for the whole run.
    unsafe { PsSetCreateProcessNotifyRoutineEx(Some(on_process_ex), u8::from(remove)) }
}

fn register_plain(remove: bool) -> NTSTATUS {
    // SAFETY: as above.
    unsafe { PsSetCreateProcessNotifyRoutine(Some(on_process), u8::from(remove)) }
}

fn take() -> Vec<String> {
    SEEN.with(|s| std::mem::take(&mut *s.borrow_mut()))
}

#[test]
fn an_ex_routine_sees_the_image_and_command_line_and_can_refuse_the_process() {
    let m = Machine::new(Settings::default());
    let statuses = m.run("proc.sys", "DriverEntry", || (register_ex(false), register_plain(false), register_ex(false)));
    // The same Ex routine twice is refused; the plain one shares the table.
    assert_eq!(statuses.expect("no stop"), (STATUS_SUCCESS, STATUS_SUCCESS, STATUS_INVALID_PARAMETER));
    let (pid, status) = m.create_process(4, r"\??\C:\tools\app.exe", "app.exe --x").expect("no stop");
    assert_eq!(status, STATUS_SUCCESS);
    m.end_process(4, pid).expect("no stop");
    let size = size_of::<PS_CREATE_NOTIFY_INFO>();
    assert_eq!(
        take(),
        [
            format!(r"ex create {pid} parent 4 \??\C:\tools\app.exe [app.exe --x] size {size}"),
            format!("plain {pid} true"),
            format!("ex exit {pid}"),
            format!("plain {pid} false"),
        ]
    );
    let (_, refused) = m.create_process(4, r"\??\C:\tools\evil.exe", "evil.exe").expect("no stop");
    assert_eq!(refused, STATUS_ACCESS_DENIED);
    let _ = take();
    m.run("proc.sys", "DriverUnload", || (register_ex(true), register_plain(true), register_ex(true)))
        .map(|r| assert_eq!(r, (STATUS_SUCCESS, STATUS_SUCCESS, STATUS_PROCEDURE_NOT_FOUND)))
        .expect("no stop");
    kmdf_sim::testing::assert_clean(&m);
}

extern "C" fn takes_a_resource(_process: PEPROCESS, _pid: HANDLE, _info: PPS_CREATE_NOTIFY_INFO) {
    let mut r: Box<ERESOURCE> = Box::new(
        // SAFETY: plain data; zero is a valid bit pattern.
        unsafe { std::mem::zeroed() },
    );
    let p: PERESOURCE = &raw mut *r;
    // SAFETY: storage alive for the calls; the kernel's critical region is
    // what the case under test relies on.
    let _ = unsafe { kmdf_sim::ntddk::ExInitializeResourceLite(p) };
    // SAFETY: as above.
    unsafe { kmdf_sim::ntddk::ExAcquireResourceExclusiveLite(p, 1) };
    // SAFETY: as above.
    unsafe { kmdf_sim::ntddk::ExReleaseResourceLite(p) };
    // SAFETY: as above.
    let _ = unsafe { kmdf_sim::ntddk::ExDeleteResourceLite(p) };
}

#[test]
fn the_routines_run_inside_a_critical_region() {
    let m = Machine::new(Settings::default());
    m.run("proc.sys", "DriverEntry", || {
        // SAFETY: a routine of this test binary, callable for the whole run.
        unsafe { PsSetCreateProcessNotifyRoutineEx(Some(takes_a_resource), 0) }
    })
    .expect("no stop");
    m.start_process(4).expect("no stop");
    assert!(m.findings().is_empty(), "no WithinCriticalRegion finding: {:?}", m.findings());
}

extern "C" fn leaky_entry(_driver: *mut _DRIVER_OBJECT, _path: PUNICODE_STRING) -> NTSTATUS {
    register_ex(false)
}

#[test]
fn an_ex_routine_left_registered_at_unload_is_0xce() {
    let m = Machine::new(Settings::default());
    assert_eq!(m.load("leak.sys", "leak", Some(leaky_entry)).expect("no stop"), STATUS_SUCCESS);
    let stop = m.unload().expect_err("the routine is still registered");
    let b = stop.bug_check().expect("a bug check");
    assert_eq!((b.code, b.params[0]), (0xCE, on_process_ex as *const () as u64), "{stop}");
    assert!(stop.to_string().contains("PsSetCreateProcessNotifyRoutineEx(routine, TRUE)"), "{stop}");
}
