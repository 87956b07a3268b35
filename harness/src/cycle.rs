//! The VM script's cycle, run against the real driver under the simulator:
//! load, add device, IOCTLs (each with its request-scoped key), disable and
//! enable, unload — fixed, or drawn from a seed.

use kmdf_sim::control::{Caller, DeviceId, DevnodeState, IoOutcome, Machine, Settings};
use kmdf_sim::{REG_DWORD, REG_SZ};

/// A control code the driver does not know.
const UNKNOWN_IOCTL: u32 = 0x0022_2FFC;
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use wdfkey_guard::wire::{self, encode};
use wdfkey_guard::{DEVICE_SDDL, HARDWARE_ID, SERVICE_NAME, driver_entry};

/// The driver image name the simulator reports.
pub const IMAGE: &str = "wdfkey_guard.sys";

/// The driver's service key, `\Registry\Machine\...\Services\<service>`:
/// its Parameters (the INF's values) and its persistent state.
pub fn service_key() -> String {
    format!(r"\Registry\Machine\SYSTEM\CurrentControlSet\Services\{SERVICE_NAME}")
}

/// A machine as the test VM is set up: every verifier on, the INF's values
/// provisioned, the package installed.
pub fn vm(settings: Settings) -> Machine {
    // The test build can run every subcommand against the replay's raw
    // driver variant (it ZwCloses its WDFKEY's handle), to see each one fail
    // the way it reports a real defect.
    #[cfg(test)]
    let entry: kmdf_sim::DRIVER_INITIALIZE = if std::env::var_os(crate::cli_tests::RAW_DRIVER).is_some() {
        Some(crate::replay::raw_entry)
    } else {
        Some(driver_entry)
    };
    #[cfg(not(test))]
    let entry: kmdf_sim::DRIVER_INITIALIZE = Some(driver_entry);
    let m = Machine::new(settings);
    let params = format!(r"{}\Parameters", service_key());
    // The INF's AddReg defaults (inf/wdfkey_guard.inx).
    m.registry_seed(&format!(
        "[{params}]\nMaxValueSize = dword:{}\nTraceLevel = dword:{}\n",
        wdfkey_guard::DEFAULT_MAX_VALUE_SIZE,
        wdfkey_guard::DEFAULT_TRACE_LEVEL
    ))
    .expect("the INF defaults are well formed");
    m.install(IMAGE, SERVICE_NAME, entry);
    m
}

/// One step of a cycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Add (first cycle) or enable the devnode: loads the driver, starts the device.
    Start,
    /// An IOCTL with its input and output length.
    Ioctl(u32, Vec<u8>, usize),
    /// Orderly removal (disable, F35/F38).
    Disable,
    /// Surprise removal (F36).
    SurpriseRemove,
}

/// The fixed cycle: start, five IOCTLs, disable, enable, one IOCTL, disable.
pub fn fixed_cycle(cycle: u64) -> Vec<Op> {
    const NAMES: [&str; 8] = ["Value0", "Value1", "Value2", "Value3", "Value4", "Value5", "Value6", "Value7"];
    let name = NAMES[(cycle % 8) as usize];
    vec![
        Op::Start,
        Op::Ioctl(wire::IOCTL_SET_VALUE, encode::set_request(name, REG_DWORD, &(cycle as u32).to_le_bytes()), 0),
        Op::Ioctl(wire::IOCTL_GET_VALUE, encode::name_request(name), 64),
        Op::Ioctl(wire::IOCTL_ENUM_VALUES, encode::enum_request(0), 64),
        Op::Ioctl(wire::IOCTL_DELETE_VALUE, encode::name_request(name), 0),
        Op::Ioctl(wire::IOCTL_GET_STATS, Vec::new(), wire::STATS_LEN),
        Op::Disable,
        Op::Start,
        Op::Ioctl(wire::IOCTL_GET_STATS, Vec::new(), wire::STATS_LEN),
        Op::Disable,
    ]
}

/// A cycle drawn from `seed` and the cycle number (reproducible): a start,
/// 0–7 IOCTLs of every kind (some malformed), 0–2 disable/enable rounds,
/// then an orderly or a surprise removal.
pub fn random_cycle(seed: u64, cycle: u64) -> Vec<Op> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ cycle.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut ops = vec![Op::Start];
    let ioctls = |rng: &mut ChaCha8Rng, ops: &mut Vec<Op>| {
        for _ in 0..rng.next_u32() % 8 {
            let name = format!("V{}", rng.next_u32() % 4);
            let op = match rng.next_u32() % 7 {
                0 => Op::Ioctl(
                    wire::IOCTL_SET_VALUE,
                    encode::set_request(&name, REG_DWORD, &rng.next_u32().to_le_bytes()),
                    0,
                ),
                1 => {
                    let text: Vec<u8> = "text\0".encode_utf16().flat_map(u16::to_le_bytes).collect();
                    Op::Ioctl(wire::IOCTL_SET_VALUE, encode::set_request(&name, REG_SZ, &text), 0)
                }
                2 => Op::Ioctl(wire::IOCTL_GET_VALUE, encode::name_request(&name), (rng.next_u32() % 32) as usize),
                3 => Op::Ioctl(wire::IOCTL_DELETE_VALUE, encode::name_request(&name), 0),
                4 => Op::Ioctl(wire::IOCTL_ENUM_VALUES, encode::enum_request(rng.next_u32() % 6), 64),
                5 => Op::Ioctl(wire::IOCTL_GET_STATS, Vec::new(), wire::STATS_LEN),
                _ => {
                    // Malformed: random bytes, any code, any output length.
                    let len = (rng.next_u32() % 24) as usize;
                    let bytes = (0..len).map(|_| rng.next_u32() as u8).collect();
                    let code = match rng.next_u32() % 3 {
                        0 => wire::IOCTL_SET_VALUE,
                        1 => wire::IOCTL_GET_VALUE,
                        _ => UNKNOWN_IOCTL,
                    };
                    Op::Ioctl(code, bytes, (rng.next_u32() % 16) as usize)
                }
            };
            ops.push(op);
        }
    };
    ioctls(&mut rng, &mut ops);
    for _ in 0..rng.next_u32() % 3 {
        ops.push(Op::Disable);
        ops.push(Op::Start);
        ioctls(&mut rng, &mut ops);
    }
    ops.push(if rng.next_u32() % 4 == 0 { Op::SurpriseRemove } else { Op::Disable });
    ops
}

/// Runs a cycle's ops. `device` is the devnode, added on the first start.
/// Returns an error text when the machine stopped or a step could not run.
pub fn run_ops(m: &Machine, device: &mut Option<DeviceId>, ops: &[Op]) -> Result<(), String> {
    for op in ops {
        let stopped = |s: Box<kmdf_sim::control::Stop>| {
            format!("stopped: {}", s.bug_check().map_or("simulator panic".into(), |b| format!("{:#x}", b.code)))
        };
        match op {
            Op::Start => match *device {
                None => *device = Some(m.add_device(HARDWARE_ID, Some(DEVICE_SDDL)).map_err(stopped)?),
                Some(id) => m.enable_device(id).map_err(stopped)?,
            },
            Op::Disable => {
                if let Some(id) = *device {
                    m.disable_device(id).map_err(stopped)?;
                }
            }
            Op::SurpriseRemove => {
                if let Some(id) = *device {
                    m.surprise_remove_device(id).map_err(stopped)?;
                }
            }
            Op::Ioctl(code, input, out) => {
                let Some(id) = *device else { continue };
                if m.device_state(id) != Some(DevnodeState::Started) {
                    continue;
                }
                let file =
                    m.open_device(id, Caller::Administrator).map_err(|st| format!("open refused: {st:#010X}"))?;
                let (_, outcome) = m
                    .device_io_control(&file, "stress.exe", *code, input, *out)
                    .map_err(stopped)?
                    .map_err(|st| format!("IOCTL not delivered: {st:#010X}"))?;
                if let IoOutcome::Completed { information, .. } = outcome
                    && information as usize > *out
                {
                    return Err(format!("Information {information} exceeds the output buffer {out}"));
                }
                if outcome == IoOutcome::Pending {
                    return Err("the driver left a request pending".into());
                }
            }
        }
    }
    Ok(())
}
