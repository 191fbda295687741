//! A stand-in for the Lambda Runtime API (2018-06-01) on loopback, and
//! function processes started the way Lambda starts them: the benchmark
//! (`examples/bench.rs`) and `tests/api/release_binary.rs` drive real binaries with it.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, mpsc};

use crate::cpu_share::CpuShare;

/// What the function answered, and when.
#[derive(Debug)]
pub struct Answer {
    /// When the function asked for the event (its init was done).
    pub polled: Instant,
    pub answered: Instant,
    pub body: String,
    /// Whether the function reported an invocation error (not a response).
    pub error: bool,
}

pub struct RuntimeApi {
    pub address: String,
    /// (event, extra header lines) for the next `/invocation/next`.
    events: mpsc::Sender<(String, String)>,
    answers: Mutex<mpsc::Receiver<Answer>>,
}

impl RuntimeApi {
    pub async fn start() -> Arc<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let (events, pending) = mpsc::channel::<(String, String)>(1);
        let (answered, answers) = mpsc::channel::<Answer>(16);
        let pending = Arc::new(Mutex::new(pending));
        let polled_at = Arc::new(std::sync::Mutex::new(Instant::now()));
        tokio::spawn(async move {
            while let Ok((connection, _)) = listener.accept().await {
                connection.set_nodelay(true).unwrap();
                tokio::spawn(serve(
                    connection,
                    pending.clone(),
                    answered.clone(),
                    polled_at.clone(),
                ));
            }
        });
        Arc::new(RuntimeApi {
            address,
            events,
            answers: Mutex::new(answers),
        })
    }

    /// Hands one event to the function with extra header lines (each ending in
    /// `\r\n`), and does not wait for an answer.
    pub async fn send_with_headers(&self, event: &str, extra_headers: &str) {
        self.events
            .send((event.to_string(), extra_headers.to_string()))
            .await
            .unwrap();
    }

    /// Hands one event to the function and waits for its answer.
    pub async fn invoke(&self, event: &str) -> (Instant, Answer) {
        let sent = Instant::now();
        self.events
            .send((event.to_string(), String::new()))
            .await
            .unwrap();
        let answer =
            tokio::time::timeout(Duration::from_secs(30), self.answers.lock().await.recv())
                .await
                .expect("the function answered within 30 s")
                .unwrap();
        (sent, answer)
    }
}

async fn serve(
    mut connection: TcpStream,
    pending: Arc<Mutex<mpsc::Receiver<(String, String)>>>,
    answered: mpsc::Sender<Answer>,
    polled_at: Arc<std::sync::Mutex<Instant>>,
) {
    let mut request_id = 0u64;
    loop {
        let Some((head, body)) = read_request(&mut connection).await else {
            return;
        };
        let path = head
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_string();
        if path.ends_with("/invocation/next") {
            *polled_at.lock().unwrap() = Instant::now();
            // Wait for an event, unless the process goes away first: a killed
            // process must not take the next process's event with it.
            let event = {
                let mut pending = pending.lock().await;
                tokio::select! {
                    biased;
                    _ = closed(&connection) => None,
                    event = pending.recv() => event,
                }
            };
            let Some((event, extra_headers)) = event else {
                return;
            };
            request_id += 1;
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis()
                + 30_000;
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nlambda-runtime-aws-request-id: req-{request_id}\r\n\
                 lambda-runtime-deadline-ms: {deadline}\r\n\
                 lambda-runtime-invoked-function-arn: arn:aws:lambda:us-east-1:123456789012:function:tracking-status\r\n\
                 lambda-runtime-trace-id: Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0\r\n\
                 {extra_headers}content-length: {}\r\n\r\n{event}",
                event.len()
            );
            if connection.write_all(response.as_bytes()).await.is_err() {
                return;
            }
        } else {
            if std::env::var("RUNTIME_API_DEBUG").is_ok() {
                eprintln!("{head}\n[{} body bytes]", body.len());
            }
            let answered_at = Instant::now();
            let polled = *polled_at.lock().unwrap();
            let answer = Answer {
                polled,
                answered: answered_at,
                body: String::from_utf8_lossy(&body).into_owned(),
                error: path.contains("/error"),
            };
            // Handed on before the function hears back: a function that exits once its
            // answer is accepted (the panic limit) cannot exit before its answer is here.
            let _ = answered.send(answer).await;
            let accepted =
                "HTTP/1.1 202 Accepted\r\ncontent-length: 16\r\n\r\n{\"status\":\"OK\"}\n";
            if connection.write_all(accepted.as_bytes()).await.is_err() {
                return;
            }
        }
    }
}

/// Resolves when the peer has closed the connection.
async fn closed(connection: &TcpStream) {
    let mut byte = [0u8; 1];
    loop {
        match connection.peek(&mut byte).await {
            Ok(0) | Err(_) => return,
            Ok(_) => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }
}

/// One HTTP/1.1 request: its head and its Content-Length body.
async fn read_request(stream: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 16384];
    loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..at]).into_owned();
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().to_string())
                })
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            while buffer.len() < at + 4 + length {
                let n = stream.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buffer.extend_from_slice(&chunk[..n]);
            }
            return Some((head, buffer[at + 4..at + 4 + length].to_vec()));
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
}

/// A function process with a Runtime API of its own: a process killed while it
/// waits for an event can never take the next process's event.
pub struct Function {
    pub child: Child,
    pub api: Arc<RuntimeApi>,
}

impl Function {
    /// Starts `binary` as Lambda starts a function, with a Runtime API of its
    /// own and `env` on top of the variables Lambda sets; its stdout and stderr
    /// go to `log` (appended), or nowhere.
    pub async fn spawn(binary: &str, env: &[(String, String)], log: Option<&Path>) -> Self {
        Self::spawn_with(binary, RuntimeApi::start().await, env, log)
    }

    pub fn spawn_with(
        binary: &str,
        api: Arc<RuntimeApi>,
        env: &[(String, String)],
        log: Option<&Path>,
    ) -> Self {
        Self::spawn_under(&[], binary, api, env, log)
    }

    /// As `spawn_with`, with `runner` (a program and its arguments) in front of
    /// `binary`: `["qemu-aarch64", "-L", "/usr/aarch64-linux-gnu"]` runs an
    /// arm64 build on an x86_64 host. The environment is cleared as for the
    /// binary alone, so the runner is configured by its arguments, not by
    /// variables (`-L`, not `QEMU_LD_PREFIX`). User-mode emulation runs the
    /// binary inside the runner's own process: `child.id()` is still the
    /// function's process, and killing it ends the function.
    pub fn spawn_under(
        runner: &[String],
        binary: &str,
        api: Arc<RuntimeApi>,
        env: &[(String, String)],
        log: Option<&Path>,
    ) -> Self {
        let mut command = command(runner, binary, &api, env, log);
        Function {
            child: command.spawn().expect("the function starts"),
            api,
        }
    }

    /// As `spawn_with`, with the process in `group`, held to its CPU quota and
    /// counted by it, but not started: a shell in the group waits for
    /// `start`, then execs `binary` in its place (same process). Joining a
    /// cgroup v1 group waits for an RCU grace period (10-20 ms here), which a
    /// cold start must not include, so the process joins before the clock starts.
    pub fn spawn_in(
        group: &CpuShare,
        binary: &str,
        api: Arc<RuntimeApi>,
        env: &[(String, String)],
        log: Option<&Path>,
    ) -> Self {
        let runner = [
            "/bin/sh".to_string(),
            "-c".to_string(),
            r#"read line; exec "$0""#.to_string(),
        ];
        let mut command = command(&runner, binary, &api, env, log);
        command.stdin(Stdio::piped());
        group
            .enter_on_spawn(&mut command)
            .expect("the cgroup's cgroup.procs opens");
        let child = command.spawn().expect("the function starts");
        Function { child, api }
    }

    /// Lets a function from `spawn_in` exec its binary, and returns the
    /// moment it was told to. The process is in its group once `spawn_in`
    /// returns (the join runs before the shell's exec, which `spawn` waits
    /// for); give the shell a moment to reach its `read` before calling this.
    pub fn start(&mut self) -> Instant {
        use std::io::Write;
        let started = Instant::now();
        if let Some(mut stdin) = self.child.stdin.take() {
            stdin
                .write_all(b"go\n")
                .expect("the waiting shell reads its go");
        }
        started
    }

    /// Hands one event to the function and waits for its answer; fails at
    /// once, with the exit status, if the process dies first.
    pub async fn invoke(&mut self, event: &str) -> Answer {
        let Function { child, api } = self;
        let exited = async {
            loop {
                if let Ok(Some(status)) = child.try_wait() {
                    return status;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        tokio::select! {
            // An answer already posted wins over the exit that may follow it.
            biased;
            (_, answer) = api.invoke(event) => answer,
            status = exited => panic!("the function process died ({status}) instead of answering"),
        }
    }

    /// Waits up to `limit` for the process to exit, and returns its status (None if
    /// it is still running).
    pub async fn exit_status(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let until = Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= until {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The CPU time (user + system) the process has used so far, from
    /// `/proc/<pid>/stat`: in clock ticks of 10 ms (USER_HZ, 100 on Linux), so a
    /// figure per request needs many requests between two readings.
    pub fn cpu_time(&self) -> Duration {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // The fields after the command name, which is in parentheses and may hold spaces:
        // utime and stime are the 14th and 15th fields of the line, 12th and 13th after it.
        let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let ticks: u64 = after_name
            .split_whitespace()
            .skip(11)
            .take(2)
            .filter_map(|field| field.parse::<u64>().ok())
            .sum();
        Duration::from_millis(ticks * 10)
    }

    /// (VmRSS, VmHWM) in kB.
    pub fn memory(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}

/// The command Lambda would run: `binary` (behind `runner`), with a cleared
/// environment, the variables Lambda sets and `env` on top; output to `log`.
fn command(
    runner: &[String],
    binary: &str,
    api: &RuntimeApi,
    env: &[(String, String)],
    log: Option<&Path>,
) -> Command {
    let mut command = match runner.split_first() {
        Some((program, arguments)) => {
            let mut command = Command::new(program);
            command.args(arguments).arg(binary);
            command
        }
        None => Command::new(binary),
    };
    command
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", &api.address)
        .env("AWS_LAMBDA_FUNCTION_NAME", "tracking-status")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/tracking-status")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "stand-in")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .envs(env.iter().map(|(key, value)| (key, value)))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(path) = log {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        command.stdout(log.try_clone().unwrap()).stderr(log);
    }
    command
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
