//! The real `seed` binary refuses an endpoint that is not local, and no
//! endpoint at all, before any call: a TCP listener that the SDK would reach
//! records no connection. Each case also runs once with the override flag, to
//! show that the same setup does reach the listener, so its silence means
//! something. Needs no DynamoDB Local.

use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, TcpListener, UdpSocket};
use std::path::PathBuf;
use std::process::{Command, Output};

use tracking_status_dev::seed_guard::ALLOW_REMOTE_FLAG;

/// A listener on every interface that counts the connections made to it. The
/// kernel completes a connection's handshake without `accept`, so a
/// connection made (and even closed) before [`Self::connections`] is counted.
struct Recorder {
    listener: TcpListener,
    port: u16,
}

impl Recorder {
    fn new() -> Self {
        let listener = TcpListener::bind((Ipv4Addr::UNSPECIFIED, 0)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        Self { listener, port }
    }

    fn connections(&self) -> usize {
        let mut count = 0;
        loop {
            match self.listener.accept() {
                Ok(_) => count += 1,
                Err(error) if error.kind() == ErrorKind::WouldBlock => return count,
                Err(error) => panic!("accept: {error}"),
            }
        }
    }
}

/// An address of this machine that is not loopback, as a remote endpoint's
/// host: the source address of the default route. Without one, `0.0.0.0`,
/// which the guard refuses too and Linux connects to this machine.
fn remote_looking_host() -> IpAddr {
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).unwrap();
    // connect() on UDP sends nothing: it only picks the route and its source address.
    socket
        .connect("198.51.100.1:9")
        .and_then(|()| socket.local_addr())
        .map(|address| address.ip())
        .ok()
        .filter(|ip| !ip.is_loopback() && !ip.is_unspecified())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

fn temp_file(name: &str, text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("seed-guard-{}-{name}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

/// `seed ARGS fixtures/example.json` with only `env` (and credentials it
/// would accept) in its environment: nothing of the shell's AWS settings.
fn run_seed(args: &[&str], env: &[(&str, String)]) -> Output {
    let fixture = format!("{}/../fixtures/example.json", env!("CARGO_MANIFEST_DIR"));
    let mut command = Command::new(env!("CARGO_BIN_EXE_seed"));
    command
        .env_clear()
        .args(args)
        .arg(fixture)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("AWS_CONFIG_FILE", "/nonexistent");
    command.envs(env.iter().map(|(name, value)| (name, value)));
    command.output().expect("seed runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// One line on stderr, exit code 2.
fn assert_refused(output: &Output, says: &str) {
    let stderr = stderr(output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("seed: refusing to write"), "{stderr}");
    assert!(stderr.contains(says), "{stderr}");
    assert!(stderr.contains(ALLOW_REMOTE_FLAG), "{stderr}");
}

#[test]
fn seed_refuses_a_remote_endpoint_before_any_call() {
    let recorder = Recorder::new();
    let host = remote_looking_host();
    let url = format!("http://{host}:{}", recorder.port);
    let env = [
        ("AWS_ENDPOINT_URL_DYNAMODB", url.clone()),
        ("AWS_REGION", "us-east-1".to_owned()),
    ];

    let refused = run_seed(&[], &env);
    assert_refused(&refused, &format!("names host \"{host}\""));
    assert_eq!(recorder.connections(), 0, "seed connected to {url}");

    // The same run with the override reaches the listener, and says so first.
    let allowed = run_seed(&[ALLOW_REMOTE_FLAG], &env);
    let stderr = stderr(&allowed);
    assert!(
        stderr.contains(&format!(
            "seed: WARNING: {ALLOW_REMOTE_FLAG}: writing to {url} (AWS_ENDPOINT_URL_DYNAMODB), \
             region us-east-1, tables tracking-programs, tracking-advertisers, \
             tracking-memberships, tracking-events, tracking-partner-programs"
        )),
        "{stderr}"
    );
    assert!(recorder.connections() > 0, "{stderr}");
}

#[test]
fn seed_refuses_no_endpoint_before_any_call() {
    // With no endpoint variable, the SDK would use the AWS configuration
    // file's endpoint_url: here the listener, standing in for AWS.
    let recorder = Recorder::new();
    let config = temp_file(
        "config",
        &format!(
            "[default]\nregion = us-east-1\nendpoint_url = http://127.0.0.1:{}\n",
            recorder.port
        ),
    );
    let env = [("AWS_CONFIG_FILE", config.to_string_lossy().into_owned())];

    let refused = run_seed(&[], &env);
    assert_refused(
        &refused,
        "neither AWS_ENDPOINT_URL_DYNAMODB nor AWS_ENDPOINT_URL is set",
    );
    assert_eq!(recorder.connections(), 0, "seed made a call");

    let allowed = run_seed(&[ALLOW_REMOTE_FLAG], &env);
    let stderr = stderr(&allowed);
    assert!(
        stderr.contains(&format!("seed: WARNING: {ALLOW_REMOTE_FLAG}: writing to ")),
        "{stderr}"
    );
    assert!(stderr.contains("region us-east-1"), "{stderr}");
    assert!(recorder.connections() > 0, "{stderr}");
    std::fs::remove_file(config).unwrap();
}

#[test]
fn a_misspelt_flag_is_a_usage_error() {
    let output = run_seed(
        &["--allow-remote"],
        &[("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9".to_owned())],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).starts_with("usage: seed"),
        "{}",
        stderr(&output)
    );
}
