//! `GET /api/tracking/status/{programId}`: the integration-setup status of an
//! affiliate program, as an AWS Lambda function behind API Gateway.
//!
//! Layers, inside out: `domain` (pure rules), `store` (the read port, with a
//! DynamoDB adapter and an in-memory fake), `service` (the use case and its
//! concurrency), `principal` + `http` (the API Gateway edge), `error` (the one
//! mapping of failures to responses).

// A panic on the request path is caught by the panic net (src/panic_net.rs),
// but it should not happen: the request path may not contain an explicit
// panic, unwrap, expect or unchecked index.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::string_slice,
        clippy::unreachable,
        clippy::todo,
        clippy::unimplemented
    )
)]

pub mod config;
pub mod domain;
pub mod error;
pub mod http;
pub mod lambda;
pub mod panic_net;
pub mod principal;
pub mod sdk;
pub mod service;
pub mod store;
pub mod telemetry;
