//! The IOCTL wire format under proptest (the bounded, CI form of
//! `fuzz/fuzz_targets/decode.rs`): decoders never panic on arbitrary bytes,
//! what they accept keeps the contract and re-encodes to the same bytes, and
//! every well-formed request decodes back to what was encoded.

use proptest::prelude::*;
use wdfkey_guard::wire::{self, Stats, encode};

const MAX_DATA: usize = 4096;

fn units(name: &wire::Name<'_>) -> Vec<u16> {
    name.units().collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_and_accepted_requests_keep_the_contract(input in proptest::collection::vec(any::<u8>(), 0..96)) {
        if let Ok(name) = wire::decode_name_request(&input) {
            prop_assert!((1..=wire::MAX_NAME_UNITS).contains(&name.len()));
            prop_assert!(name.units().all(|u| u != 0 && u != u16::from(b'\\') && u != u16::from(b'/')));
            if let Ok(text) = String::from_utf16(&units(&name)) {
                prop_assert_eq!(encode::name_request(&text), input.clone());
            }
        }
        if let Ok(req) = wire::decode_set_request(&input, MAX_DATA) {
            prop_assert!(req.data.len() <= MAX_DATA);
            if let Ok(text) = String::from_utf16(&units(&req.name)) {
                prop_assert_eq!(encode::set_request(&text, req.kind, req.data), input.clone());
            }
        }
        if let Ok(index) = wire::decode_enum_request(&input) {
            prop_assert_eq!(encode::enum_request(index), input.clone());
        }
        if let Some(stats) = Stats::decode(&input) {
            prop_assert_eq!(stats.encode().to_vec(), input);
        }
    }

    #[test]
    fn well_formed_requests_round_trip(name in "[A-Za-z0-9_ -]{1,40}", value in any::<u32>(), blob in proptest::collection::vec(any::<u8>(), 0..64)) {
        let request = encode::name_request(&name);
        let decoded = wire::decode_name_request(&request).expect("a valid name request");
        prop_assert_eq!(String::from_utf16(&units(&decoded)).ok(), Some(name.clone()));
        let dword = encode::set_request(&name, 4, &value.to_le_bytes());
        let req = wire::decode_set_request(&dword, MAX_DATA).expect("a valid REG_DWORD");
        prop_assert_eq!((req.kind, req.data), (4, &value.to_le_bytes()[..]));
        let bin = encode::set_request(&name, 3, &blob);
        let req = wire::decode_set_request(&bin, MAX_DATA).expect("a valid REG_BINARY");
        prop_assert_eq!(req.data, blob.as_slice());
        // Over the limit: refused.
        prop_assert!(wire::decode_set_request(&bin, blob.len().saturating_sub(1)).is_err() || blob.is_empty());
    }
}
