//! The AWS SDK client of the function, built once at init: the SDK's own HTTPS
//! client (rustls with aws-lc) trusting the roots `TrustedRoots` names,
//! and this service's timeouts and retries. Region, credentials and
//! `AWS_ENDPOINT_URL_DYNAMODB` come from the environment as usual.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, ConfigLoader};
use aws_sdk_dynamodb::config::SharedHttpClient;
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore};
use aws_smithy_http_client::{Builder, HttpClientError};

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

/// Which root certificates the SDK's HTTPS client trusts (`TLS_TRUST_STORE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustedRoots {
    /// Only the roots AWS endpoints chain to (`aws`, the default). Nothing to
    /// read from disk at init, and no other certificate authority to trust.
    AwsOnly,
    /// The platform's store (`system`), read from disk when the client is built:
    /// the escape hatch should an AWS endpoint ever chain to another root.
    System,
}

impl TrustedRoots {
    /// Reads `TLS_TRUST_STORE`; unset means `aws`. Any other value, one that is
    /// not UTF-8 included, is a configuration error, reported rather than guessed at.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_os_value(std::env::var_os("TLS_TRUST_STORE"))
    }

    pub fn from_os_value(value: Option<std::ffi::OsString>) -> Result<Self, ConfigError> {
        let unknown = |value: &str| ConfigError::UnknownTrustStore(value.to_string());
        let value = value.map(|value| {
            value
                .into_string()
                .map_err(|v| unknown(&v.to_string_lossy()))
        });
        match value.transpose()?.as_deref().map(str::trim) {
            None | Some("" | "aws") => Ok(TrustedRoots::AwsOnly),
            Some("system") => Ok(TrustedRoots::System),
            Some(other) => Err(unknown(other)),
        }
    }

    /// The roots as the HTTPS client takes them.
    pub fn trust_store(self) -> TrustStore {
        match self {
            TrustedRoots::AwsOnly => TrustStore::empty().with_pem_certificate(AWS_ROOTS_PEM),
            TrustedRoots::System => TrustStore::default(),
        }
    }
}

/// What can be wrong with the configuration at init.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("TLS_TRUST_STORE must be `aws` or `system`, not `{0}`")]
    UnknownTrustStore(String),
    #[error("cannot build the HTTPS client: {0}")]
    HttpClient(#[from] HttpClientError),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_store_defaults_to_the_aws_roots() {
        assert_eq!(
            TrustedRoots::from_os_value(None).unwrap(),
            TrustedRoots::AwsOnly
        );
        assert_eq!(
            TrustedRoots::from_os_value(Some("aws".into())).unwrap(),
            TrustedRoots::AwsOnly
        );
        assert_eq!(
            TrustedRoots::from_os_value(Some(" ".into())).unwrap(),
            TrustedRoots::AwsOnly
        );
        assert_eq!(
            TrustedRoots::from_os_value(Some("system".into())).unwrap(),
            TrustedRoots::System
        );
    }

    #[test]
    fn a_trust_store_value_that_is_not_utf8_is_an_error_not_the_default() {
        use std::os::unix::ffi::OsStringExt;
        let value = std::ffi::OsString::from_vec(vec![b's', 0xff]);
        assert!(matches!(
            TrustedRoots::from_os_value(Some(value)),
            Err(ConfigError::UnknownTrustStore(_))
        ));
        assert_eq!(
            TrustedRoots::from_os_value(None).unwrap(),
            TrustedRoots::AwsOnly
        );
    }

    #[test]
    fn an_unknown_trust_store_is_an_error_that_names_the_value() {
        let error = TrustedRoots::from_os_value(Some("System ".into())).unwrap_err();
        assert_eq!(
            error.to_string(),
            "TLS_TRUST_STORE must be `aws` or `system`, not `System`"
        );
    }
}
