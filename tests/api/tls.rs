//! The SDK's HTTPS client trusts only the roots AWS endpoints chain to
//! (`TLS_TRUST_STORE`, sdk.rs), and that choice reaches the TLS handshake.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_config::retry::RetryConfig;
use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_http_client::tls::TrustStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tracking_status::sdk::{AWS_ROOTS_PEM, TrustedRoots, https_client, sdk_config_loader_with};
use tracking_status_dev::localhost_tls::{TEST_CA, localhost_acceptor};

/// SHA-256 fingerprints as Amazon Trust Services publishes them
/// (https://www.amazontrust.com/repository/), in the file's order.
const AMAZON_TRUST_SERVICES_ROOTS: [(&str, &str); 5] = [
    (
        "Amazon Root CA 1",
        "8ecde6884f3d87b1125ba31ac3fcb13d7016de7f57cc904fe1cb97c6ae98196e",
    ),
    (
        "Amazon Root CA 2",
        "1ba5b2aa8c65401a82960118f80bec4f62304d83cec4713a19c39c011ea46db4",
    ),
    (
        "Amazon Root CA 3",
        "18ce6cfe7bf14e60b2e347b8dfe868cb31d02ebb3ada271569f50343b46db3a4",
    ),
    (
        "Amazon Root CA 4",
        "e35d28419ed02025cfa69038cd623962458da5c695fbdea3c22b0bfb25897092",
    ),
    (
        "Starfield Services Root Certificate Authority - G2",
        "568d6905a2c88708a4b3025190edcfedb1974a606a13c6e5290fcb2ae63edab5",
    ),
];

#[test]
fn the_compiled_in_roots_are_exactly_the_amazon_trust_services_roots() {
    let certificates = CertificateDer::pem_slice_iter(AWS_ROOTS_PEM)
        .collect::<Result<Vec<_>, _>>()
        .expect("the compiled-in roots are valid PEM");
    let fingerprints: Vec<String> = certificates
        .iter()
        .map(|der| {
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der)
                .as_ref()
                .iter()
                .map(|byte| format!("{byte:02x}"))
                .collect()
        })
        .collect();
    let expected: Vec<&str> = AMAZON_TRUST_SERVICES_ROOTS
        .iter()
        .map(|(_, fingerprint)| *fingerprint)
        .collect();
    assert_eq!(fingerprints, expected);
    for (name, _) in AMAZON_TRUST_SERVICES_ROOTS {
        assert!(
            String::from_utf8_lossy(AWS_ROOTS_PEM).contains(name),
            "{name} is named in src/aws_roots.pem"
        );
    }
}

/// A DynamoDB stand-in behind TLS with the test authority's `localhost`
/// certificate: it answers every request with an empty GetItem result and
/// counts the requests that got through the handshake.
async fn tls_dynamodb() -> (String, Arc<AtomicUsize>) {
    let acceptor = localhost_acceptor();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let served = Arc::new(AtomicUsize::new(0));
    let counter = served.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            let counter = counter.clone();
            tokio::spawn(async move {
                let Ok(mut stream) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                // One request per connection is all these tests send.
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                counter.fetch_add(1, Ordering::SeqCst);
                let body = b"{}";
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\n\
                     content-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(body).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (format!("https://127.0.0.1:{port}"), served)
}

async fn get_item_through(
    trust_store: TrustStore,
    endpoint: &str,
) -> Result<
    (),
    aws_sdk_dynamodb::error::SdkError<aws_sdk_dynamodb::operation::get_item::GetItemError>,
> {
    let sdk_config = sdk_config_loader_with(https_client(trust_store).unwrap())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        // One attempt: a refused handshake is retried as a connection error, and
        // the backoff could run into the operation timeout and hide its cause.
        .retry_config(RetryConfig::disabled())
        .load()
        .await;
    aws_sdk_dynamodb::Client::new(&sdk_config)
        .get_item()
        .table_name("tracking-programs")
        .key("id", AttributeValue::N("0".into()))
        .send()
        .await
        .map(|_| ())
}

#[tokio::test]
async fn a_client_trusting_the_aws_roots_refuses_a_certificate_from_another_authority() {
    let (endpoint, served) = tls_dynamodb().await;
    let error = get_item_through(TrustedRoots::AwsOnly.trust_store(), &endpoint)
        .await
        .expect_err("the handshake fails");
    let cause = format!("{}", DisplayErrorContext(&error));
    assert!(
        cause.contains("UnknownIssuer"),
        "the certificate is refused for its issuer: {cause}"
    );
    assert_eq!(served.load(Ordering::SeqCst), 0, "no request got through");
}

#[tokio::test]
async fn the_same_client_trusting_that_authority_gets_through() {
    let (endpoint, served) = tls_dynamodb().await;
    get_item_through(TrustStore::empty().with_pem_certificate(TEST_CA), &endpoint)
        .await
        .unwrap_or_else(|error| panic!("{}", DisplayErrorContext(&error)));
    assert_eq!(served.load(Ordering::SeqCst), 1);
}
