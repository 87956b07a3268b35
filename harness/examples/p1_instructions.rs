//! P1 in instructions: runs one of `bench`'s P1 sequences N times on a
//! machine with every verifier on, so `valgrind --tool=callgrind` can count
//! what one sequence costs. `scripts/bench/instructions.sh` runs each
//! sequence at two counts and divides the differences: setup cancels out,
//! and the ratio is RegKey's instructions over the raw sequence's.
//!
//! ```sh
//! cargo build -p wdfkey-harness --profile harness --example p1_instructions
//! target/harness/examples/p1_instructions regkey 1000
//! ```
//!
//! Sequences (the same as `wdfkey-harness bench`'s P1):
//! * `raw-delete`: WdfRegistryOpenKey, WdfRegistryAssignULong,
//!   WdfRegistryQueryULong, WdfObjectDelete — the DDIs RegKey calls;
//! * `raw-close`: the same ending in WdfRegistryClose;
//! * `regkey`: `RegKey::open_absolute`, `assign_u32`, `query_u32`, drop.

use kmdf_sim::control::{Machine, Settings};
use std::process::ExitCode;

#[path = "../src/allocator.rs"]
mod allocator;
#[path = "../src/p1_sequences.rs"]
mod p1_sequences;
use p1_sequences::{PATH, VALUE, wide};

#[global_allocator]
static ALLOCATOR: allocator::Allocator = allocator::Allocator;

const USAGE: &str = "usage: p1_instructions raw-delete|raw-close|regkey ITERATIONS";

#[derive(Clone, Copy)]
enum Sequence {
    RawDelete,
    RawClose,
    RegKey,
}

fn run(sequence: Sequence, iterations: u64) -> Result<u32, String> {
    let m = Machine::new(Settings::default());
    m.registry_create_key(PATH).map_err(|st| format!("cannot create {PATH}: {st:#010X}"))?;
    let checksum = m
        .run("bench.sys", "Bench", || {
            let (_p, path) = wide(PATH);
            let (_n, name) = wide(VALUE);
            let path_name = wdfkey::RegName::new(PATH).expect("a valid name");
            let value_name = wdfkey::RegName::new(VALUE).expect("a valid name");
            let raw = |delete: bool| p1_sequences::raw(&path, &name, delete);
            let typed = || p1_sequences::typed(&path_name, &value_name);
            let mut sum = 0u32;
            for _ in 0..iterations {
                sum = sum.wrapping_add(match sequence {
                    Sequence::RawDelete => raw(true),
                    Sequence::RawClose => raw(false),
                    Sequence::RegKey => typed(),
                });
            }
            sum
        })
        .map_err(|stop| format!("the machine stopped: {stop}"))?;
    if m.stop().is_some() || !m.violations().is_empty() {
        return Err("the sequence broke a rule; run the tests".into());
    }
    Ok(checksum)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [sequence, iterations] = args.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let sequence = match sequence.as_str() {
        "raw-delete" => Sequence::RawDelete,
        "raw-close" => Sequence::RawClose,
        "regkey" => Sequence::RegKey,
        other => {
            eprintln!("p1_instructions: unknown sequence {other:?}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let Ok(iterations) = iterations.parse::<u64>() else {
        eprintln!("p1_instructions: ITERATIONS must be a whole number, not {iterations:?}\n{USAGE}");
        return ExitCode::from(2);
    };
    match run(sequence, iterations) {
        Ok(checksum) => {
            // Every iteration reads back the 1 it wrote.
            if u64::from(checksum) != iterations % (1 << 32) {
                eprintln!("p1_instructions: a query did not read back the value written ({checksum} of {iterations})");
                return ExitCode::from(1);
            }
            println!("{iterations} iterations");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("p1_instructions: {e}");
            ExitCode::from(1)
        }
    }
}
