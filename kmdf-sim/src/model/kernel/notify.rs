//! Process-creation notify routines (F84): `PsSetCreateProcessNotifyRoutine`
//! registrations, the test-side trigger that runs them as processes start and
//! exit, and the stop for a routine a driver leaves registered at unload.

use crate::abi::{HANDLE, NTSTATUS};
use crate::model::framework::pnp::call_driver;
use crate::model::{Engine, Name, State, Stopped};

/// A `PCREATE_PROCESS_NOTIFY_ROUTINE`'s function.
pub(crate) type ProcessNotify = unsafe extern "C" fn(HANDLE, HANDLE, u8);

/// How many process-notify routines the kernel takes (F84).
const MAX_PROCESS_NOTIFY: usize = 64;

/// The registered notify routines and the process ids handed out.
#[derive(Debug, Default)]
pub(crate) struct NotifyRoutines {
    /// Registered routines, in order, with the image that registered each.
    process: Vec<(ProcessNotify, Name)>,
    /// The last process id handed out.
    last_pid: u64,
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
            (true, None) => 0xC000_007A_u32 as NTSTATUS, // STATUS_PROCEDURE_NOT_FOUND
            (false, Some(_)) => crate::abi::STATUS_INVALID_PARAMETER,
            (false, None) if table.len() >= MAX_PROCESS_NOTIFY => crate::abi::STATUS_INVALID_PARAMETER,
            (false, None) => {
                let image = self.caller_image();
                self.kernel.notify.process.push((routine, image));
                crate::abi::STATUS_SUCCESS
            }
        }
    }

    /// At unload (F84): a process-notify routine the image left registered
    /// would be called in unloaded code — bug check 0xCE with its address.
    pub(crate) fn notify_leak_check(&mut self, image: &str) {
        let Some(&(routine, _)) = self.kernel.notify.process.iter().find(|(_, owner)| owner.as_str() == image) else {
            return;
        };
        self.kernel.notify.process.retain(|(_, owner)| owner.as_str() != image);
        if self.is_stopped() {
            return;
        }
        let address = routine as usize as u64;
        self.bug_check(
            (
                0xCE,
                [address, 0, 0, 0],
                "DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS",
                ["The address of the routine left registered.".into(), String::new(), String::new(), String::new()],
            ),
            None,
            Some(format!(
                "{image} unloaded with its process-notify routine ({address:#x}) still registered: \
                 PsSetCreateProcessNotifyRoutine(routine, TRUE) belongs in its unload path (docs/facts.md#f84)"
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
