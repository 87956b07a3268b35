//! Notify routines: process creation (F84, `PsSetCreateProcessNotifyRoutine`;
//! F146, `PsSetCreateProcessNotifyRoutineEx`, which may refuse a process),
//! thread creation and image loads (F140, `PsSetCreateThreadNotifyRoutine`,
//! `PsSetLoadImageNotifyRoutine` and their removals); the test-side triggers
//! that run them as processes and threads start and exit and images load, and
//! the stop for a routine a driver leaves registered at unload.

use crate::abi::{HANDLE, NTSTATUS};
use crate::model::framework::pnp::call_driver;
use crate::model::{Engine, Name, State, Stopped};

/// A `PCREATE_PROCESS_NOTIFY_ROUTINE`'s function.
pub(crate) type ProcessNotify = unsafe extern "C" fn(HANDLE, HANDLE, u8);

/// A `PCREATE_PROCESS_NOTIFY_ROUTINE_EX`'s function (F146).
pub(crate) type ProcessNotifyEx =
    unsafe extern "C" fn(crate::abi::PEPROCESS, HANDLE, *mut crate::abi::PS_CREATE_NOTIFY_INFO);

/// A process-notify routine of either kind: the kernel keeps both in one
/// table, called in registration order (F146).
#[derive(Debug, Clone, Copy)]
pub(crate) enum ProcessRoutine {
    Plain(ProcessNotify),
    Ex(ProcessNotifyEx),
}

impl ProcessRoutine {
    fn address(self) -> usize {
        match self {
            ProcessRoutine::Plain(r) => r as usize,
            ProcessRoutine::Ex(r) => r as usize,
        }
    }
}

/// The image a process starts from and its command line (F146).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ProcessImage<'a> {
    pub image: &'a str,
    pub command_line: &'a str,
}

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
    process: Vec<(ProcessRoutine, Name)>,
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
    pub(crate) fn set_process_notify(&mut self, routine: ProcessRoutine, remove: bool) -> NTSTATUS {
        let table = &mut self.kernel.notify.process;
        let same = |r: &ProcessRoutine| {
            matches!(
                (r, routine),
                (ProcessRoutine::Plain(_), ProcessRoutine::Plain(_)) | (ProcessRoutine::Ex(_), ProcessRoutine::Ex(_))
            ) && r.address() == routine.address()
        };
        let at = table.iter().position(|(r, _)| same(r));
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
            n.process.iter().find(|(_, o)| mine(o)).map(|(r, _)| match r {
                ProcessRoutine::Plain(_) => {
                    (r.address(), "process-notify", "PsSetCreateProcessNotifyRoutine(routine, TRUE)")
                }
                ProcessRoutine::Ex(_) => {
                    (r.address(), "process-notify", "PsSetCreateProcessNotifyRoutineEx(routine, TRUE)")
                }
            }),
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
        let cause = format!(
            "{image} unloaded with its {what} routine ({address:#x}) still registered: {removal} belongs in its \
             unload path (docs/facts.md#f84, docs/facts.md#f140)"
        );
        self.left_registered_stop(address as u64, cause);
    }
}

impl State {
    /// A callback an image left registered at its unload: bug check 0xCE
    /// (DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS) with its
    /// address, unless the machine already stopped (F84; F149, F151 use it
    /// too).
    pub(crate) fn left_registered_stop(&mut self, address: u64, cause: String) {
        if self.is_stopped() {
            return;
        }
        self.bug_check(
            (
                0xCE,
                [address, 0, 0, 0],
                "DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS",
                ["The address of the routine left registered.".into(), String::new(), String::new(), String::new()],
            ),
            None,
            Some(cause),
        );
    }
}

impl Engine {
    /// A process starts (`parent` its parent's id): every registered routine
    /// runs with Create TRUE, at PASSIVE_LEVEL. Returns the new process's id.
    pub(crate) fn start_process(&self, parent: u64) -> Result<u64, Stopped> {
        let image = ProcessImage { image: DEFAULT_IMAGE, command_line: DEFAULT_IMAGE };
        self.create_process(parent, image).map(|(pid, _)| pid)
    }

    /// A process starts from `image`: every registered routine runs — a
    /// plain one with Create TRUE, an Ex one with a PS_CREATE_NOTIFY_INFO
    /// (F146). Returns the new process's id and the creation status: the
    /// first failure an Ex routine set in CreationStatus refuses the process.
    pub(crate) fn create_process(&self, parent: u64, image: ProcessImage<'_>) -> Result<(u64, NTSTATUS), Stopped> {
        let pid = self.with(|s| {
            // Process ids are multiples of 4 (ASSUMPTION, F84).
            s.kernel.notify.last_pid += 4;
            let pid = s.kernel.notify.last_pid + 0x1000;
            s.kernel.objects.processes.insert(pid);
            pid
        });
        let status = self.process_event(parent, pid, Some(image))?;
        Ok((pid, status))
    }

    /// Process `pid` (child of `parent`) exits: every registered routine runs
    /// with Create FALSE (an Ex routine with CreateInfo NULL).
    pub(crate) fn end_process(&self, parent: u64, pid: u64) -> Result<(), Stopped> {
        self.with(|s| s.kernel.objects.processes.remove(&pid));
        self.process_event(parent, pid, None).map(|_| ())
    }

    /// A thread of process `pid` starts: every registered thread-notify
    /// routine runs with Create TRUE, at PASSIVE_LEVEL (F140). Returns the new
    /// thread's id.
    pub(crate) fn start_thread(&self, pid: u64) -> Result<u64, Stopped> {
        let tid = self.with(|s| {
            // Thread ids share the process ids' multiples of 4 (ASSUMPTION, F84).
            s.kernel.notify.last_tid += 4;
            let tid = s.kernel.notify.last_tid + 0x2000;
            s.kernel.objects.threads.insert(tid);
            tid
        });
        self.thread_event(pid, tid, true)?;
        Ok(tid)
    }

    /// Thread `tid` of process `pid` exits: every thread-notify routine runs
    /// with Create FALSE (F140).
    pub(crate) fn end_thread(&self, pid: u64, tid: u64) -> Result<(), Stopped> {
        self.with(|s| s.kernel.objects.threads.remove(&tid));
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

    /// Runs every process-notify routine for a process that starts
    /// (`started`: its image) or exits; the creation status the Ex routines
    /// left (STATUS_SUCCESS on exit).
    fn process_event(&self, parent: u64, pid: u64, started: Option<ProcessImage<'_>>) -> Result<NTSTATUS, Stopped> {
        self.check_running()?;
        let routines = self.with(|s| s.kernel.notify.process.clone());
        let mut status = crate::abi::STATUS_SUCCESS;
        // The process object the Ex routines receive: opaque to a driver;
        // zeroed storage so that a stray read stays in bounds (F146).
        let mut eprocess = vec![0u64; 256];
        let process = eprocess.as_mut_ptr().cast::<crate::abi::_EPROCESS>();
        for (routine, image) in routines {
            // The kernel calls the routines inside a critical region (F146).
            self.with(|s| s.kernel.sync.critical_regions += 1);
            match (routine, started) {
                (ProcessRoutine::Plain(r), _) => {
                    // SAFETY: a routine the driver registered and has not
                    // removed; the kernel calls it with the parent's and the
                    // process's ids (F84).
                    call_driver(&image, "ProcessNotify", crate::abi::PASSIVE_LEVEL as u8, || unsafe {
                        r(parent as HANDLE, pid as HANDLE, u8::from(started.is_some()));
                    });
                }
                (ProcessRoutine::Ex(r), None) => {
                    // SAFETY: as above; an exit has no CreateInfo (F146).
                    call_driver(&image, "ProcessNotifyEx", crate::abi::PASSIVE_LEVEL as u8, || unsafe {
                        r(process, pid as HANDLE, std::ptr::null_mut());
                    });
                }
                (ProcessRoutine::Ex(r), Some(start)) => {
                    let mut name = Counted::new(start.image);
                    let mut line = Counted::new(start.command_line);
                    let mut info = crate::abi::PS_CREATE_NOTIFY_INFO {
                        Size: size_of::<crate::abi::PS_CREATE_NOTIFY_INFO>() as u64,
                        // FileOpenNameAvailable (bit 0): the name is the one
                        // the image was opened by.
                        __bindgen_anon_1: crate::abi::_PS_CREATE_NOTIFY_INFO__bindgen_ty_1 { Flags: 1 },
                        ParentProcessId: parent as HANDLE,
                        CreatingThreadId: crate::abi::CLIENT_ID {
                            UniqueProcess: parent as HANDLE,
                            UniqueThread: std::ptr::null_mut(),
                        },
                        FileObject: std::ptr::null_mut(),
                        ImageFileName: name.as_ptr(),
                        CommandLine: line.as_ptr(),
                        CreationStatus: status,
                    };
                    // SAFETY: as above; the info and its strings outlive the
                    // call (F146).
                    call_driver(&image, "ProcessNotifyEx", crate::abi::PASSIVE_LEVEL as u8, || unsafe {
                        r(process, pid as HANDLE, &raw mut info);
                    });
                    if crate::abi::NT_SUCCESS(status) {
                        status = info.CreationStatus;
                    }
                }
            }
            self.with(|s| s.kernel.sync.critical_regions -= 1);
            self.check_running()?;
        }
        drop(eprocess);
        Ok(status)
    }
}

/// The image `start_process` starts a process from (ASSUMPTION: any name
/// serves a routine that does not look at it; `create_process` names one).
const DEFAULT_IMAGE: &str = r"\??\C:\Windows\System32\cmd.exe";

/// A UNICODE_STRING and the UTF-16 text it points at, kept together.
struct Counted {
    text: Vec<u16>,
    string: crate::abi::UNICODE_STRING,
}

impl Counted {
    fn new(text: &str) -> Box<Counted> {
        let text: Vec<u16> = text.encode_utf16().collect();
        let bytes = u16::try_from(text.len() * 2).unwrap_or(0xFFFE);
        let mut c = Box::new(Counted {
            text,
            string: crate::abi::UNICODE_STRING { Length: bytes, MaximumLength: bytes, Buffer: std::ptr::null_mut() },
        });
        c.string.Buffer = c.text.as_mut_ptr();
        c
    }

    fn as_ptr(&mut self) -> *const crate::abi::UNICODE_STRING {
        &raw const self.string
    }
}

/// `PsSetCreateProcessNotifyRoutine` on this thread's machine (F84).
pub(crate) fn set_process_notify(routine: ProcessNotify, remove: bool) -> crate::abi::NTSTATUS {
    crate::model::with_state(|s| s.set_process_notify(ProcessRoutine::Plain(routine), remove))
        .unwrap_or(crate::model::STOPPED_STATUS)
}

/// `PsSetCreateProcessNotifyRoutineEx` on this thread's machine (F146).
pub(crate) fn set_process_notify_ex(routine: ProcessNotifyEx, remove: bool) -> crate::abi::NTSTATUS {
    crate::model::with_state(|s| s.set_process_notify(ProcessRoutine::Ex(routine), remove))
        .unwrap_or(crate::model::STOPPED_STATUS)
}

/// `PsSetCreateThreadNotifyRoutine` / `PsRemoveCreateThreadNotifyRoutine`
/// (`remove`) on this thread's machine (F140).
pub(crate) fn set_thread_notify(routine: ThreadNotify, remove: bool) -> crate::abi::NTSTATUS {
    crate::model::with_state(|s| s.set_thread_notify(routine, remove)).unwrap_or(crate::model::STOPPED_STATUS)
}

/// `PsSetLoadImageNotifyRoutine` / `PsRemoveLoadImageNotifyRoutine`
/// (`remove`) on this thread's machine (F140).
pub(crate) fn set_image_notify(routine: ImageNotify, remove: bool) -> crate::abi::NTSTATUS {
    crate::model::with_state(|s| s.set_image_notify(routine, remove)).unwrap_or(crate::model::STOPPED_STATUS)
}
