#![no_main]
//! See `snomed_vcr::fuzzing::harness::reference_oracles`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| snomed_vcr::fuzzing::harness::reference_oracles(data));
