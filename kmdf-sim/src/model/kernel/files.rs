//! A simulated file namespace (F150): `ZwCreateFile`, `ZwReadFile`,
//! `ZwWriteFile` and the closes of their handles. Files are byte vectors
//! keyed by their full path (`\??\C:\...`, `\DosDevices\C:\...` and
//! `\SystemRoot\...`, compared without case); the test seeds and reads them
//! (`Machine::put_file`, `file_contents`).
//!
//! File handles are kernel handles in a range of their own, above every
//! value the key handle table hands out, so `ZwClose`/`NtClose`/
//! `ObCloseHandle` close either kind (ASSUMPTION, F150: one handle table
//! holds both on Windows; the values differ, the rules do not).

use crate::abi::{NTSTATUS, STATUS_SUCCESS};
use crate::model::{Name, State};
use std::collections::HashMap;

/// The first file handle's value: kernel-handle bits, far above the key
/// table's values.
const FIRST_FILE_HANDLE: u64 = 0xFFFF_FFFF_8F00_0004;

/// Access rights (wdm.h) the routines check.
const FILE_READ_DATA: u32 = 0x1;
const FILE_WRITE_DATA: u32 = 0x2;
const FILE_APPEND_DATA: u32 = 0x4;
const SYNCHRONIZE: u32 = 0x0010_0000;
const GENERIC_READ: u32 = 0x8000_0000;
const GENERIC_WRITE: u32 = 0x4000_0000;
const GENERIC_ALL: u32 = 0x1000_0000;

/// CreateOptions the model serves.
const FILE_DIRECTORY_FILE: u32 = 0x1;
const FILE_SYNCHRONOUS_IO_ALERT: u32 = 0x10;
const FILE_SYNCHRONOUS_IO_NONALERT: u32 = 0x20;

/// FILE_SHARE_READ / FILE_SHARE_WRITE.
const SHARE_READ: u32 = 0x1;
const SHARE_WRITE: u32 = 0x2;

const STATUS_END_OF_FILE: NTSTATUS = 0xC000_0011_u32 as NTSTATUS;
const STATUS_SHARING_VIOLATION: NTSTATUS = 0xC000_0043_u32 as NTSTATUS;

/// An open file object.
#[derive(Debug, Clone)]
struct OpenFile {
    path: String,
    /// Read and write rights, after the generic mapping.
    read: bool,
    write: bool,
    append_only: bool,
    share: u32,
    /// The current position, for synchronous I/O.
    synchronous: bool,
    position: u64,
    image: Name,
}

/// The files and the open handles to them.
#[derive(Debug, Default)]
pub(crate) struct Files {
    /// Contents by folded path, with the path as first written.
    contents: HashMap<String, (String, Vec<u8>)>,
    open: HashMap<u64, OpenFile>,
    next: u64,
}

/// What a create asks for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CreateRequest<'a> {
    pub path: &'a str,
    pub access: u32,
    pub share: u32,
    pub disposition: u32,
    pub options: u32,
}

/// The path a name stands for: `\DosDevices\` is `\??\`; case folded for
/// the lookup. `None` for a name outside the namespace.
fn fold(path: &str) -> Option<String> {
    let upper = path.to_uppercase();
    let rest = upper.strip_prefix(r"\DOSDEVICES\").map(|r| format!(r"\??\{r}")).unwrap_or(upper);
    (rest.starts_with(r"\??\") || rest.starts_with(r"\SYSTEMROOT\")).then_some(rest)
}

impl Files {
    /// The test seeds a file.
    pub(crate) fn put(&mut self, path: &str, data: &[u8]) -> Result<(), NTSTATUS> {
        let key = fold(path).ok_or(crate::abi::STATUS_OBJECT_NAME_INVALID)?;
        self.contents.insert(key, (path.to_string(), data.to_vec()));
        Ok(())
    }

    /// A file's contents.
    pub(crate) fn get(&self, path: &str) -> Option<Vec<u8>> {
        self.contents.get(&fold(path)?).map(|(_, d)| d.clone())
    }
}

impl Files {
    /// Whether `handle` is an open file handle (F150).
    pub(crate) fn is_open(&self, handle: u64) -> bool {
        self.open.contains_key(&handle)
    }
}

impl State {
    /// ZwCreateFile: the handle and the IoStatusBlock's Information, or the
    /// failure (F150). `None` after a stop.
    pub(crate) fn zw_create_file(&mut self, request: CreateRequest<'_>) -> Option<Result<(u64, u64), NTSTATUS>> {
        if request.options & FILE_DIRECTORY_FILE != 0 {
            self.stop_not_modelled(format!(
                "ZwCreateFile({}) with FILE_DIRECTORY_FILE: the namespace has no directories (docs/facts.md#f150)",
                request.path
            ));
            return None;
        }
        let Some(key) = fold(request.path) else {
            return Some(Err(crate::abi::STATUS_OBJECT_PATH_NOT_FOUND));
        };
        let synchronous = request.options & (FILE_SYNCHRONOUS_IO_ALERT | FILE_SYNCHRONOUS_IO_NONALERT) != 0;
        if synchronous && request.access & (SYNCHRONIZE | GENERIC_ALL) == 0 {
            return Some(Err(crate::abi::STATUS_INVALID_PARAMETER));
        }
        let all = request.access & GENERIC_ALL != 0;
        let read = all || request.access & (GENERIC_READ | FILE_READ_DATA) != 0;
        let write = all || request.access & (GENERIC_WRITE | FILE_WRITE_DATA) != 0;
        let append_only = !write && request.access & FILE_APPEND_DATA != 0;
        let files = &mut self.kernel.files;
        let exists = files.contents.contains_key(&key);
        use crate::abi::{FILE_CREATED, FILE_OPENED, FILE_OVERWRITTEN, FILE_SUPERSEDED};
        let information = match (request.disposition, exists) {
            (0, true) => FILE_SUPERSEDED,
            (0 | 2 | 3 | 5, false) => FILE_CREATED,
            (1 | 3, true) => FILE_OPENED,
            (4 | 5, true) => FILE_OVERWRITTEN,
            (1 | 4, false) => return Some(Err(crate::abi::STATUS_OBJECT_NAME_NOT_FOUND)),
            (2, true) => return Some(Err(crate::abi::STATUS_OBJECT_NAME_COLLISION)),
            _ => return Some(Err(crate::abi::STATUS_INVALID_PARAMETER)),
        };
        // Sharing, for an existing file it opens: every open of the file must allow what the new one wants,
        // and the new one what they hold (F150).
        let conflict = files.open.values().filter(|o| fold(&o.path).as_deref() == Some(key.as_str())).any(|o| {
            (read && o.share & SHARE_READ == 0)
                || ((write || append_only) && o.share & SHARE_WRITE == 0)
                || (o.read && request.share & SHARE_READ == 0)
                || ((o.write || o.append_only) && request.share & SHARE_WRITE == 0)
        });
        if exists && conflict {
            return Some(Err(STATUS_SHARING_VIOLATION));
        }
        if information != FILE_OPENED {
            files.contents.insert(key, (request.path.to_string(), Vec::new()));
        }
        let handle = FIRST_FILE_HANDLE + files.next * 4;
        files.next += 1;
        let image = self.caller_image();
        let file = OpenFile {
            path: request.path.to_string(),
            read,
            write,
            append_only,
            share: request.share,
            synchronous,
            position: 0,
            image,
        };
        self.kernel.files.open.insert(handle, file);
        Some(Ok((handle, u64::from(information))))
    }

    /// The open file behind `handle`, or the status for it: an unknown value
    /// is STATUS_INVALID_HANDLE; a key handle STATUS_OBJECT_TYPE_MISMATCH.
    fn open_file(&self, handle: u64) -> Result<OpenFile, NTSTATUS> {
        match self.kernel.files.open.get(&handle) {
            Some(f) => Ok(f.clone()),
            None if self.kernel.handles.get(handle).is_some() => Err(crate::abi::STATUS_OBJECT_TYPE_MISMATCH),
            None => Err(crate::abi::STATUS_INVALID_HANDLE),
        }
    }

    /// Where a transfer starts: `offset` if given, else the file's position
    /// (synchronous I/O); asynchronous I/O needs an offset (F150).
    fn transfer_start(file: &OpenFile, offset: Option<i64>) -> Result<u64, NTSTATUS> {
        match (offset, file.synchronous) {
            (Some(o), _) if o >= 0 => Ok(o as u64),
            // FILE_USE_FILE_POINTER_POSITION (-2:-2 as a LARGE_INTEGER).
            (Some(-2), true) | (None, true) => Ok(file.position),
            _ => Err(crate::abi::STATUS_INVALID_PARAMETER),
        }
    }

    /// ZwReadFile: up to `length` bytes; STATUS_END_OF_FILE at or past the
    /// end (F150).
    pub(crate) fn zw_read_file(
        &mut self,
        handle: u64,
        length: usize,
        offset: Option<i64>,
    ) -> Result<Vec<u8>, NTSTATUS> {
        let file = self.open_file(handle)?;
        if !file.read {
            return Err(crate::abi::STATUS_ACCESS_DENIED);
        }
        let start = Self::transfer_start(&file, offset)?;
        let data = self.kernel.files.get(&file.path).unwrap_or_default();
        let Some(from) = usize::try_from(start).ok().filter(|s| *s < data.len()) else {
            return Err(STATUS_END_OF_FILE);
        };
        let bytes = data[from..data.len().min(from.saturating_add(length))].to_vec();
        if let Some(f) = self.kernel.files.open.get_mut(&handle) {
            f.position = start + bytes.len() as u64;
        }
        Ok(bytes)
    }

    /// ZwWriteFile: `data` at the offset, the position, or (append-only
    /// access) the end; the file grows as needed (F150). The bytes written.
    pub(crate) fn zw_write_file(&mut self, handle: u64, data: &[u8], offset: Option<i64>) -> Result<usize, NTSTATUS> {
        let file = self.open_file(handle)?;
        if !file.write && !file.append_only {
            return Err(crate::abi::STATUS_ACCESS_DENIED);
        }
        let key = fold(&file.path).unwrap_or_default();
        let end = self.kernel.files.contents.get(&key).map_or(0, |(_, d)| d.len() as u64);
        // FILE_WRITE_TO_END_OF_FILE (0xFFFFFFFF:FFFFFFFF) or append-only.
        let start = if file.append_only || offset == Some(-1) { end } else { Self::transfer_start(&file, offset)? };
        let start = usize::try_from(start).map_err(|_| crate::abi::STATUS_INVALID_PARAMETER)?;
        let (_, contents) = self.kernel.files.contents.entry(key).or_insert_with(|| (file.path.clone(), Vec::new()));
        if contents.len() < start + data.len() {
            contents.resize(start + data.len(), 0);
        }
        contents[start..start + data.len()].copy_from_slice(data);
        if let Some(f) = self.kernel.files.open.get_mut(&handle) {
            f.position = (start + data.len()) as u64;
        }
        Ok(data.len())
    }

    /// A close of `value` if it is a file handle: its status, else `None`
    /// (the key handle table decides).
    pub(crate) fn close_file_handle(&mut self, value: u64) -> Option<NTSTATUS> {
        if self.kernel.files.open.is_empty() {
            return None;
        }
        self.kernel.files.open.remove(&value).map(|_| STATUS_SUCCESS)
    }

    /// At unload: file handles the image left open are a finding
    /// (ASSUMPTION, F150: the handles stay valid in the System process; no
    /// bug check is documented).
    pub(crate) fn file_handle_leak_check(&mut self, image: &str) {
        let mut left: Vec<(u64, String)> = self
            .kernel
            .files
            .open
            .iter()
            .filter(|(_, f)| f.image.as_str() == image)
            .map(|(h, f)| (*h, f.path.clone()))
            .collect();
        left.sort_unstable();
        self.kernel.files.open.retain(|_, f| f.image.as_str() != image);
        if let Some((handle, path)) = left.first() {
            self.framework.findings.push(format!(
                "{image} unloaded with {} file handle(s) open, the first {handle:#x} to {path} (ZwClose them; \
                 docs/facts.md#f150)",
                left.len()
            ));
        }
    }
}

// The file routines on this thread's machine (the surface's shims call
// these; `None` after a stop or with no machine).

/// `ZwCreateFile` (F150): a name relative to a `RootDirectory` (`relative`)
/// is a not-modelled stop of the machine.
pub(crate) fn create_file(relative: bool, request: CreateRequest<'_>) -> Option<Result<(u64, u64), NTSTATUS>> {
    crate::model::with_state(|s| {
        if relative {
            s.stop_not_modelled(format!(
                "ZwCreateFile({}) relative to a RootDirectory (docs/facts.md#f150)",
                request.path
            ));
            return None;
        }
        s.zw_create_file(request)
    })
    .flatten()
}

/// The event and APC a read or write may name (`asynchronous`): a
/// not-modelled stop of the machine (false after it).
fn synchronous_only(s: &mut State, routine: &str, asynchronous: bool) -> bool {
    if asynchronous {
        s.stop_not_modelled(format!("{routine} with an Event or ApcRoutine (docs/facts.md#f150)"));
        return false;
    }
    true
}

/// `ZwReadFile` (F150): the bytes read.
pub(crate) fn read_file(
    asynchronous: bool,
    handle: u64,
    length: usize,
    offset: Option<i64>,
) -> Option<Result<Vec<u8>, NTSTATUS>> {
    crate::model::with_state(|s| {
        synchronous_only(s, "ZwReadFile", asynchronous).then(|| s.zw_read_file(handle, length, offset))
    })
    .flatten()
}

/// `ZwWriteFile` (F150): the count of bytes written.
pub(crate) fn write_file(
    asynchronous: bool,
    handle: u64,
    data: &[u8],
    offset: Option<i64>,
) -> Option<Result<usize, NTSTATUS>> {
    crate::model::with_state(|s| {
        synchronous_only(s, "ZwWriteFile", asynchronous).then(|| s.zw_write_file(handle, data, offset))
    })
    .flatten()
}
