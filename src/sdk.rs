//! The AWS SDK client of the function, built once at init: the SDK's own HTTPS
//! client (rustls with aws-lc) trusting the roots `config::TrustedRoots` names,
//! and this service's timeouts and retries. Region, credentials and
//! `AWS_ENDPOINT_URL_DYNAMODB` come from the environment as usual.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, ConfigLoader};
use aws_sdk_dynamodb::config::SharedHttpClient;
use aws_smithy_http_client::Builder;
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore};

use crate::config::{ConfigError, TrustedRoots};

/// How long one DynamoDB attempt may take before it is cut and retried.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(800);
/// How long one DynamoDB call may take in all, retries included.
pub const OPERATION_TIMEOUT: Duration = Duration::from_millis(2_000);
/// How long opening a connection may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// Attempts per call (the first one included), with the SDK's standard backoff.
pub const MAX_ATTEMPTS: u32 = 3;

/// The roots AWS service endpoints chain to: Amazon Root CA 1–4 and Starfield
/// Services Root G2 (Amazon Trust Services), PEM, compiled in.
pub const AWS_ROOTS_PEM: &[u8] = include_bytes!("aws_roots.pem");

impl TrustedRoots {
    /// The roots as the HTTPS client takes them.
    pub fn trust_store(self) -> TrustStore {
        match self {
            TrustedRoots::AwsOnly => TrustStore::empty().with_pem_certificate(AWS_ROOTS_PEM),
            TrustedRoots::System => TrustStore::default(),
        }
    }
}

/// The SDK's default HTTPS client (rustls with aws-lc, as `default-https-client`
/// builds it) trusting only `trust_store`.
pub fn https_client(trust_store: TrustStore) -> Result<SharedHttpClient, ConfigError> {
    let tls_context = TlsContext::builder()
        .with_trust_store(trust_store)
        .build()?;
    Ok(Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(tls_context)
        .build_https())
}

/// The AWS SDK loader with this service's timeouts, retries and trusted roots
/// (`TLS_TRUST_STORE`); region, credentials and `AWS_ENDPOINT_URL_DYNAMODB`
/// come from the environment as usual.
pub fn sdk_config_loader() -> Result<ConfigLoader, ConfigError> {
    Ok(sdk_config_loader_with(https_client(
        TrustedRoots::from_env()?.trust_store(),
    )?))
}

/// [`sdk_config_loader`] over a given HTTPS client.
pub fn sdk_config_loader_with(http_client: SharedHttpClient) -> ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client)
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .operation_timeout(OPERATION_TIMEOUT)
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
}
