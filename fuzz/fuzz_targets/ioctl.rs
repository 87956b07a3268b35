//! The whole IOCTL path: arbitrary bytes sent to the driver under the KMDF
//! simulator with every verifier on. Byte 0 picks the control code (one of
//! the driver's five, or the next four bytes as a raw code), byte 1 the
//! output length, the rest is the input. Any stop, ownership violation,
//! finding, pending request or Information beyond the output buffer is a
//! crash.
#![no_main]

use kmdf_sim::control::{Caller, DeviceFile, IoOutcome, Machine, Settings};
use libfuzzer_sys::fuzz_target;
use std::cell::RefCell;
use wdfkey_guard::{DEVICE_SDDL, HARDWARE_ID, SERVICE_NAME, driver_entry, wire};

struct Vm {
    machine: Machine,
    file: DeviceFile,
    sent: u32,
}

fn vm() -> Vm {
    let machine = Machine::new(Settings::default());
    let params = format!(r"\Registry\Machine\SYSTEM\CurrentControlSet\Services\{SERVICE_NAME}\Parameters");
    // The INF's AddReg defaults.
    machine
        .registry_seed(&format!(
            "[{params}]\nMaxValueSize = dword:{}\nTraceLevel = dword:{}\n",
            wdfkey_guard::DEFAULT_MAX_VALUE_SIZE,
            wdfkey_guard::DEFAULT_TRACE_LEVEL
        ))
        .expect("seed");
    machine.install("wdfkey_guard.sys", SERVICE_NAME, Some(driver_entry));
    let id = machine.add_device(HARDWARE_ID, Some(DEVICE_SDDL)).expect("no stop");
    let file = machine.open_device(id, Caller::Administrator).expect("opens");
    Vm { machine, file, sent: 0 }
}

thread_local! {
    static VM: RefCell<Option<Vm>> = const { RefCell::new(None) };
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else { return };
    let Some((&out, mut input)) = rest.split_first() else { return };
    let code = match pick % 6 {
        0 => wire::IOCTL_GET_VALUE,
        1 => wire::IOCTL_SET_VALUE,
        2 => wire::IOCTL_DELETE_VALUE,
        3 => wire::IOCTL_ENUM_VALUES,
        4 => wire::IOCTL_GET_STATS,
        _ => match input.split_first_chunk::<4>() {
            Some((raw, tail)) => {
                input = tail;
                u32::from_le_bytes(*raw)
            }
            None => 0,
        },
    };
    VM.with(|cell| {
        let mut slot = cell.borrow_mut();
        // A fresh machine now and then keeps the store small.
        if slot.as_ref().is_none_or(|vm| vm.sent >= 10_000) {
            *slot = None;
            *slot = Some(vm());
        }
        let Some(vm) = slot.as_mut() else { return };
        vm.sent += 1;
        let out = usize::from(out);
        let (_, outcome) = vm
            .machine
            .device_io_control(&vm.file, "fuzz.exe", code, input, out)
            .expect("the machine stopped")
            .expect("the request was not delivered");
        match outcome {
            IoOutcome::Completed { information, .. } => {
                assert!(information as usize <= out, "Information beyond the output buffer")
            }
            IoOutcome::Pending => panic!("the driver left the request pending"),
        }
        assert!(vm.machine.stop().is_none(), "{:?}", vm.machine.stop());
        assert!(vm.machine.violations().is_empty(), "{:?}", vm.machine.violations());
        assert!(vm.machine.findings().is_empty(), "{:?}", vm.machine.findings());
    });
});
