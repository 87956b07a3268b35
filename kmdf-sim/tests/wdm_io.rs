//! The WDM I/O manager (F120–F125) with every verifier on, through a WDM
//! driver of this project's own (`echo` below): a control device object, a
//! symbolic link, reads and writes with buffered I/O, IOCTLs with buffered,
//! direct (MDL) and neither I/O, an IRP pended and completed later, one
//! cancelled, cleanup and close, load → I/O → unload three times — and what
//! Driver Verifier stops or reports when the driver leaves an IRP pending, a
//! device or a link behind, completes an IRP twice or with its cancel routine
//! set, returns at the wrong IRQL or holding the cancel lock. The same
//! control device from a KMDF driver shows what `WdfDriverCreate` stores in
//! the driver object (F126).

use kmdf_sim::control::{Caller, DeviceFile, IoOutcome, Machine, Settings, Stop};
use kmdf_sim::ntddk::IoCreateDevice;
use kmdf_sim::*;

/// The test driver: a WDM control device that echoes.
mod echo {
    use kmdf_sim::ntddk::*;
    use kmdf_sim::*;
    use std::cell::{Cell, RefCell};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// `CTL_CODE(DeviceType, Function, Method, Access)` of the headers.
    pub const fn ctl_code(device_type: u32, function: u32, method: u32, access: u32) -> u32 {
        (device_type << 16) | (access << 14) | (function << 2) | method
    }
    /// Upper-cases the input into the output.
    pub const IOCTL_UPPER: u32 = ctl_code(FILE_DEVICE_UNKNOWN, 0x800, METHOD_BUFFERED, FILE_ANY_ACCESS);
    /// Writes the input reversed into the output buffer's MDL.
    pub const IOCTL_REVERSE: u32 = ctl_code(FILE_DEVICE_UNKNOWN, 0x801, METHOD_OUT_DIRECT, FILE_ANY_ACCESS);
    /// Adds one to each input byte, user buffers (neither I/O).
    pub const IOCTL_INCREMENT: u32 = ctl_code(FILE_DEVICE_UNKNOWN, 0x802, METHOD_NEITHER, FILE_ANY_ACCESS);
    /// Held by the driver, cancelable, until IOCTL_RELEASE.
    pub const IOCTL_HOLD: u32 = ctl_code(FILE_DEVICE_UNKNOWN, 0x803, METHOD_BUFFERED, FILE_ANY_ACCESS);
    /// Completes the held IRP with STATUS_SUCCESS.
    pub const IOCTL_RELEASE: u32 = ctl_code(FILE_DEVICE_UNKNOWN, 0x804, METHOD_BUFFERED, FILE_ANY_ACCESS);

    /// How the driver misbehaves, for the negative tests.
    #[derive(Clone, Copy, Default)]
    pub struct Faults {
        pub keep_device: bool,
        pub keep_link: bool,
        /// Cleanup leaves the held IRP pending.
        pub keep_held_at_cleanup: bool,
        /// IOCTL_RELEASE completes the held IRP without clearing its cancel routine.
        pub complete_with_cancel_routine: bool,
        /// IOCTL_UPPER completes its IRP twice.
        pub complete_twice: bool,
        /// IOCTL_HOLD returns STATUS_PENDING without IoMarkIrpPending.
        pub pend_unmarked: bool,
        /// IOCTL_HOLD returns holding the cancel spin lock (DISPATCH_LEVEL).
        pub return_holding_cancel_lock: bool,
        /// The cancel routine returns without releasing the cancel spin lock.
        pub cancel_keeps_lock: bool,
        /// `kmdf_entry` leaves IRP_MJ_WRITE to the framework.
        pub framework_write: bool,
    }

    thread_local! {
        pub static FAULTS: Cell<Faults> = Cell::new(Faults::default());
        /// Dispatch routines called, in order.
        pub static LOG: RefCell<Vec<&'static str>> = const { RefCell::new(Vec::new()) };
    }

    fn log(what: &'static str) {
        LOG.with(|l| l.borrow_mut().push(what));
    }

    /// The device extension.
    #[repr(C)]
    struct Extension {
        data: [u8; 64],
        len: usize,
        held: PIRP,
    }

    fn wide(s: &str) -> Vec<u16> {
        s.encode_utf16().collect()
    }

    fn counted(units: &mut [u16]) -> UNICODE_STRING {
        let bytes = (units.len() * 2) as u16;
        UNICODE_STRING { Length: bytes, MaximumLength: bytes, Buffer: units.as_mut_ptr() }
    }

    /// The header's inline `IoGetCurrentIrpStackLocation`.
    ///
    /// # Safety
    /// `irp` a live IRP.
    unsafe fn stack<'a>(irp: PIRP) -> &'a mut IO_STACK_LOCATION {
        // SAFETY: the caller's live IRP.
        let tail = unsafe { &(*irp).Tail };
        // SAFETY: an IRP the I/O manager sent uses the Overlay member and
        // sets its current stack location.
        let location = unsafe { tail.Overlay.__bindgen_anon_2.__bindgen_anon_1.CurrentStackLocation };
        // SAFETY: the stack location lives as long as the IRP.
        unsafe { &mut *location }
    }

    /// The IRP itself.
    ///
    /// # Safety
    /// `irp` a live IRP.
    unsafe fn irp_mut<'a>(irp: PIRP) -> &'a mut IRP {
        // SAFETY: the caller's live IRP.
        unsafe { &mut *irp }
    }

    /// `len` bytes at `p` (null when `len` is 0).
    ///
    /// # Safety
    /// `p` valid for `len` bytes, or `len` 0.
    unsafe fn bytes<'a>(p: *mut core::ffi::c_void, len: usize) -> &'a mut [u8] {
        if len == 0 {
            return &mut [];
        }
        // SAFETY: the caller's buffer of `len` bytes.
        unsafe { std::slice::from_raw_parts_mut(p.cast::<u8>(), len) }
    }

    /// The header's inline `IoSetCancelRoutine`: an interlocked exchange.
    ///
    /// # Safety
    /// `irp` a live IRP.
    unsafe fn set_cancel_routine(irp: PIRP, routine: PDRIVER_CANCEL) -> PDRIVER_CANCEL {
        let new = routine.map_or(0, |r| r as usize);
        // SAFETY: the caller's live IRP.
        let field = unsafe { &raw mut (*irp).CancelRoutine };
        // SAFETY: CancelRoutine is a pointer-sized, aligned field of a live IRP.
        let slot = unsafe { AtomicUsize::from_ptr(field.cast()) };
        let old = slot.swap(new, Ordering::SeqCst);
        // SAFETY: the slot held a PDRIVER_CANCEL (an optional function pointer).
        unsafe { std::mem::transmute::<usize, PDRIVER_CANCEL>(old) }
    }

    /// The header's `IoCompleteRequest` macro.
    ///
    /// # Safety
    /// `irp` an IRP the driver owns.
    unsafe fn complete(irp: PIRP, status: NTSTATUS, information: u64) -> NTSTATUS {
        // SAFETY: the driver owns the IRP until it completes it.
        let io_status = unsafe { &mut (*irp).IoStatus };
        io_status.__bindgen_anon_1.Status = status;
        io_status.Information = information;
        // SAFETY: as above.
        unsafe { IofCompleteRequest(irp, IO_NO_INCREMENT as CCHAR) };
        status
    }

    /// The device extension of `device`.
    ///
    /// # Safety
    /// `device` the driver's device.
    unsafe fn extension<'a>(device: PDEVICE_OBJECT) -> &'a mut Extension {
        // SAFETY: the driver's live device.
        let extension = unsafe { (*device).DeviceExtension };
        // SAFETY: IoCreateDevice gave it size_of::<Extension>() zeroed bytes.
        unsafe { &mut *extension.cast::<Extension>() }
    }

    unsafe extern "C" fn cancel(device: PDEVICE_OBJECT, irp: PIRP) {
        log("Cancel");
        // SAFETY: the cancelled IRP is live in its cancel routine.
        let irql = unsafe { (*irp).CancelIrql };
        if FAULTS.get().cancel_keeps_lock {
            return;
        }
        // SAFETY: the I/O manager calls a cancel routine holding the cancel
        // spin lock, with the IRQL to return to in CancelIrql.
        unsafe { IoReleaseCancelSpinLock(irql) };
        // SAFETY: the device the IRP was sent to.
        let ext = unsafe { extension(device) };
        if ext.held == irp {
            ext.held = std::ptr::null_mut();
        }
        // SAFETY: the cancel routine owns the cancelled IRP.
        unsafe { complete(irp, STATUS_CANCELLED, 0) };
    }

    unsafe extern "C" fn create_close(_device: PDEVICE_OBJECT, irp: PIRP) -> NTSTATUS {
        // SAFETY: a live IRP.
        let major = unsafe { stack(irp) }.MajorFunction;
        log(if u32::from(major) == IRP_MJ_CREATE { "Create" } else { "Close" });
        // SAFETY: the driver owns it.
        unsafe { complete(irp, STATUS_SUCCESS, 0) }
    }

    unsafe extern "C" fn cleanup(device: PDEVICE_OBJECT, irp: PIRP) -> NTSTATUS {
        log("Cleanup");
        // SAFETY: the driver's device.
        let ext = unsafe { extension(device) };
        let held = ext.held;
        // SAFETY: a live IRP.
        let file = unsafe { stack(irp) }.FileObject;
        // SAFETY: a held IRP is live until the driver completes it.
        let same_file = !held.is_null() && unsafe { stack(held) }.FileObject == file;
        if same_file && !FAULTS.get().keep_held_at_cleanup {
            // SAFETY: live IRPs; clearing the cancel routine makes it ours.
            if unsafe { set_cancel_routine(held, None) }.is_some() {
                ext.held = std::ptr::null_mut();
                // SAFETY: now owned by the driver.
                unsafe { complete(held, STATUS_CANCELLED, 0) };
            }
        }
        // SAFETY: the driver owns it.
        unsafe { complete(irp, STATUS_SUCCESS, 0) }
    }

    unsafe extern "C" fn write(device: PDEVICE_OBJECT, irp: PIRP) -> NTSTATUS {
        log("Write");
        // SAFETY: a live IRP.
        let location = unsafe { stack(irp) };
        // SAFETY: Parameters.Write is the active member for IRP_MJ_WRITE.
        let len = unsafe { location.Parameters.Write.Length } as usize;
        // SAFETY: the driver's device.
        let ext = unsafe { extension(device) };
        let n = len.min(ext.data.len());
        // SAFETY: a live IRP.
        let associated = unsafe { irp_mut(irp) }.AssociatedIrp;
        // SAFETY: buffered I/O: SystemBuffer is the active member.
        let source = unsafe { associated.SystemBuffer };
        // SAFETY: the system buffer holds `len` >= n bytes.
        ext.data[..n].copy_from_slice(unsafe { bytes(source, n) });
        ext.len = n;
        // SAFETY: the driver owns it.
        unsafe { complete(irp, STATUS_SUCCESS, n as u64) }
    }

    unsafe extern "C" fn read(device: PDEVICE_OBJECT, irp: PIRP) -> NTSTATUS {
        log("Read");
        // SAFETY: a live IRP.
        let location = unsafe { stack(irp) };
        // SAFETY: Parameters.Read is the active member for IRP_MJ_READ.
        let len = unsafe { location.Parameters.Read.Length } as usize;
        // SAFETY: the driver's device.
        let ext = unsafe { extension(device) };
        let n = len.min(ext.len);
        // SAFETY: a live IRP.
        let associated = unsafe { irp_mut(irp) }.AssociatedIrp;
        // SAFETY: buffered I/O: SystemBuffer is the active member.
        let target = unsafe { associated.SystemBuffer };
        // SAFETY: the system buffer holds `len` >= n bytes.
        unsafe { bytes(target, n) }.copy_from_slice(&ext.data[..n]);
        // SAFETY: the driver owns it.
        unsafe { complete(irp, STATUS_SUCCESS, n as u64) }
    }

    /// The header's inline `MmGetSystemAddressForMdlSafe`, for a locked MDL.
    ///
    /// # Safety
    /// `mdl` a live MDL.
    unsafe fn system_address(mdl: PMDL) -> *mut u8 {
        // SAFETY: a live MDL.
        let flags = unsafe { (*mdl).MdlFlags } as u32;
        if flags & (MDL_MAPPED_TO_SYSTEM_VA | MDL_SOURCE_IS_NONPAGED_POOL) != 0 {
            // SAFETY: as above.
            unsafe { (*mdl).MappedSystemVa.cast() }
        } else {
            std::ptr::null_mut()
        }
    }

    unsafe extern "C" fn device_control(device: PDEVICE_OBJECT, irp: PIRP) -> NTSTATUS {
        log("DeviceControl");
        // SAFETY: a live IRP.
        let location = unsafe { stack(irp) };
        // SAFETY: Parameters.DeviceIoControl is the active member.
        let p = unsafe { location.Parameters.DeviceIoControl };
        // SAFETY: a live IRP.
        let associated = unsafe { irp_mut(irp) }.AssociatedIrp;
        // SAFETY: SystemBuffer is the active member (null when unused).
        let system = unsafe { associated.SystemBuffer };
        let (input_len, output_len) = (p.InputBufferLength as usize, p.OutputBufferLength as usize);
        let n = input_len.min(output_len);
        match p.IoControlCode {
            IOCTL_UPPER => {
                // SAFETY: METHOD_BUFFERED: one system buffer of max(in, out) >= n bytes.
                unsafe { bytes(system, n) }.make_ascii_uppercase();
                // SAFETY: the driver owns it.
                let status = unsafe { complete(irp, STATUS_SUCCESS, n as u64) };
                if FAULTS.get().complete_twice {
                    // SAFETY: deliberately wrong: the IRP is completed already.
                    unsafe { IofCompleteRequest(irp, 0) };
                }
                status
            }
            IOCTL_REVERSE => {
                // SAFETY: a live IRP; METHOD_OUT_DIRECT: the output's MDL.
                let mdl = unsafe { irp_mut(irp) }.MdlAddress;
                if mdl.is_null() || system.is_null() {
                    // SAFETY: the driver owns it.
                    return unsafe { complete(irp, STATUS_INVALID_PARAMETER, 0) };
                }
                // SAFETY: the MDL of the output buffer, locked and mapped.
                let out = unsafe { system_address(mdl) };
                // SAFETY: the input in the system buffer, `input_len` >= n bytes.
                let input = unsafe { bytes(system, n) };
                // SAFETY: the mapped output, `output_len` >= n bytes.
                let out = unsafe { bytes(out.cast(), n) };
                for (o, i) in out.iter_mut().zip(input.iter().rev()) {
                    *o = *i;
                }
                // SAFETY: the driver owns it.
                unsafe { complete(irp, STATUS_SUCCESS, n as u64) }
            }
            IOCTL_INCREMENT => {
                // SAFETY: METHOD_NEITHER: the caller's input, in its process.
                let input = unsafe { bytes(p.Type3InputBuffer, n) };
                // SAFETY: a live IRP.
                let user = unsafe { irp_mut(irp) }.UserBuffer;
                // SAFETY: the caller's output at UserBuffer, `output_len` >= n bytes.
                let out = unsafe { bytes(user, n) };
                for (o, i) in out.iter_mut().zip(input.iter()) {
                    *o = i.wrapping_add(1);
                }
                // SAFETY: the driver owns it.
                unsafe { complete(irp, STATUS_SUCCESS, n as u64) }
            }
            IOCTL_HOLD => {
                // SAFETY: the driver's device.
                let ext = unsafe { extension(device) };
                if !ext.held.is_null() {
                    // SAFETY: the driver owns it.
                    return unsafe { complete(irp, STATUS_INVALID_DEVICE_STATE, 0) };
                }
                if FAULTS.get().return_holding_cancel_lock {
                    let mut irql: KIRQL = 0;
                    // SAFETY: a writable KIRQL; deliberately never released.
                    unsafe { IoAcquireCancelSpinLock(&raw mut irql) };
                }
                if !FAULTS.get().pend_unmarked {
                    // The header's IoMarkIrpPending.
                    location.Control |= SL_PENDING_RETURNED as u8;
                }
                // SAFETY: a live IRP.
                unsafe { set_cancel_routine(irp, Some(cancel)) };
                ext.held = irp;
                STATUS_PENDING
            }
            IOCTL_RELEASE => {
                // SAFETY: the driver's device.
                let ext = unsafe { extension(device) };
                let held = std::mem::replace(&mut ext.held, std::ptr::null_mut());
                let keep = FAULTS.get().complete_with_cancel_routine;
                // SAFETY: a held IRP is live; clearing its cancel routine makes it ours.
                if !held.is_null() && (keep || unsafe { set_cancel_routine(held, None) }.is_some()) {
                    // SAFETY: owned by the driver now.
                    unsafe { complete(held, STATUS_SUCCESS, 0) };
                }
                // SAFETY: the driver owns it.
                unsafe { complete(irp, STATUS_SUCCESS, 0) }
            }
            // SAFETY: the driver owns it.
            _ => unsafe { complete(irp, STATUS_INVALID_DEVICE_REQUEST, 0) },
        }
    }

    pub const DEVICE: &str = r"\Device\WdmEcho";
    pub const LINK: &str = r"\??\WdmEcho";

    unsafe extern "C" fn unload(driver: *mut DRIVER_OBJECT) {
        log("Unload");
        let faults = FAULTS.get();
        if !faults.keep_link {
            let mut link = wide(LINK);
            let mut name = counted(&mut link);
            // SAFETY: a valid counted string.
            let _ = unsafe { IoDeleteSymbolicLink(&raw mut name) };
        }
        if !faults.keep_device {
            // SAFETY: the driver object's device list holds its devices.
            let device = unsafe { (*driver).DeviceObject };
            if !device.is_null() {
                // SAFETY: the driver's own device.
                unsafe { IoDeleteDevice(device) };
            }
        }
    }

    /// DriverEntry: the control device, its link, the dispatch table.
    pub unsafe extern "C" fn driver_entry(driver: *mut DRIVER_OBJECT, _path: PUNICODE_STRING) -> NTSTATUS {
        let mut units = wide(DEVICE);
        let mut name = counted(&mut units);
        let mut device: PDEVICE_OBJECT = std::ptr::null_mut();
        // SAFETY: the loader's driver object; valid name; a writable slot.
        let status = unsafe {
            IoCreateDevice(
                driver,
                size_of::<Extension>() as u32,
                &raw mut name,
                FILE_DEVICE_UNKNOWN,
                FILE_DEVICE_SECURE_OPEN,
                0,
                &raw mut device,
            )
        };
        if !NT_SUCCESS(status) {
            return status;
        }
        // SAFETY: the device just created.
        unsafe { (*device).Flags |= DO_BUFFERED_IO };
        let mut link_units = wide(LINK);
        let mut link = counted(&mut link_units);
        // SAFETY: valid counted strings.
        let status = unsafe { IoCreateSymbolicLink(&raw mut link, &raw mut name) };
        if !NT_SUCCESS(status) {
            // SAFETY: the device just created.
            unsafe { IoDeleteDevice(device) };
            return status;
        }
        // SAFETY: the loader's live driver object.
        let d = unsafe { &mut *driver };
        d.MajorFunction[IRP_MJ_CREATE as usize] = Some(create_close);
        d.MajorFunction[IRP_MJ_CLOSE as usize] = Some(create_close);
        d.MajorFunction[IRP_MJ_CLEANUP as usize] = Some(cleanup);
        d.MajorFunction[IRP_MJ_READ as usize] = Some(read);
        d.MajorFunction[IRP_MJ_WRITE as usize] = Some(write);
        d.MajorFunction[IRP_MJ_DEVICE_CONTROL as usize] = Some(device_control);
        d.DriverUnload = Some(unload);
        STATUS_SUCCESS
    }

    /// A KMDF driver with the same WDM control device: WdfDriverCreate first
    /// (it stores the framework's routines in the driver object, F126), then
    /// the echo driver's — except IRP_MJ_WRITE when `framework_write`, whose
    /// slot keeps the framework's dispatch routine.
    pub unsafe extern "C" fn kmdf_entry(driver: *mut DRIVER_OBJECT, path: PUNICODE_STRING) -> NTSTATUS {
        let config = kmdf_sim::testing::driver_config(None, None);
        if let Err(status) = kmdf_sim::testing::create_driver(driver, path, None, config) {
            return status;
        }
        // SAFETY: the loader's live driver object.
        let framework_write = unsafe { (*driver).MajorFunction[IRP_MJ_WRITE as usize] };
        // SAFETY: as the loader calls it.
        let status = unsafe { driver_entry(driver, path) };
        if FAULTS.get().framework_write {
            // SAFETY: as above.
            unsafe { (*driver).MajorFunction[IRP_MJ_WRITE as usize] = framework_write };
        }
        status
    }

    /// The address of the cancel routine, as bug checks name it.
    pub fn cancel_address() -> u64 {
        cancel as *const () as u64
    }
}

use echo::*;

const APP: &str = "echo-app.exe";

fn machine(faults: Faults) -> Machine {
    FAULTS.set(faults);
    LOG.with(|l| l.borrow_mut().clear());
    let m = Machine::new(Settings::default());
    assert_eq!(m.load("wdm-echo.sys", "WdmEcho", Some(driver_entry)), Ok(STATUS_SUCCESS));
    m
}

fn open(m: &Machine) -> DeviceFile {
    m.open(r"\\.\WdmEcho", APP, Caller::User).expect("running").expect("CreateFile succeeds")
}

fn completed(status: NTSTATUS, output: &[u8]) -> IoOutcome {
    IoOutcome::Completed { status, information: output.len() as u64, output: output.to_vec() }
}

fn log() -> Vec<&'static str> {
    LOG.with(|l| l.borrow().clone())
}

fn bug_check(stop: Option<Stop>) -> (u32, [u64; 4], String) {
    let stop = stop.expect("the machine stopped");
    let b = stop.bug_check().unwrap_or_else(|| panic!("a bug check, got {stop}"));
    (b.code, b.params, b.root_cause.clone().unwrap_or_default())
}

#[test]
fn reads_writes_and_each_ioctl_method_reach_the_dispatch_routines() {
    let m = machine(Faults::default());
    let file = open(&m);
    let (_, w) = m.write(&file, APP, b"hello").unwrap().unwrap();
    assert_eq!(w, IoOutcome::Completed { status: STATUS_SUCCESS, information: 5, output: vec![] });
    let (_, r) = m.read(&file, APP, 16).unwrap().unwrap();
    assert_eq!(r, completed(STATUS_SUCCESS, b"hello"));
    let upper = m.device_io_control(&file, APP, IOCTL_UPPER, b"abc", 3).unwrap().unwrap().1;
    assert_eq!(upper, completed(STATUS_SUCCESS, b"ABC"), "METHOD_BUFFERED: the system buffer comes back");
    let reversed = m.device_io_control(&file, APP, IOCTL_REVERSE, b"abcd", 4).unwrap().unwrap().1;
    assert_eq!(reversed, completed(STATUS_SUCCESS, b"dcba"), "METHOD_OUT_DIRECT: written through the MDL");
    let incremented = m.device_io_control(&file, APP, IOCTL_INCREMENT, b"abc", 3).unwrap().unwrap().1;
    assert_eq!(incremented, completed(STATUS_SUCCESS, b"bcd"), "METHOD_NEITHER: the caller's buffers");
    let unknown = m.device_io_control(&file, APP, 0x0022_2FFF, b"", 0).unwrap().unwrap().1;
    assert_eq!(unknown, IoOutcome::Completed { status: STATUS_INVALID_DEVICE_REQUEST, information: 0, output: vec![] });
    m.close(&file).unwrap();
    let report = m.unload().expect("a clean unload");
    assert!(report.leaked_pool.is_empty());
    assert_eq!(
        log(),
        [
            "Create",
            "Write",
            "Read",
            "DeviceControl",
            "DeviceControl",
            "DeviceControl",
            "DeviceControl",
            "Cleanup",
            "Close",
            "Unload"
        ]
    );
    kmdf_sim::testing::assert_clean(&m);
    assert!(m.ddi_calls().get("IoCreateDevice").is_some_and(|&n| n == 1));
}

#[test]
fn an_irp_held_pending_completes_later_and_one_is_cancelled() {
    let m = machine(Faults::default());
    let file = open(&m);
    let (held, outcome) = m.device_io_control(&file, APP, IOCTL_HOLD, b"", 0).unwrap().unwrap();
    assert_eq!(outcome, IoOutcome::Pending);
    let (_, released) = m.device_io_control(&file, APP, IOCTL_RELEASE, b"", 0).unwrap().unwrap();
    assert_eq!(released, completed(STATUS_SUCCESS, b""));
    assert_eq!(m.request_outcome(held), completed(STATUS_SUCCESS, b""), "completed later, by the other IOCTL");

    let (second, outcome) = m.device_io_control(&file, APP, IOCTL_HOLD, b"", 0).unwrap().unwrap();
    assert_eq!(outcome, IoOutcome::Pending);
    m.cancel_request(second).expect("the cancel routine runs and releases the lock");
    assert_eq!(m.request_outcome(second), completed(STATUS_CANCELLED, b""));
    assert!(log().contains(&"Cancel"));
    m.close(&file).unwrap();
    m.unload().expect("a clean unload");
    kmdf_sim::testing::assert_clean(&m);
}

#[test]
fn close_with_an_irp_held_sends_cleanup_then_close_once_it_completes() {
    let m = machine(Faults::default());
    let file = open(&m);
    let (held, _) = m.device_io_control(&file, APP, IOCTL_HOLD, b"", 0).unwrap().unwrap();
    m.close(&file).unwrap();
    assert_eq!(m.request_outcome(held), completed(STATUS_CANCELLED, b""), "the driver's cleanup completed it");
    assert_eq!(log(), ["Create", "DeviceControl", "Cleanup", "Close"]);
    assert_eq!(m.read(&file, APP, 1).unwrap(), Err(STATUS_INVALID_HANDLE), "the handle is closed");
    m.unload().expect("a clean unload");
    kmdf_sim::testing::assert_clean(&m);
}

#[test]
fn close_is_deferred_while_an_irp_is_outstanding() {
    let m = machine(Faults { keep_held_at_cleanup: true, ..Faults::default() });
    let file = open(&m);
    let (held, _) = m.device_io_control(&file, APP, IOCTL_HOLD, b"", 0).unwrap().unwrap();
    m.close(&file).unwrap();
    assert_eq!(log(), ["Create", "DeviceControl", "Cleanup"], "no IRP_MJ_CLOSE while an IRP references the file");
    m.cancel_request(held).unwrap();
    assert_eq!(m.request_outcome(held), completed(STATUS_CANCELLED, b""));
    assert_eq!(log(), ["Create", "DeviceControl", "Cleanup", "Cancel", "Close"]);
    m.unload().expect("a clean unload");
    kmdf_sim::testing::assert_clean(&m);
}

#[test]
fn names_resolve_through_the_link_only() {
    let m = machine(Faults::default());
    assert_eq!(m.open(r"\\.\NoSuchDevice", APP, Caller::User).unwrap().err(), Some(-1_073_741_772)); // 0xC0000034
    let direct = m.open(r"\\?\GLOBALROOT\Device\WdmEcho", APP, Caller::User).unwrap().expect("the device by name");
    m.close(&direct).unwrap();
    m.unload().unwrap();
    assert_eq!(m.open(r"\\.\WdmEcho", APP, Caller::User).unwrap().err(), Some(-1_073_741_772), "link deleted");
    kmdf_sim::testing::assert_clean(&m);
}

#[test]
fn an_irp_left_pending_at_unload_is_bug_check_0xce_naming_its_cancel_routine() {
    let m = machine(Faults { keep_held_at_cleanup: true, ..Faults::default() });
    let file = open(&m);
    let _ = m.device_io_control(&file, APP, IOCTL_HOLD, b"", 0).unwrap().unwrap();
    m.close(&file).unwrap();
    let stop = m.unload().expect_err("the unload stops");
    let (code, params, cause) = bug_check(Some(*stop));
    assert_eq!((code, params), (0xCE, [cancel_address(), 0, cancel_address(), 0]));
    assert!(cause.contains("still pending"), "{cause}");
}

#[test]
fn a_device_not_deleted_is_reported_and_its_name_collides_at_the_next_load() {
    let m = machine(Faults { keep_device: true, ..Faults::default() });
    m.unload().expect("no stop: Windows keeps the object");
    let findings = m.findings();
    assert!(findings.iter().any(|f| f.contains(r"\Device\WdmEcho was not deleted")), "{findings:?}");
    FAULTS.set(Faults::default());
    let collision = 0xC000_0035_u32 as NTSTATUS;
    assert_eq!(m.load("wdm-echo.sys", "WdmEcho", Some(driver_entry)), Ok(collision));
}

#[test]
fn a_link_not_deleted_is_reported_and_collides_at_the_next_load() {
    let m = machine(Faults { keep_link: true, ..Faults::default() });
    m.unload().expect("no stop: the link is a permanent object");
    let findings = m.findings();
    assert!(findings.iter().any(|f| f.contains(r"symbolic link \??\WdmEcho")), "{findings:?}");
    FAULTS.set(Faults::default());
    let collision = 0xC000_0035_u32 as NTSTATUS;
    assert_eq!(m.load("wdm-echo.sys", "WdmEcho", Some(driver_entry)), Ok(collision));
}

#[test]
fn completing_an_irp_twice_is_bug_check_0x44() {
    let m = machine(Faults { complete_twice: true, ..Faults::default() });
    let file = open(&m);
    let _ = m.device_io_control(&file, APP, IOCTL_UPPER, b"a", 1).expect_err("stops");
    let (code, params, _) = bug_check(m.stop());
    assert_eq!(code, 0x44);
    assert_ne!(params[0], 0, "the IRP's address");
}

#[test]
fn completing_with_the_cancel_routine_set_is_0xc9_7() {
    let m = machine(Faults { complete_with_cancel_routine: true, ..Faults::default() });
    let file = open(&m);
    let (held, _) = m.device_io_control(&file, APP, IOCTL_HOLD, b"", 0).unwrap().unwrap();
    let _ = m.device_io_control(&file, APP, IOCTL_RELEASE, b"", 0);
    let (code, params, _) = bug_check(m.stop());
    assert_eq!((code, params), (0xC9, [0x7, cancel_address(), held, 0]));
}

#[test]
fn creating_a_device_above_passive_level_is_a_driver_verifier_irql_stop() {
    let m = machine(Faults::default());
    let stop = m
        .run_at_irql("wdm-echo.sys", "Dpc", DISPATCH_LEVEL as u8, || {
            let mut device: PDEVICE_OBJECT = std::ptr::null_mut();
            // SAFETY: a null name and a writable slot; the driver object is
            // not needed before the IRQL check fails the call.
            unsafe { IoCreateDevice(std::ptr::null_mut(), 0, std::ptr::null_mut(), 0, 0, 0, &raw mut device) }
        })
        .expect_err("stops");
    assert_eq!(stop.bug_check().map(|b| b.code), Some(0xC4));
}

#[test]
fn unloading_with_a_file_still_open_is_a_finding() {
    let m = machine(Faults::default());
    let _file = open(&m);
    m.unload().expect("no IRP is pending");
    let findings = m.findings();
    assert!(findings.iter().any(|f| f.contains("1 file object(s) still open")), "{findings:?}");
}

#[test]
fn three_load_io_unload_cycles_with_every_verifier_stay_clean() {
    let m = machine(Faults::default());
    for cycle in 0..3 {
        if cycle > 0 {
            assert_eq!(m.load("wdm-echo.sys", "WdmEcho", Some(driver_entry)), Ok(STATUS_SUCCESS));
        }
        let file = open(&m);
        let write = m.write(&file, APP, b"cycle");
        assert_eq!(
            m.call_sync(write, 0).unwrap(),
            Ok(IoOutcome::Completed { status: STATUS_SUCCESS, information: 5, output: vec![] })
        );
        let (held, _) = m.device_io_control(&file, APP, IOCTL_HOLD, b"", 0).unwrap().unwrap();
        assert_eq!(m.pending_requests(), [held]);
        let upper = m.device_io_control(&file, APP, IOCTL_UPPER, b"xy", 2);
        assert_eq!(m.call_sync(upper, 0).unwrap(), Ok(completed(STATUS_SUCCESS, b"XY")));
        assert_eq!(m.wait_for_request(held, 10).unwrap(), IoOutcome::Pending, "nothing completes it by itself");
        m.close(&file).unwrap();
        assert!(m.pending_requests().is_empty(), "cleanup completed the held IRP");
        m.unload().expect("a clean unload");
    }
    kmdf_sim::testing::assert_clean(&m);
    assert_eq!(m.ddi_calls().get("IoCreateDevice"), Some(&3));
    assert_eq!(m.ddi_calls().get("IoDeleteSymbolicLink"), Some(&3));
}

#[test]
fn a_dispatch_routine_returning_at_dispatch_level_is_0xc9_5() {
    let m = machine(Faults { return_holding_cancel_lock: true, ..Faults::default() });
    let file = open(&m);
    let _ = m.device_io_control(&file, APP, IOCTL_HOLD, b"", 0).expect_err("stops");
    let (code, params, cause) = bug_check(m.stop());
    assert_eq!((code, params[0], params[2], params[3]), (0xC9, 0x5, 0, u64::from(DISPATCH_LEVEL)));
    assert_ne!(params[1], 0, "the device object");
    assert!(cause.contains("DispatchDeviceControl"), "{cause}");
}

#[test]
fn pending_without_io_mark_irp_pending_is_a_finding() {
    let m = machine(Faults { pend_unmarked: true, ..Faults::default() });
    let file = open(&m);
    let (held, outcome) = m.device_io_control(&file, APP, IOCTL_HOLD, b"", 0).unwrap().unwrap();
    assert_eq!(outcome, IoOutcome::Pending);
    let findings = m.findings();
    assert!(findings.iter().any(|f| f.contains("STATUS_PENDING without IoMarkIrpPending")), "{findings:?}");
    m.cancel_request(held).unwrap();
    assert_eq!(m.request_outcome(held), completed(STATUS_CANCELLED, b""));
}

#[test]
fn a_cancel_routine_returning_with_the_cancel_lock_is_0x11b() {
    let m = machine(Faults { cancel_keeps_lock: true, ..Faults::default() });
    let file = open(&m);
    let (held, _) = m.device_io_control(&file, APP, IOCTL_HOLD, b"", 0).unwrap().unwrap();
    let _ = m.cancel_request(held).expect_err("stops");
    let (code, params, _) = bug_check(m.stop());
    assert_eq!((code, params), (0x11B, [held, cancel_address(), 0, 0]));
}

fn kmdf_machine(faults: Faults) -> Machine {
    FAULTS.set(faults);
    LOG.with(|l| l.borrow_mut().clear());
    let m = Machine::new(Settings::default());
    assert_eq!(m.load("kmdf-echo.sys", "KmdfEcho", Some(kmdf_entry)), Ok(STATUS_SUCCESS));
    m
}

#[test]
fn a_kmdf_drivers_control_device_gets_its_routines_and_its_unload_through_the_stub() {
    let m = kmdf_machine(Faults::default());
    let file = open(&m);
    let upper = m.device_io_control(&file, APP, IOCTL_UPPER, b"kmdf", 4).unwrap().unwrap().1;
    assert_eq!(upper, completed(STATUS_SUCCESS, b"KMDF"));
    m.close(&file).unwrap();
    m.unload().expect("a clean unload");
    assert_eq!(log(), ["Create", "DeviceControl", "Cleanup", "Close", "Unload"], "its DriverUnload, from the stub");
    assert!(m.live_objects().is_empty(), "the stub's unbind deleted the WDFDRIVER");
    kmdf_sim::testing::assert_clean(&m);
}

#[test]
fn an_irp_a_kmdf_driver_left_to_the_frameworks_dispatch_stops_as_not_modelled() {
    let m = kmdf_machine(Faults { framework_write: true, ..Faults::default() });
    let file = open(&m);
    let _ = m.write(&file, APP, b"x").expect_err("stops");
    match m.stop() {
        Some(Stop::NotModelled { what, .. }) => assert!(what.contains("FxDevice::Dispatch"), "{what}"),
        other => panic!("a not-modelled stop, got {other:?}"),
    }
}
