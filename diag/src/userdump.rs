//! A user-mode minidump (`MDMP`: what Task Manager, WER, ProcDump or a
//! debugger's `.dump` write of one process) read with rust-minidump's
//! `minidump` crate: the process, its exception, the faulting module, the
//! module list and the thread count. It is not a kernel crash: the report
//! says so and where Windows keeps the kernel's dumps.

use minidump::{Minidump, MinidumpException, MinidumpMiscInfo, MinidumpModuleList, MinidumpSystemInfo, Module as _};
use serde::Serialize;

/// The first bytes of a minidump (`MINIDUMP_SIGNATURE`, 'MDMP').
pub const SIGNATURE: &[u8; 4] = b"MDMP";

/// Whether `bytes` start like a user-mode minidump.
pub fn is_user_dump(bytes: &[u8]) -> bool {
    bytes.starts_with(SIGNATURE)
}

/// What was read from a user-mode minidump.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UserDump {
    /// The file's size in bytes.
    pub file_size: u64,
    /// The process's image (the first module: its main executable).
    pub process: Option<String>,
    /// Its process id (`MINIDUMP_MISC_INFO`), when recorded.
    pub process_id: Option<u32>,
    /// The operating system and processor (`MINIDUMP_SYSTEM_INFO`).
    pub system: Option<String>,
    /// The exception the dump was written for, when it holds one.
    pub exception: Option<UserException>,
    /// The modules loaded in the process, in the dump's order.
    pub modules: Vec<UserModule>,
    /// How many threads the dump holds.
    pub threads: Option<usize>,
    /// Streams that could not be read, and why.
    pub not_read: Vec<String>,
}

/// The exception of a user-mode minidump.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UserException {
    /// `ExceptionCode` (0xC0000005 an access violation …).
    pub code: u32,
    /// Its name, as rust-minidump gives it for the dump's OS.
    pub name: String,
    /// `ExceptionAddress`: where it happened.
    pub address: u64,
    /// The module holding that address, with the offset in it.
    pub faulting_module: Option<String>,
    /// The thread that raised it.
    pub thread_id: u32,
}

/// A module of the process.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UserModule {
    /// The file name (`ntdll.dll`).
    pub name: String,
    /// The path as recorded.
    pub path: String,
    /// Load address.
    pub base: u64,
    /// Size of the image.
    pub size: u64,
    /// The image's PE `TimeDateStamp`.
    pub timestamp: u32,
}

/// Reads a minidump from its bytes (the whole file: `file_size` long).
pub fn parse(bytes: &[u8], file_size: u64) -> Result<UserDump, String> {
    let dump = Minidump::read(bytes).map_err(|e| format!("not a readable user-mode minidump (MDMP): {e}"))?;
    Ok(read_streams(&dump, file_size))
}

/// Reads the minidump at `path` (mapped by the `minidump` crate, not
/// copied: only the streams read are paged in).
pub fn read_file(path: &std::path::Path) -> Result<UserDump, String> {
    let size = std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?.len();
    let dump = Minidump::read_path(path)
        .map_err(|e| format!("{}: not a readable user-mode minidump (MDMP): {e}", path.display()))?;
    Ok(read_streams(&dump, size))
}

fn read_streams<'a, T: std::ops::Deref<Target = [u8]> + 'a>(dump: &'a Minidump<'a, T>, file_size: u64) -> UserDump {
    let mut not_read = Vec::new();
    // A stream, or `None` with why in `not_read` (the exception stream may
    // be absent: a dump written on request has none).
    let mut stream = |name: &str, optional: bool, got: Result<(), minidump::Error>| match got {
        Ok(()) => {}
        Err(minidump::Error::StreamNotFound) if optional => {}
        Err(e) => not_read.push(format!("{name}: {e}")),
    };
    let system = dump.get_stream::<MinidumpSystemInfo>();
    let modules = dump.get_stream::<MinidumpModuleList>();
    let exception = dump.get_stream::<MinidumpException>();
    let threads = dump.get_stream::<minidump::MinidumpThreadList>();
    stream("system information", false, system.as_ref().map(|_| ()).map_err(Clone::clone));
    stream("module list", false, modules.as_ref().map(|_| ()).map_err(Clone::clone));
    stream("exception", true, exception.as_ref().map(|_| ()).map_err(Clone::clone));
    stream("thread list", false, threads.as_ref().map(|_| ()).map_err(Clone::clone));
    let (system, modules, exception) = (system.ok(), modules.ok(), exception.ok());
    let threads = threads.ok().map(|t| t.threads.len());
    let process_id = dump.get_stream::<MinidumpMiscInfo>().ok().and_then(|m| m.raw.process_id().copied());
    let file_name = |path: &str| path.rsplit(['\\', '/']).next().unwrap_or(path).to_string();
    let list: Vec<UserModule> = modules
        .as_ref()
        .map(|m| {
            m.iter()
                .map(|m| {
                    let path = m.code_file().into_owned();
                    UserModule {
                        name: file_name(&path),
                        path,
                        base: m.base_address(),
                        size: m.size(),
                        timestamp: m.raw.time_date_stamp,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let exception = exception.map(|x| {
        let address = match &system {
            Some(s) => x.get_crash_address(s.os, s.cpu),
            None => x.raw.exception_record.exception_address,
        };
        let name = match &system {
            Some(s) => x.get_crash_reason(s.os, s.cpu).to_string(),
            None => format!("0x{:08X}", x.raw.exception_record.exception_code),
        };
        let faulting_module = modules
            .as_ref()
            .and_then(|m| m.module_at_address(address))
            .map(|m| format!("{}+0x{:X}", file_name(&m.code_file()), address - m.base_address()));
        UserException {
            code: x.raw.exception_record.exception_code,
            name,
            address,
            faulting_module,
            thread_id: x.get_crashing_thread_id(),
        }
    });
    UserDump {
        file_size,
        process: list.first().map(|m| m.name.clone()),
        process_id,
        system: system.as_ref().map(|s| {
            format!(
                "{} {}.{}.{} on {}",
                s.os.long_name(),
                s.raw.major_version,
                s.raw.minor_version,
                s.raw.build_number,
                s.cpu
            )
        }),
        exception,
        modules: list,
        threads,
        not_read,
    }
}
