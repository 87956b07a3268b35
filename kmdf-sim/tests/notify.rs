//! Process-creation notify routines (F84): registered by the driver, run as
//! the test starts and ends processes, and a routine left registered at
//! unload is Driver Verifier's 0xCE, never a clean unload.

use kmdf_sim::control::{Machine, Settings};
use kmdf_sim::ntddk::PsSetCreateProcessNotifyRoutine;
use kmdf_sim::*;
use std::cell::RefCell;

thread_local! {
    /// (parent, process, create) per call of the routine.
    static SEEN: RefCell<Vec<(u64, u64, bool)>> = const { RefCell::new(Vec::new()) };
}

extern "C" fn on_process(parent: HANDLE, process: HANDLE, create: BOOLEAN) {
    SEEN.with(|s| s.borrow_mut().push((parent as u64, process as u64, create != 0)));
}

fn register(remove: bool) -> NTSTATUS {
    // SAFETY: a routine of this test binary, callable for the whole run.
    unsafe { PsSetCreateProcessNotifyRoutine(Some(on_process), u8::from(remove)) }
}

extern "C" fn entry(driver: *mut _DRIVER_OBJECT, _path: PUNICODE_STRING) -> NTSTATUS {
    // SAFETY: the loader's live DRIVER_OBJECT.
    unsafe { (*driver).DriverUnload = Some(unload) };
    register(false)
}

extern "C" fn unload(_driver: *mut _DRIVER_OBJECT) {
    let _ = register(true);
}

extern "C" fn leaky_entry(_driver: *mut _DRIVER_OBJECT, _path: PUNICODE_STRING) -> NTSTATUS {
    register(false)
}

#[test]
fn registered_routines_see_processes_start_and_exit() {
    let m = Machine::new(Settings::default());
    assert_eq!(m.load("notify.sys", "notify", Some(entry)).expect("no stop"), STATUS_SUCCESS);
    let pid = m.start_process(4).expect("no stop");
    m.end_process(4, pid).expect("no stop");
    assert_eq!(SEEN.with(|s| s.borrow_mut().drain(..).collect::<Vec<_>>()), [(4, pid, true), (4, pid, false)]);
    // Registering twice, or removing what is not there, is refused.
    let twice = m.run("notify.sys", "DriverEntry", || register(false)).expect("no stop");
    assert_eq!(twice, STATUS_INVALID_PARAMETER);
    m.unload().expect("the unload routine removed it: a clean unload");
    let again = m.run("notify.sys", "DriverEntry", || register(true)).expect("no stop");
    assert_eq!(again as u32, 0xC000_007A, "STATUS_PROCEDURE_NOT_FOUND");
    let pid = m.start_process(4).expect("no stop");
    assert!(pid > 0 && SEEN.with(|s| s.borrow().is_empty()), "a removed routine is not called");
    kmdf_sim::testing::assert_clean(&m);
}

#[test]
fn a_routine_left_registered_at_unload_is_0xce() {
    let m = Machine::new(Settings::default());
    m.load("leakn.sys", "leakn", Some(leaky_entry)).expect("no stop");
    let stop = m.unload().expect_err("the routine is still registered");
    let b = stop.bug_check().expect("a bug check");
    assert_eq!((b.code, b.params[0]), (0xCE, on_process as *const () as u64), "{stop}");
    assert!(b.root_cause.as_deref().unwrap_or_default().starts_with("leakn.sys unloaded"), "{stop}");
}

#[test]
fn registering_above_passive_level_is_the_irql_violation() {
    let m = Machine::new(Settings::default());
    let _ = m.run_at_irql("notify.sys", "EvtTimerFunc", DISPATCH_LEVEL as u8, || register(false));
    let stop = m.stop().expect("Driver Verifier's IRQL check");
    assert_eq!(stop.bug_check().map(|b| (b.code, b.params[0])), Some((0xC4, 0x20004)), "{stop}");
}

// ---- thread-creation and image-load notify routines (F140)

thread_local! {
    /// (process, thread, create) per call of the thread routine.
    static THREADS: RefCell<Vec<(u64, u64, bool)>> = const { RefCell::new(Vec::new()) };
    /// One entry per call of the image routine.
    static IMAGES: RefCell<Vec<Image>> = const { RefCell::new(Vec::new()) };
}

/// (name, process, base, size, system-mode bit) as an image routine saw them.
type Image = (String, u64, u64, u64, bool);

extern "C" fn on_thread(process: HANDLE, thread: HANDLE, create: BOOLEAN) {
    THREADS.with(|s| s.borrow_mut().push((process as u64, thread as u64, create != 0)));
}

extern "C" fn on_image(name: PUNICODE_STRING, process: HANDLE, info: PIMAGE_INFO) {
    // SAFETY: the kernel passes a valid name for the call.
    let name = unsafe { &*name };
    // SAFETY: and a valid IMAGE_INFO.
    let info = unsafe { &*info };
    // SAFETY: Length bytes of UTF-16 at Buffer.
    let units = unsafe { std::slice::from_raw_parts(name.Buffer, usize::from(name.Length) / 2) };
    // SAFETY: Properties is the union's whole 32 bits.
    let properties = unsafe { info.__bindgen_anon_1.Properties };
    IMAGES.with(|s| {
        s.borrow_mut().push((
            String::from_utf16_lossy(units),
            process as u64,
            info.ImageBase as u64,
            info.ImageSize,
            properties & (1 << 8) != 0,
        ))
    });
}

fn threads(remove: bool) -> NTSTATUS {
    if remove {
        // SAFETY: any routine pointer may be passed to a removal.
        unsafe { kmdf_sim::ntddk::PsRemoveCreateThreadNotifyRoutine(Some(on_thread)) }
    } else {
        // SAFETY: a routine of this test binary, callable for the whole run.
        unsafe { kmdf_sim::ntddk::PsSetCreateThreadNotifyRoutine(Some(on_thread)) }
    }
}

fn images(remove: bool) -> NTSTATUS {
    if remove {
        // SAFETY: any routine pointer may be passed to a removal.
        unsafe { kmdf_sim::ntddk::PsRemoveLoadImageNotifyRoutine(Some(on_image)) }
    } else {
        // SAFETY: a routine of this test binary, callable for the whole run.
        unsafe { kmdf_sim::ntddk::PsSetLoadImageNotifyRoutine(Some(on_image)) }
    }
}

extern "C" fn watcher_entry(driver: *mut _DRIVER_OBJECT, _path: PUNICODE_STRING) -> NTSTATUS {
    // SAFETY: the loader's live DRIVER_OBJECT.
    unsafe { (*driver).DriverUnload = Some(watcher_unload) };
    let status = threads(false);
    if !NT_SUCCESS(status) {
        return status;
    }
    images(false)
}

extern "C" fn watcher_unload(_driver: *mut _DRIVER_OBJECT) {
    let _ = (threads(true), images(true));
}

#[test]
fn thread_and_image_routines_see_threads_and_images() {
    let m = Machine::new(Settings::default());
    assert_eq!(m.load("watch.sys", "watch", Some(watcher_entry)).expect("no stop"), STATUS_SUCCESS);
    let tid = m.start_thread(0x1004).expect("no stop");
    m.end_thread(0x1004, tid).expect("no stop");
    assert_eq!(
        THREADS.with(|s| s.borrow_mut().drain(..).collect::<Vec<_>>()),
        [(0x1004, tid, true), (0x1004, tid, false)]
    );
    m.load_image(r"\Device\HarddiskVolume2\Windows\System32\kernel32.dll", 0x1004, 0x7ff0_0000, 0x9_0000)
        .expect("no stop");
    m.load_image(r"\SystemRoot\System32\drivers\other.sys", 0, 0xFFFF_F800_0100_0000, 0x2_0000).expect("no stop");
    let seen = IMAGES.with(|s| s.borrow_mut().drain(..).collect::<Vec<_>>());
    assert_eq!(
        seen,
        [
            (
                r"\Device\HarddiskVolume2\Windows\System32\kernel32.dll".to_string(),
                0x1004,
                0x7ff0_0000,
                0x9_0000,
                false
            ),
            (r"\SystemRoot\System32\drivers\other.sys".to_string(), 0, 0xFFFF_F800_0100_0000, 0x2_0000, true),
        ]
    );
    m.unload().expect("the unload routine removed both: a clean unload");
    // Removed: not called; removing again finds nothing.
    let tid = m.start_thread(4).expect("no stop");
    m.load_image(r"\SystemRoot\x.sys", 0, 0x1000, 0x1000).expect("no stop");
    assert!(tid > 0 && THREADS.with(|s| s.borrow().is_empty()) && IMAGES.with(|s| s.borrow().is_empty()));
    let again = m.run("watch.sys", "DriverEntry", || (threads(true), images(true))).expect("no stop");
    assert_eq!((again.0 as u32, again.1 as u32), (0xC000_007A, 0xC000_007A), "STATUS_PROCEDURE_NOT_FOUND");
    kmdf_sim::testing::assert_clean(&m);
}

#[test]
fn the_tables_hold_64_routines() {
    let m = Machine::new(Settings::default());
    let statuses = m.run("watch.sys", "DriverEntry", || (0..65).map(|_| threads(false)).collect::<Vec<_>>());
    let statuses = statuses.expect("no stop");
    assert!(statuses[..64].iter().all(|s| *s == STATUS_SUCCESS), "{statuses:x?}");
    assert_eq!(statuses[64], STATUS_INSUFFICIENT_RESOURCES);
    // Registered 64 times: 64 calls per thread start.
    m.start_thread(4).expect("no stop");
    assert_eq!(THREADS.with(|s| s.borrow_mut().drain(..).count()), 64);
}

extern "C" fn image_leak_entry(_driver: *mut _DRIVER_OBJECT, _path: PUNICODE_STRING) -> NTSTATUS {
    images(false)
}

extern "C" fn thread_leak_entry(_driver: *mut _DRIVER_OBJECT, _path: PUNICODE_STRING) -> NTSTATUS {
    threads(false)
}

#[test]
fn an_image_or_thread_routine_left_registered_at_unload_is_0xce() {
    for (entry, routine, what) in [
        (image_leak_entry as extern "C" fn(_, _) -> _, on_image as *const () as u64, "image-notify"),
        (thread_leak_entry, on_thread as *const () as u64, "thread-notify"),
    ] {
        let m = Machine::new(Settings::default());
        m.load("leaki.sys", "leaki", Some(entry)).expect("no stop");
        let stop = m.unload().expect_err("the routine is still registered");
        let b = stop.bug_check().expect("a bug check");
        assert_eq!((b.code, b.params[0]), (0xCE, routine), "{stop}");
        assert!(b.root_cause.as_deref().unwrap_or_default().contains(what), "{stop}");
    }
}

#[test]
fn thread_and_image_registration_above_passive_level_is_the_irql_violation() {
    for register in [threads as fn(bool) -> NTSTATUS, images] {
        let m = Machine::new(Settings::default());
        let _ = m.run_at_irql("watch.sys", "EvtTimerFunc", APC_LEVEL as u8, || register(false));
        let stop = m.stop().expect("Driver Verifier's IRQL check");
        assert_eq!(stop.bug_check().map(|b| b.code), Some(0xC4), "{stop}");
    }
}
