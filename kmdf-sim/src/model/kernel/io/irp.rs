//! IRPs (F122, F123): the memory the driver sees — the real `IRP` of the
//! bindings followed by its one stack location, `Tail.Overlay.CurrentStackLocation`
//! pointing at it, so the headers' inline `IoGetCurrentIrpStackLocation`,
//! `IoMarkIrpPending` and `IoSetCancelRoutine` work on it unchanged — its
//! buffers by transfer type, the MDL of direct I/O, completion and the
//! cancel spin lock.

use crate::abi::{
    _DEVICE_OBJECT, _FILE_OBJECT, _IO_STACK_LOCATION, _IRP, _MDL, DO_BUFFERED_IO, DO_DIRECT_IO, IO_TYPE_FILE,
    IO_TYPE_IRP, IRP_MJ_DEVICE_CONTROL, IRP_MJ_READ, IRP_MJ_WRITE, MDL_MAPPED_TO_SYSTEM_VA, MDL_PAGES_LOCKED,
    METHOD_BUFFERED, METHOD_NEITHER, STATUS_PENDING,
};
use crate::model::State;

/// An open file object: what an application's handle refers to (F124).
pub(crate) struct File {
    /// The object, at a stable address (`IO_STACK_LOCATION::FileObject`).
    pub(crate) object: Box<_FILE_OBJECT>,
    /// The device it was opened on.
    pub(crate) device: *const _DEVICE_OBJECT,
    /// The application's handle is closed (IRP_MJ_CLEANUP was sent).
    pub(crate) handle_closed: bool,
    /// The process that opened it.
    pub(crate) process: String,
}

impl File {
    /// A file object on `device`.
    pub(crate) fn new(device: *mut _DEVICE_OBJECT, process: &str) -> File {
        File {
            object: Box::new(_FILE_OBJECT {
                Type: IO_TYPE_FILE as i16,
                Size: size_of::<_FILE_OBJECT>() as i16,
                DeviceObject: device,
                ..Default::default()
            }),
            device,
            handle_closed: false,
            process: process.to_string(),
        }
    }

    /// The file object's address, the file's identity.
    pub(crate) fn address(&self) -> u64 {
        std::ptr::from_ref(self.object.as_ref()) as u64
    }
}

/// The memory of an IRP with one stack location, as the I/O manager
/// allocates it: the stack locations follow the IRP (F122).
#[repr(C)]
pub(crate) struct IrpBlock {
    pub(crate) irp: _IRP,
    pub(crate) stack: _IO_STACK_LOCATION,
}

/// Where an IRP's data lives (F123).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transfer {
    /// `AssociatedIrp.SystemBuffer`: the I/O manager's copy.
    Buffered,
    /// `MdlAddress`: the application's buffer, described by an MDL (and, for
    /// an IOCTL, the input in `SystemBuffer`).
    Direct,
    /// `UserBuffer` (and `Type3InputBuffer`): the application's addresses.
    Neither,
}

/// An IRP the I/O manager sent and that is not completed yet.
pub(crate) struct Irp {
    pub(crate) block: Box<IrpBlock>,
    /// The device it was sent to.
    pub(crate) device: *const _DEVICE_OBJECT,
    /// Its file object's address.
    pub(crate) file: u64,
    pub(crate) transfer: Transfer,
    /// The I/O manager's system buffer (buffered I/O; an IOCTL's input).
    system: Vec<u128>,
    /// The application's input buffer (direct/neither write, neither IOCTL).
    user_in: Vec<u8>,
    /// The application's output buffer (direct/neither read and IOCTL).
    user_out: Vec<u8>,
    /// The MDL of direct I/O.
    mdl: Option<Box<_MDL>>,
    /// The length the application can receive.
    output_len: usize,
    /// The driver's dispatch routine for the IRP's major function.
    dispatch: u64,
}

impl Irp {
    /// The address of the IRP the driver gets.
    pub(crate) fn address(&self) -> u64 {
        std::ptr::from_ref(&self.block.irp) as u64
    }

    /// The driver code the IRP will still run: its cancel routine, else the
    /// dispatch routine that holds it (F125).
    pub(crate) fn driver_code(&self) -> u64 {
        self.block.irp.CancelRoutine.map_or(self.dispatch, |r| r as usize as u64)
    }
}

/// An MDL describing `len` bytes at `va`, locked and mapped to system space
/// (F123): `MmGetSystemAddressForMdlSafe` finds `MappedSystemVa`.
fn mdl_for(va: *mut u8, len: usize) -> Box<_MDL> {
    let address = va as usize;
    Box::new(_MDL {
        Next: std::ptr::null_mut(),
        // ASSUMPTION: the header only; no page-frame array follows it.
        Size: size_of::<_MDL>() as i16,
        MdlFlags: (MDL_MAPPED_TO_SYSTEM_VA | MDL_PAGES_LOCKED) as i16,
        Process: std::ptr::null_mut(),
        MappedSystemVa: va.cast(),
        StartVa: (address & !0xFFF) as *mut _,
        ByteCount: len as u32,
        ByteOffset: (address & 0xFFF) as u32,
    })
}

/// What an application asks for, as the I/O manager builds its IRP.
pub(crate) struct IrpRequest<'a> {
    pub(crate) major: u32,
    pub(crate) code: u32,
    pub(crate) input: &'a [u8],
    pub(crate) output_len: usize,
}

/// A pointer to a buffer's bytes, or null for an empty one.
fn data_ptr<T>(v: &mut [T]) -> *mut core::ffi::c_void {
    if v.is_empty() { std::ptr::null_mut() } else { v.as_mut_ptr().cast() }
}

impl Irp {
    /// Builds the IRP for `request` on `file` (F123): the transfer type is
    /// the device's `DO_BUFFERED_IO` / `DO_DIRECT_IO` for reads and writes
    /// (neither when it sets none) and the control code's method for
    /// IOCTLs; IRP_MJ_CREATE/CLEANUP/CLOSE carry no data.
    pub(crate) fn build(file: &mut File, dispatch: u64, request: &IrpRequest<'_>) -> Irp {
        let device = file.device.cast_mut();
        // SAFETY: a file's device is live while the file is open (F120).
        let flags = unsafe { (*device).Flags };
        let major = request.major;
        let transfer = if major == IRP_MJ_DEVICE_CONTROL {
            match request.code & 3 {
                METHOD_BUFFERED => Transfer::Buffered,
                METHOD_NEITHER => Transfer::Neither,
                _ => Transfer::Direct,
            }
        } else if flags & DO_BUFFERED_IO != 0 {
            Transfer::Buffered
        } else if flags & DO_DIRECT_IO != 0 {
            Transfer::Direct
        } else {
            Transfer::Neither
        };
        let (input, output_len) = (request.input, request.output_len);
        let mut irp = Irp {
            block: Box::new(IrpBlock { irp: _IRP::default(), stack: _IO_STACK_LOCATION::default() }),
            device,
            file: file.address(),
            transfer,
            system: Vec::new(),
            user_in: Vec::new(),
            user_out: vec![0; output_len],
            mdl: None,
            output_len,
            dispatch,
        };
        let in_system = transfer == Transfer::Buffered
            || (major == IRP_MJ_DEVICE_CONTROL && transfer == Transfer::Direct && !input.is_empty());
        if in_system {
            let size = if transfer == Transfer::Buffered { input.len().max(output_len) } else { input.len() };
            irp.system = vec![0u128; size.div_ceil(16)];
            // SAFETY: the system buffer holds at least `input.len()` bytes.
            unsafe { std::ptr::copy_nonoverlapping(input.as_ptr(), irp.system.as_mut_ptr().cast::<u8>(), input.len()) };
        } else {
            irp.user_in = input.to_vec();
        }
        let system = data_ptr(&mut irp.system);
        let block = irp.block.as_mut();
        let stack_at = std::ptr::from_mut(&mut block.stack);
        let i = &mut block.irp;
        i.Type = IO_TYPE_IRP as i16;
        i.Size = size_of::<IrpBlock>() as u16;
        i.StackCount = 1;
        i.CurrentLocation = 1;
        i.RequestorMode = crate::abi::_MODE::UserMode as i8;
        i.Tail.Overlay.__bindgen_anon_2.__bindgen_anon_1.CurrentStackLocation = stack_at;
        i.Tail.Overlay.OriginalFileObject = std::ptr::from_mut(file.object.as_mut());
        i.AssociatedIrp.SystemBuffer = system;
        let s = &mut block.stack;
        s.MajorFunction = major as u8;
        s.DeviceObject = device;
        s.FileObject = std::ptr::from_mut(file.object.as_mut());
        match major {
            IRP_MJ_READ => s.Parameters.Read.Length = output_len as u32,
            IRP_MJ_WRITE => s.Parameters.Write.Length = input.len() as u32,
            IRP_MJ_DEVICE_CONTROL => {
                // SAFETY: a zeroed union of plain data; writing the
                // DeviceIoControl member makes it the active one.
                let p = unsafe { &mut s.Parameters.DeviceIoControl };
                p.OutputBufferLength = output_len as u32;
                p.InputBufferLength = input.len() as u32;
                p.IoControlCode = request.code;
            }
            _ => {}
        }
        let (user_in, user_out) = (data_ptr(&mut irp.user_in), data_ptr(&mut irp.user_out));
        let carries_data = matches!(major, IRP_MJ_READ | IRP_MJ_WRITE | IRP_MJ_DEVICE_CONTROL);
        if carries_data {
            match (transfer, major) {
                (Transfer::Buffered, _) => {}
                (Transfer::Direct, IRP_MJ_WRITE) => irp.mdl = Some(mdl_for(user_in.cast(), input.len())),
                (Transfer::Direct, _) if output_len > 0 => irp.mdl = Some(mdl_for(user_out.cast(), output_len)),
                (Transfer::Direct, _) => {}
                (Transfer::Neither, IRP_MJ_WRITE) => irp.block.irp.UserBuffer = user_in,
                (Transfer::Neither, IRP_MJ_DEVICE_CONTROL) => {
                    irp.block.irp.UserBuffer = user_out;
                    irp.block.stack.Parameters.DeviceIoControl.Type3InputBuffer = user_in;
                }
                (Transfer::Neither, _) => irp.block.irp.UserBuffer = user_out,
            }
        }
        if let Some(m) = irp.mdl.as_mut() {
            irp.block.irp.MdlAddress = std::ptr::from_mut(m.as_mut());
        }
        irp
    }

    /// What the application receives when the IRP completes with
    /// `information` bytes (F123): the system buffer's first bytes for
    /// buffered reads and IOCTLs, the application's own buffer otherwise —
    /// never more than its length.
    fn output(&self, information: u64) -> Vec<u8> {
        let n = usize::try_from(information).unwrap_or(usize::MAX).min(self.output_len);
        let major = u32::from(self.block.stack.MajorFunction);
        if major != IRP_MJ_READ && major != IRP_MJ_DEVICE_CONTROL {
            return Vec::new();
        }
        if self.transfer == Transfer::Buffered {
            // SAFETY: the system buffer holds at least `output_len` >= n bytes.
            unsafe { std::slice::from_raw_parts(self.system.as_ptr().cast::<u8>(), n) }.to_vec()
        } else {
            self.user_out[..n].to_vec()
        }
    }
}

impl State {
    /// IofCompleteRequest (F122): the IRP's I/O status is final and goes back
    /// to the application. A second completion is bug check 0x44; with I/O
    /// Verification, STATUS_PENDING (or -1) as the status is 0xC9 {0x6} and a
    /// cancel routine still set is 0xC9 {0x7}.
    pub(crate) fn io_complete(&mut self, irp: *mut _IRP) {
        let address = irp as u64;
        let Some(record) = self.kernel.io.irps.get(&address) else {
            let what = if self.kernel.io.completed.contains_key(&address) {
                "the IRP has been completed already"
            } else {
                "the I/O manager sent no IRP at this address"
            };
            self.bug_check(
                (
                    0x44,
                    [address, 0, 0, 0],
                    "MULTIPLE_IRP_COMPLETE_REQUESTS",
                    ["The address of the IRP.".into(), String::new(), String::new(), String::new()],
                ),
                None,
                Some(format!("{}: IofCompleteRequest({address:#x}): {what} (docs/facts.md#f122)", self.caller_image())),
            );
            return;
        };
        // SAFETY: IO_STATUS_BLOCK's union of an NTSTATUS and a pointer, zeroed
        // when built; reading it as the status is what the I/O manager does.
        let status = unsafe { record.block.irp.IoStatus.__bindgen_anon_1.Status };
        let cancel = record.block.irp.CancelRoutine;
        if self.settings.io_verification {
            if status == STATUS_PENDING || status == -1 {
                self.io_verifier_stop(
                    [0x6, status as u32 as u64, address, 0],
                    ["IoCompleteRequest with a pending status.", "The IRP status.", "The IRP being completed."],
                    format!("IofCompleteRequest({address:#x}) with IoStatus.Status {status:#x}"),
                );
                return;
            }
            if let Some(routine) = cancel {
                let routine = routine as usize as u64;
                self.io_verifier_stop(
                    [0x7, routine, address, 0],
                    [
                        "IoCompleteRequest while the cancel routine is set.",
                        "The cancel routine.",
                        "The IRP being completed.",
                    ],
                    format!(
                        "IofCompleteRequest({address:#x}) with its cancel routine {routine:#x} still set: \
                         IoSetCancelRoutine(Irp, NULL) first"
                    ),
                );
                return;
            }
        }
        let Some(record) = self.kernel.io.irps.remove(&address) else { return };
        let information = record.block.irp.IoStatus.Information;
        let output = record.output(information);
        self.kernel.io.completed.insert(address, (status, information, output));
        // The last IRP of a file whose handle is closed: its IRP_MJ_CLOSE is
        // due (the cleanup and close IRPs themselves are the closing path).
        let (file, major) = (record.file, u32::from(record.block.stack.MajorFunction));
        self.kernel.io.retired.push_back(record.block);
        if self.kernel.io.retired.len() > super::RETIRED_KEPT
            && let Some(oldest) = self.kernel.io.retired.pop_front()
        {
            self.kernel.io.completed.remove(&(std::ptr::from_ref(&oldest.irp) as u64));
        }
        let closing = matches!(major, crate::abi::IRP_MJ_CLEANUP | crate::abi::IRP_MJ_CLOSE);
        let closed = self.kernel.io.files.iter().any(|f| f.address() == file && f.handle_closed);
        if closed && !closing && !self.kernel.io.irps.values().any(|i| i.file == file) {
            self.kernel.io.close_due.push(file);
        }
    }

    /// A Driver Verifier I/O Verification stop, 0xC9 (F122).
    pub(crate) fn io_verifier_stop(&mut self, params: [u64; 4], notes: [&str; 3], what: String) {
        let image = self.caller_image();
        self.bug_check(
            (
                0xC9,
                params,
                "DRIVER_VERIFIER_IOMANAGER_VIOLATION",
                [notes[0].into(), notes[1].into(), notes[2].into(), String::new()],
            ),
            None,
            Some(format!("{image}: {what} (docs/facts.md#f122)")),
        );
    }

    /// IoAcquireCancelSpinLock (F121): raises to DISPATCH_LEVEL and returns
    /// the IRQL it was at; `None` after a stop — taking it again on the
    /// thread that holds it deadlocks (Driver Verifier's deadlock stop, as
    /// for a fast mutex, F82).
    pub(crate) fn io_acquire_cancel_lock(&mut self) -> Option<u8> {
        if self.kernel.io.cancel_lock.is_some() {
            let image = self.caller_image();
            self.bug_check(
                (
                    0xC4,
                    [0x1000, 0, 0, 0],
                    "DRIVER_VERIFIER_DETECTED_VIOLATION",
                    [
                        "A thread acquires a lock it already holds (self-deadlock).".into(),
                        String::new(),
                        String::new(),
                        String::new(),
                    ],
                ),
                None,
                Some(format!(
                    "{image}: IoAcquireCancelSpinLock while this thread holds the cancel spin lock — in a cancel \
                     routine the I/O manager already holds it (docs/facts.md#f121)"
                )),
            );
            return None;
        }
        let old = self.kernel.irql;
        self.kernel.io.cancel_lock = Some(old);
        self.kernel.irql = crate::abi::DISPATCH_LEVEL as u8;
        Some(old)
    }

    /// IoReleaseCancelSpinLock (F121): back to `irql`; releasing a lock that
    /// is not held is Driver Verifier's stop, as for a fast mutex (F82).
    pub(crate) fn io_release_cancel_lock(&mut self, irql: u8) {
        if self.kernel.io.cancel_lock.take().is_none() {
            let image = self.caller_image();
            self.bug_check(
                (
                    0xC4,
                    [0x1007, 0, 0, 0],
                    "DRIVER_VERIFIER_DETECTED_VIOLATION",
                    ["A lock released that is not held.".into(), String::new(), String::new(), String::new()],
                ),
                None,
                Some(format!(
                    "{image}: IoReleaseCancelSpinLock without the cancel spin lock held (docs/facts.md#f121)"
                )),
            );
            return;
        }
        self.kernel.irql = irql;
    }
}
