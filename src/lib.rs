//! `GET /api/tracking/status/{programId}`: the integration-setup status of an
//! affiliate program, as an AWS Lambda function behind API Gateway.
//!
//! Layers, inside out: `domain` (pure rules), `store` (the read port, with a
//! DynamoDB adapter and an in-memory fake), `service` (the use case and its
//! concurrency), `principal` + `http` (the request, as `lambda_http` hands it over),
//! `error` (the one mapping of failures to responses).

pub mod config;
pub mod domain;
pub mod error;
pub mod http;
pub mod principal;
pub mod sdk;
pub mod service;
pub mod store;
pub mod telemetry;
