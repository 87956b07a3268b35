//! The test side of the kernel routines: what happens around a driver that
//! the driver registered for (threads start, images load), and what the
//! simulated kernel holds for it.

use super::Machine;
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
}
