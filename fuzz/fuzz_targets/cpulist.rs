//! libFuzzer entry of the `cpulist` target; the body is shared with the replay test
//! (`crates/vnuma/tests/fuzz_replay.rs`) through `crates/vnuma/tests/fuzz_targets/mod.rs`.

#![no_main]

#[allow(dead_code)]
#[path = "../../crates/vnuma/tests/fuzz_targets/mod.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::cpulist(data));
