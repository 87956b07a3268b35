//! The file namespace (F150): ZwCreateFile's dispositions and their
//! IoStatusBlock information, ZwWriteFile and ZwReadFile at the file
//! position and at offsets, access and sharing checks, ZwClose of a file
//! handle, a key handle refused, and the finding for a handle left open at
//! unload.

use kmdf_sim::control::{Machine, Settings};
use kmdf_sim::ntddk::*;
use kmdf_sim::*;

const LOG: &str = r"\??\C:\logs\driver.log";

/// ZwCreateFile of `path`: (status, handle, information).
fn create(path: &str, access: u32, share: u32, disposition: u32) -> (NTSTATUS, HANDLE, u64) {
    let mut units: Vec<u16> = path.encode_utf16().collect();
    let bytes = (units.len() * 2) as u16;
    let mut name = UNICODE_STRING { Length: bytes, MaximumLength: bytes, Buffer: units.as_mut_ptr() };
    let mut oa = OBJECT_ATTRIBUTES {
        Length: size_of::<OBJECT_ATTRIBUTES>() as u32,
        RootDirectory: std::ptr::null_mut(),
        ObjectName: &raw mut name,
        Attributes: OBJ_KERNEL_HANDLE,
        SecurityDescriptor: std::ptr::null_mut(),
        SecurityQualityOfService: std::ptr::null_mut(),
    };
    let mut handle: HANDLE = std::ptr::null_mut();
    // SAFETY: zero is a valid IO_STATUS_BLOCK.
    let mut iosb: IO_STATUS_BLOCK = unsafe { std::mem::zeroed() };
    // SAFETY: every pointer is to a live local; no EA buffer.
    let st = unsafe {
        ZwCreateFile(
            &raw mut handle,
            access | SYNCHRONIZE,
            &raw mut oa,
            &raw mut iosb,
            std::ptr::null_mut(),
            FILE_ATTRIBUTE_NORMAL,
            share,
            disposition,
            FILE_SYNCHRONOUS_IO_NONALERT | FILE_NON_DIRECTORY_FILE,
            std::ptr::null_mut(),
            0,
        )
    };
    (st, handle, iosb.Information)
}

fn write(h: HANDLE, data: &[u8], offset: Option<i64>) -> (NTSTATUS, u64) {
    // SAFETY: zero is a valid IO_STATUS_BLOCK.
    let mut iosb: IO_STATUS_BLOCK = unsafe { std::mem::zeroed() };
    let mut at = LARGE_INTEGER { QuadPart: offset.unwrap_or(0) };
    let at = if offset.is_some() { &raw mut at } else { std::ptr::null_mut() };
    // SAFETY: the data outlives the call; a synchronous write.
    let st = unsafe {
        ZwWriteFile(
            h,
            std::ptr::null_mut(),
            None,
            std::ptr::null_mut(),
            &raw mut iosb,
            data.as_ptr().cast_mut().cast(),
            data.len() as u32,
            at,
            std::ptr::null_mut(),
        )
    };
    (st, iosb.Information)
}

fn read(h: HANDLE, length: usize, offset: Option<i64>) -> (NTSTATUS, Vec<u8>) {
    // SAFETY: zero is a valid IO_STATUS_BLOCK.
    let mut iosb: IO_STATUS_BLOCK = unsafe { std::mem::zeroed() };
    let mut buffer = vec![0u8; length];
    let mut at = LARGE_INTEGER { QuadPart: offset.unwrap_or(0) };
    let at = if offset.is_some() { &raw mut at } else { std::ptr::null_mut() };
    // SAFETY: a buffer of `length` bytes; a synchronous read.
    let st = unsafe {
        ZwReadFile(
            h,
            std::ptr::null_mut(),
            None,
            std::ptr::null_mut(),
            &raw mut iosb,
            buffer.as_mut_ptr().cast(),
            length as u32,
            at,
            std::ptr::null_mut(),
        )
    };
    buffer.truncate(iosb.Information as usize);
    (st, buffer)
}

fn close(h: HANDLE) -> NTSTATUS {
    // SAFETY: any value may be passed.
    unsafe { ZwClose(h) }
}

#[test]
fn create_write_read_and_close_a_file() {
    let m = Machine::new(Settings::default());
    m.run("log.sys", "DriverEntry", || {
        let (st, _, info) = create(LOG, FILE_GENERIC_READ, 0, FILE_OPEN);
        assert_eq!((st, info), (STATUS_OBJECT_NAME_NOT_FOUND, 0));
        let (st, h, info) = create(LOG, FILE_GENERIC_WRITE | FILE_GENERIC_READ, FILE_SHARE_READ, FILE_OPEN_IF);
        assert_eq!((st, info), (STATUS_SUCCESS, u64::from(FILE_CREATED)));
        assert_eq!(write(h, b"hello ", None), (STATUS_SUCCESS, 6));
        assert_eq!(write(h, b"world", None), (STATUS_SUCCESS, 5), "at the position");
        assert_eq!(write(h, b"W", Some(6)), (STATUS_SUCCESS, 1), "at an offset");
        assert_eq!(read(h, 5, Some(0)), (STATUS_SUCCESS, b"hello".to_vec()));
        assert_eq!(read(h, 100, None), (STATUS_SUCCESS, b" World".to_vec()), "from the position");
        assert_eq!(read(h, 1, None).0 as u32, 0xC000_0011, "STATUS_END_OF_FILE");
        // A second open for writing: this one shares only reading.
        assert_eq!(
            create(LOG, FILE_GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, FILE_OPEN).0 as u32,
            0xC000_0043
        );
        assert_eq!(create(LOG, FILE_GENERIC_READ, 0, FILE_CREATE).0, STATUS_OBJECT_NAME_COLLISION);
        assert_eq!(close(h), STATUS_SUCCESS);
        let (st, h, info) = create(r"\DosDevices\c:\LOGS\driver.log", FILE_GENERIC_READ, 0, FILE_OPEN);
        assert_eq!((st, info), (STATUS_SUCCESS, u64::from(FILE_OPENED)), "the same file, another spelling");
        assert_eq!(write(h, b"x", None).0, STATUS_ACCESS_DENIED, "opened for reading");
        assert_eq!(close(h), STATUS_SUCCESS);
    })
    .expect("no stop");
    assert_eq!(m.file_contents(LOG).as_deref(), Some(&b"hello World"[..]));
    kmdf_sim::testing::assert_clean(&m);
}

#[test]
fn a_seeded_file_is_read_and_overwritten() {
    let m = Machine::new(Settings::default());
    m.put_file(r"\SystemRoot\config.txt", b"level=3").expect("in the namespace");
    assert_eq!(m.put_file(r"C:\relative.txt", b"").unwrap_err(), STATUS_OBJECT_NAME_INVALID);
    m.run("cfg.sys", "DriverEntry", || {
        let (_, h, _) = create(r"\SystemRoot\config.txt", FILE_GENERIC_READ, FILE_SHARE_READ, FILE_OPEN);
        assert_eq!(read(h, 64, None), (STATUS_SUCCESS, b"level=3".to_vec()));
        assert_eq!(close(h), STATUS_SUCCESS);
        let (st, h, info) = create(r"\SystemRoot\config.txt", FILE_GENERIC_WRITE, 0, FILE_OVERWRITE);
        assert_eq!((st, info), (STATUS_SUCCESS, u64::from(FILE_OVERWRITTEN)));
        assert_eq!(close(h), STATUS_SUCCESS);
    })
    .expect("no stop");
    assert_eq!(m.file_contents(r"\systemroot\CONFIG.TXT"), Some(Vec::new()));
}

extern "C" fn leaves_a_file_open(_driver: *mut _DRIVER_OBJECT, _path: PUNICODE_STRING) -> NTSTATUS {
    create(LOG, FILE_GENERIC_WRITE, 0, FILE_OPEN_IF).0
}

#[test]
fn a_file_handle_left_open_at_unload_is_a_finding() {
    let m = Machine::new(Settings::default());
    assert_eq!(m.load("open.sys", "open", Some(leaves_a_file_open)).expect("no stop"), STATUS_SUCCESS);
    m.unload().expect("no bug check");
    let findings = m.findings();
    assert!(findings.iter().any(|f| f.starts_with("open.sys unloaded with 1 file handle(s) open")), "{findings:?}");
}

#[test]
fn files_are_passive_level_and_a_closed_handle_is_invalid() {
    let m = Machine::new(Settings::default());
    let h = m
        .run("log.sys", "DriverEntry", || {
            let (_, h, _) = create(LOG, FILE_GENERIC_WRITE, 0, FILE_OPEN_IF);
            assert_eq!(close(h), STATUS_SUCCESS);
            h
        })
        .expect("no stop");
    let after = m.run("log.sys", "DriverEntry", || write(h, b"late", None).0).expect("no stop");
    assert_eq!(after, STATUS_INVALID_HANDLE);
    let _ = m.run_at_irql("log.sys", "EvtDpc", DISPATCH_LEVEL as u8, || create(LOG, FILE_GENERIC_READ, 0, FILE_OPEN));
    let stop = m.stop().expect("a stop");
    assert_eq!(stop.bug_check().map(|b| b.code), Some(0xC4), "{stop}");
    assert!(stop.to_string().contains("ZwCreateFile"), "{stop}");
}
