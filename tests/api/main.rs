//! The integration tests, in one binary so the SDK is linked once
//! (zero-to-production's `tests/api/`). Every module uses the one test kit:
//! `common` here, on top of `tracking_status_dev::kit`.

// The restriction lints Cargo.toml denies (unwrap, expect, panic, indexing)
// are for the function's code; a test asserts by panicking.
#![allow(clippy::restriction)]

mod common;

mod api_doc;
mod authorization;
mod calls;
mod endpoint;
mod faults;
mod handler;
mod hostile;
mod next_steps;
mod openapi;
mod release_binary;
mod samples;
mod template;
mod tls;
