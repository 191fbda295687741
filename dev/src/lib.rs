//! What the tests, the `seed` loader, the benchmark and the fuzzer share, and
//! the Lambda never runs: the fixture format and its loader, where `seed` may
//! write, and the servers the tests and the benchmark stand up. The `tracking-status` binary does not
//! depend on this crate, so none of it ships.

pub mod cpu_share;
pub mod fault_proxy;
pub mod fixture;
pub mod kit;
pub mod load;
pub mod localhost_tls;
pub mod oversized;
pub mod runtime_api;
pub mod schema;
pub mod seed_guard;
pub mod stream_poller;
