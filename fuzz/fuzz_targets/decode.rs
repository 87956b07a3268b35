//! The IOCTL decoders on arbitrary bytes: never panic, and what they accept
//! keeps the wire contract (names 1..=255 units without `\`, `/`, NUL; data
//! within the limit and fitting its type; re-encoding gives the input back).
#![no_main]

use libfuzzer_sys::fuzz_target;
use wdfkey_guard::wire::{self, encode};

const MAX_DATA: usize = 4096;

fuzz_target!(|input: &[u8]| {
    if let Ok(name) = wire::decode_name_request(input) {
        assert!((1..=wire::MAX_NAME_UNITS).contains(&name.len()));
        assert!(name.units().all(|u| u != 0 && u != u16::from(b'\\') && u != u16::from(b'/')));
        if let Ok(text) = String::from_utf16(&name.units().collect::<Vec<_>>()) {
            assert_eq!(encode::name_request(&text), input, "re-encoding a decoded name request");
        }
    }
    if let Ok(req) = wire::decode_set_request(input, MAX_DATA) {
        assert!(req.data.len() <= MAX_DATA);
        assert!((1..=wire::MAX_NAME_UNITS).contains(&req.name.len()));
        if let Ok(text) = String::from_utf16(&req.name.units().collect::<Vec<_>>()) {
            assert_eq!(encode::set_request(&text, req.kind, req.data), input, "re-encoding a decoded set request");
        }
    }
    if let Ok(index) = wire::decode_enum_request(input) {
        assert_eq!(encode::enum_request(index), input);
    }
    if let Some(stats) = wire::Stats::decode(input) {
        assert_eq!(stats.encode().as_slice(), input);
    }
});
