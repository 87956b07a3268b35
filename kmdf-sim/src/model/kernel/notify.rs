//! Notify routines: process creation (F84, `PsSetCreateProcessNotifyRoutine`),
//! thread creation and image loads (F140, `PsSetCreateThreadNotifyRoutine`,
//! `PsSetLoadImageNotifyRoutine` and their removals); the test-side triggers
//! that run them as processes and threads start and exit and images load, and
//! the stop for a routine a driver leaves registered at unload.

use crate::abi::{HANDLE, NTSTATUS};
use crate::model::framework::pnp::call_driver;
use crate::model::{Engine, Name, State, Stopped};

/// A `PCREATE_PROCESS_NOTIFY_ROUTINE`'s function.
pub(crate) type ProcessNotify = unsafe extern "C" fn(HANDLE, HANDLE, u8);

/// A `PCREATE_THREAD_NOTIFY_ROUTINE`'s function (F140).
pub(crate) type ThreadNotify = unsafe extern "C" fn(HANDLE, HANDLE, u8);

/// A `PLOAD_IMAGE_NOTIFY_ROUTINE`'s function (F140).
pub(crate) type ImageNotify =
    unsafe extern "C" fn(*mut crate::abi::UNICODE_STRING, HANDLE, *mut crate::abi::IMAGE_INFO);

/// How many process-notify routines the kernel takes (F84).
const MAX_PROCESS_NOTIFY: usize = 64;

/// How many thread- or image-notify routines the kernel takes (F140).
const MAX_THREAD_OR_IMAGE_NOTIFY: usize = 64;

/// STATUS_PROCEDURE_NOT_FOUND: a removal that finds nothing (F84, F140).
const STATUS_PROCEDURE_NOT_FOUND: NTSTATUS = 0xC000_007A_u32 as NTSTATUS;

/// The registered notify routines and the process and thread ids handed out.
#[derive(Debug, Default)]
pub(crate) struct NotifyRoutines {
    /// Registered routines, in order, with the image that registered each.
    process: Vec<(ProcessNotify, Name)>,
    /// Thread-notify routines, in order, with their images (F140).
    thread: Vec<(ThreadNotify, Name)>,
    /// Image-notify routines, in order, with their images (F140).
    image: Vec<(ImageNotify, Name)>,
    /// The last process id handed out.
    last_pid: u64,
    /// The last thread id handed out.
    last_tid: u64,
}

/// Adds (or, with `remove`, removes) one entry of a thread or image table
/// (F140): STATUS_INSUFFICIENT_RESOURCES when the table is full,
/// STATUS_PROCEDURE_NOT_FOUND when a removal finds nothing. The kernel keeps
/// one entry per registration: a routine registered twice is called twice
/// and needs two removals (ASSUMPTION, F140).
fn register<F: Copy>(table: &mut Vec<(F, Name)>, same: impl Fn(F) -> bool, add: Option<(F, Name)>) -> NTSTATUS {
    match add {
        None => match table.iter().position(|(r, _)| same(*r)) {
            Some(i) => {
                table.remove(i);
                crate::abi::STATUS_SUCCESS
            }
            None => STATUS_PROCEDURE_NOT_FOUND,
        },
        Some(_) if table.len() >= MAX_THREAD_OR_IMAGE_NOTIFY => crate::abi::STATUS_INSUFFICIENT_RESOURCES,
        Some(entry) => {
            table.push(entry);
            crate::abi::STATUS_SUCCESS
        }
    }
}

impl State {
    /// PsSetCreateProcessNotifyRoutine (F84): adds `routine`, or removes it
    /// (`remove`); STATUS_INVALID_PARAMETER when the table is full or the
    /// routine is already registered, STATUS_PROCEDURE_NOT_FOUND when a
    /// removal finds nothing.
    pub(crate) fn set_process_notify(&mut self, routine: ProcessNotify, remove: bool) -> NTSTATUS {
        let table = &mut self.kernel.notify.process;
        let at = table.iter().position(|(r, _)| std::ptr::fn_addr_eq(*r, routine));
        match (remove, at) {
            (true, Some(i)) => {
                table.remove(i);
                crate::abi::STATUS_SUCCESS
            }
            (true, None) => STATUS_PROCEDURE_NOT_FOUND,
            (false, Some(_)) => crate::abi::STATUS_INVALID_PARAMETER,
            (false, None) if table.len() >= MAX_PROCESS_NOTIFY => crate::abi::STATUS_INVALID_PARAMETER,
            (false, None) => {
                let image = self.caller_image();
                self.kernel.notify.process.push((routine, image));
                crate::abi::STATUS_SUCCESS
            }
        }
    }

    /// PsSetCreateThreadNotifyRoutine / PsRemoveCreateThreadNotifyRoutine
    /// (`remove`), F140.
    pub(crate) fn set_thread_notify(&mut self, routine: ThreadNotify, remove: bool) -> NTSTATUS {
        let add = (!remove).then(|| (routine, self.caller_image()));
        register(&mut self.kernel.notify.thread, |r| std::ptr::fn_addr_eq(r, routine), add)
    }

    /// PsSetLoadImageNotifyRoutine / PsRemoveLoadImageNotifyRoutine
    /// (`remove`), F140.
    pub(crate) fn set_image_notify(&mut self, routine: ImageNotify, remove: bool) -> NTSTATUS {
        let add = (!remove).then(|| (routine, self.caller_image()));
        register(&mut self.kernel.notify.image, |r| std::ptr::fn_addr_eq(r, routine), add)
    }

    /// At unload (F84, F140): a process-, thread- or image-notify routine the
    /// image left registered would be called in unloaded code — bug check
    /// 0xCE with its address.
    pub(crate) fn notify_leak_check(&mut self, image: &str) {
        let n = &mut self.kernel.notify;
        let mine = |owner: &Name| owner.as_str() == image;
        let left = [
            n.process
                .iter()
                .find(|(_, o)| mine(o))
                .map(|(r, _)| (*r as usize, "process-notify", "PsSetCreateProcessNotifyRoutine(routine, TRUE)")),
            n.thread
                .iter()
                .find(|(_, o)| mine(o))
                .map(|(r, _)| (*r as usize, "thread-notify", "PsRemoveCreateThreadNotifyRoutine")),
            n.image
                .iter()
                .find(|(_, o)| mine(o))
                .map(|(r, _)| (*r as usize, "image-notify", "PsRemoveLoadImageNotifyRoutine")),
        ];
        n.process.retain(|(_, o)| !mine(o));
        n.thread.retain(|(_, o)| !mine(o));
        n.image.retain(|(_, o)| !mine(o));
        let Some((address, what, removal)) = left.into_iter().flatten().next() else { return };
        if self.is_stopped() {
            return;
        }
        let address = address as u64;
        self.bug_check(
            (
                0xCE,
                [address, 0, 0, 0],
                "DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS",
                ["The address of the routine left registered.".into(), String::new(), String::new(), String::new()],
            ),
            None,
            Some(format!(
                "{image} unloaded with its {what} routine ({address:#x}) still registered: {removal} belongs in its \
                 unload path (docs/facts.md#f84, docs/facts.md#f140)"
            )),
        );
    }
}

impl Engine {
    /// A process starts (`parent` its parent's id): every registered routine
    /// runs with Create TRUE, at PASSIVE_LEVEL. Returns the new process's id.
    pub(crate) fn start_process(&self, parent: u64) -> Result<u64, Stopped> {
        let pid = self.with(|s| {
            // Process ids are multiples of 4 (ASSUMPTION, F84).
            s.kernel.notify.last_pid += 4;
            s.kernel.notify.last_pid + 0x1000
        });
        self.process_event(parent, pid, true)?;
        Ok(pid)
    }

    /// Process `pid` (child of `parent`) exits: every registered routine runs
    /// with Create FALSE.
    pub(crate) fn end_process(&self, parent: u64, pid: u64) -> Result<(), Stopped> {
        self.process_event(parent, pid, false)
    }

    /// A thread of process `pid` starts: every registered thread-notify
    /// routine runs with Create TRUE, at PASSIVE_LEVEL (F140). Returns the new
    /// thread's id.
    pub(crate) fn start_thread(&self, pid: u64) -> Result<u64, Stopped> {
        let tid = self.with(|s| {
            // Thread ids share the process ids' multiples of 4 (ASSUMPTION, F84).
            s.kernel.notify.last_tid += 4;
            s.kernel.notify.last_tid + 0x2000
        });
        self.thread_event(pid, tid, true)?;
        Ok(tid)
    }

    /// Thread `tid` of process `pid` exits: every thread-notify routine runs
    /// with Create FALSE (F140).
    pub(crate) fn end_thread(&self, pid: u64, tid: u64) -> Result<(), Stopped> {
        self.thread_event(pid, tid, false)
    }

    fn thread_event(&self, pid: u64, tid: u64, create: bool) -> Result<(), Stopped> {
        self.check_running()?;
        let routines = self.with(|s| s.kernel.notify.thread.clone());
        for (routine, image) in routines {
            // SAFETY: a routine the driver registered and has not removed; the
            // kernel calls it with the process's and the thread's ids (F140).
            call_driver(&image, "ThreadNotify", crate::abi::PASSIVE_LEVEL as u8, || unsafe {
                routine(pid as HANDLE, tid as HANDLE, u8::from(create));
            });
            self.check_running()?;
        }
        Ok(())
    }

    /// An image named `name` (a full path) is mapped at `base` (`size`
    /// bytes) into process `pid` (0: a driver image, in system space): every
    /// registered image-notify routine runs at PASSIVE_LEVEL with the name and
    /// an IMAGE_INFO (F140).
    pub(crate) fn load_image(&self, name: &str, pid: u64, base: u64, size: u64) -> Result<(), Stopped> {
        self.check_running()?;
        let routines = self.with(|s| s.kernel.notify.image.clone());
        let units: Vec<u16> = name.encode_utf16().collect();
        let bytes = u16::try_from(units.len() * 2).unwrap_or(0xFFFE);
        for (routine, image) in routines {
            // Each routine gets its own copy: a routine may write to either.
            let mut text = units.clone();
            text.push(0);
            let mut full =
                crate::abi::UNICODE_STRING { Length: bytes, MaximumLength: bytes, Buffer: text.as_mut_ptr() };
            // Properties: ImageAddressingMode 0 and SystemModeImage (bit 8)
            // for an image in system space (F140).
            let properties = if pid == 0 { 1 << 8 } else { 0 };
            let mut info = crate::abi::IMAGE_INFO {
                __bindgen_anon_1: crate::abi::_IMAGE_INFO__bindgen_ty_1 { Properties: properties },
                ImageBase: base as crate::abi::PVOID,
                ImageSize: size,
                ..Default::default()
            };
            // SAFETY: a routine the driver registered and has not removed; the
            // name and the IMAGE_INFO outlive the call (F140).
            call_driver(&image, "LoadImageNotify", crate::abi::PASSIVE_LEVEL as u8, || unsafe {
                routine(&raw mut full, pid as HANDLE, &raw mut info);
            });
            self.check_running()?;
        }
        Ok(())
    }

    fn process_event(&self, parent: u64, pid: u64, create: bool) -> Result<(), Stopped> {
        self.check_running()?;
        let routines = self.with(|s| s.kernel.notify.process.clone());
        for (routine, image) in routines {
            // SAFETY: a routine the driver registered and has not removed; the
            // kernel calls it with the parent's and the process's ids (F84).
            call_driver(&image, "ProcessNotify", crate::abi::PASSIVE_LEVEL as u8, || unsafe {
                routine(parent as HANDLE, pid as HANDLE, u8::from(create));
            });
            self.check_running()?;
        }
        Ok(())
    }
}

/// `PsSetCreateProcessNotifyRoutine` on this thread's machine (F84).
pub(crate) fn set_process_notify(routine: ProcessNotify, remove: bool) -> crate::abi::NTSTATUS {
    crate::model::with_state(|s| s.set_process_notify(routine, remove)).unwrap_or(crate::model::STOPPED_STATUS)
}
