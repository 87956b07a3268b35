//! The test side of the kernel routines: what happens around a driver that
//! the driver registered for (threads start, images load), and what the
//! simulated kernel holds for it.

use super::Machine;
use crate::abi::NTSTATUS;
use crate::model::Stopped;

impl Machine {
    /// A thread of process `pid` starts: the thread-notify routines drivers
    /// registered run (Create TRUE). Returns its id.
    pub fn start_thread(&self, pid: u64) -> Result<u64, Stopped> {
        self.engine.start_thread(pid)
    }

    /// Thread `tid` of process `pid` exits: the thread-notify routines run
    /// (Create FALSE).
    pub fn end_thread(&self, pid: u64, tid: u64) -> Result<(), Stopped> {
        self.engine.end_thread(pid, tid)
    }

    /// An image (`name`, its full path) is mapped at `base`, `size` bytes,
    /// into process `pid` (0: a driver image in system space): the
    /// image-notify routines drivers registered run.
    pub fn load_image(&self, name: &str, pid: u64, base: u64, size: u64) -> Result<(), Stopped> {
        self.engine.load_image(name, pid, base, size)
    }

    /// A process of process `parent` starts from `image` (a full path) with
    /// `command_line`: the process-notify routines run, the Ex ones with a
    /// PS_CREATE_NOTIFY_INFO naming both (F146). Returns its id and the
    /// creation status — a failure one of them set refuses the process,
    /// which then never exits. [`Machine::start_process`] is this with a
    /// fixed image, its status not returned.
    pub fn create_process(&self, parent: u64, image: &str, command_line: &str) -> Result<(u64, NTSTATUS), Stopped> {
        let image = crate::model::kernel::notify::ProcessImage { image, command_line };
        self.engine.create_process(parent, image)
    }

    /// An application sets value `name` (`kind`, `data`) of the existing key
    /// at the absolute `\Registry\...` `path`: the registry callbacks
    /// drivers registered run before and after (F149) and may block it.
    /// Returns the status the application sees (STATUS_OBJECT_NAME_NOT_FOUND
    /// for a key that does not exist). [`Machine::registry_set_value`] is the
    /// test's own seeding, which no callback sees.
    pub fn app_set_value(&self, path: &str, name: &str, kind: u32, data: &[u8]) -> Result<NTSTATUS, Stopped> {
        let operation = crate::model::kernel::cm_callback::AppOperation::SetValue { kind, data };
        self.engine.app_registry_operation(path, name, operation)
    }

    /// An application deletes value `name` of the key at `path`, as
    /// [`Machine::app_set_value`] sets one.
    pub fn app_delete_value(&self, path: &str, name: &str) -> Result<NTSTATUS, Stopped> {
        self.engine.app_registry_operation(path, name, crate::model::kernel::cm_callback::AppOperation::DeleteValue)
    }

    /// Puts a file with `data` at `path` (`\??\C:\...`, `\DosDevices\...` or
    /// `\SystemRoot\...`) in the namespace ZwCreateFile opens (F150);
    /// STATUS_OBJECT_NAME_INVALID for a path outside it.
    pub fn put_file(&self, path: &str, data: &[u8]) -> Result<(), NTSTATUS> {
        self.state(|s| s.kernel.files.put(path, data))
    }

    /// The contents of the file at `path`, if there is one (F150).
    pub fn file_contents(&self, path: &str) -> Option<Vec<u8>> {
        self.state(|s| s.kernel.files.get(path))
    }

    /// An application opens a handle to a process with `desired` access: the
    /// object callbacks drivers registered for process handles run (F151).
    /// Returns the access granted.
    pub fn open_process_handle(&self, desired: u32) -> Result<u32, Stopped> {
        self.engine.open_object_handle(crate::model::kernel::ob_callback::ObjectKind::Process, desired)
    }

    /// As [`Machine::open_process_handle`], for a thread.
    pub fn open_thread_handle(&self, desired: u32) -> Result<u32, Stopped> {
        self.engine.open_object_handle(crate::model::kernel::ob_callback::ObjectKind::Thread, desired)
    }
}
