#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tracking_status_fuzz::fuzz_payload(data));
