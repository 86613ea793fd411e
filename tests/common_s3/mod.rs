//! A real S3-compatible server for the S3 tests: moto's server process on
//! loopback, a raw-HTTP uploader, and a small proxy in front of the server
//! that counts GETs per key and injects faults (503 SlowDown, a connection
//! dropped mid-body, 403 AccessDenied).

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

/// Dummy credentials: moto does not check signatures.
pub const ENV: [(&str, &str); 4] = [
    ("AWS_ACCESS_KEY_ID", "test"),
    ("AWS_SECRET_ACCESS_KEY", "test"),
    ("AWS_REGION", "us-east-1"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
];

static ENV_ONCE: Once = Once::new();

/// Sets the dummy credentials in this process, for tests that call the
/// library. Every test calls it first, so it runs before any test thread
/// starts a request.
pub fn init_env() {
    ENV_ONCE.call_once(|| {
        for (k, v) in ENV {
            // SAFETY: runs once, before any test spawns threads or
            // processes (every test starts by calling this function).
            unsafe { std::env::set_var(k, v) };
        }
        for k in ["AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"] {
            // SAFETY: as above.
            unsafe { std::env::remove_var(k) };
        }
    });
}

fn moto_importable() -> bool {
    Command::new("python3")
        .args(["-c", "import moto.server"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

static INSTALL: Once = Once::new();

/// Makes sure `python3 -m moto.server` can run, installing moto once.
fn ensure_moto() {
    INSTALL.call_once(|| {
        if moto_importable() {
            return;
        }
        let _ = Command::new("python3")
            .args(["-m", "pip", "install", "--quiet", "moto[server]"])
            .status();
    });
    assert!(
        moto_importable(),
        "moto's server is not importable and `python3 -m pip install --quiet 'moto[server]'` \
         did not fix it"
    );
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// A moto server process, killed when dropped.
pub struct Moto {
    child: Child,
    pub port: u16,
}

impl Moto {
    pub fn start() -> Moto {
        ensure_moto();
        let port = free_port();
        let child = Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto's server");
        let moto = Moto { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok((status, _)) = http(port, "GET", "/", &[]) {
                if status == 200 {
                    return moto;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("moto's server did not answer on port {port} within 60 s");
    }

    pub fn create_bucket(&self, bucket: &str) {
        let (status, body) = http(self.port, "PUT", &format!("/{bucket}"), &[]).unwrap();
        assert_eq!(
            status,
            200,
            "create bucket: {}",
            String::from_utf8_lossy(&body)
        );
    }

    pub fn put(&self, bucket: &str, key: &str, data: &[u8]) {
        let (status, body) = http(self.port, "PUT", &format!("/{bucket}/{key}"), data).unwrap();
        assert_eq!(status, 200, "put {key}: {}", String::from_utf8_lossy(&body));
    }

    /// Uploads every file under `dir/sub` with its path relative to `dir`
    /// as the key; returns the keys.
    pub fn upload_tree(&self, bucket: &str, dir: &Path, sub: &str) -> Vec<String> {
        let mut keys = Vec::new();
        let mut stack = vec![dir.join(sub)];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let key = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                self.put(bucket, &key, &std::fs::read(&path).unwrap());
                keys.push(key);
            }
        }
        keys.sort();
        keys
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request with `Connection: close`; returns status and body.
fn http(port: u16, method: &str, path: &str, body: &[u8]) -> std::io::Result<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=test/20261130/us-east-1/s3/aws4_request, \
         SignedHeaders=host, Signature=0\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    let mut response = Vec::new();
    s.read_to_end(&mut response)?;
    let (head, body) = split_head(&response).ok_or_else(|| std::io::Error::other("no head"))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status"))?;
    Ok((status, body.to_vec()))
}

fn split_head(response: &[u8]) -> Option<(String, &[u8])> {
    let at = response.windows(4).position(|w| w == b"\r\n\r\n")?;
    Some((
        String::from_utf8_lossy(&response[..at]).into_owned(),
        &response[at + 4..],
    ))
}

/// What the proxy does to the next GET of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 503 SlowDown, as S3 throttles.
    SlowDown,
    /// Forward the response but drop the connection half-way through the body.
    DropMidBody,
    /// 403 AccessDenied.
    AccessDenied,
}

/// One GET of an object that reached the proxy.
#[derive(Debug, Clone)]
pub struct Get {
    pub key: String,
    pub range: Option<String>,
}

#[derive(Default)]
struct ProxyState {
    gets: Vec<Get>,
    lists: u64,
    faults: HashMap<String, VecDeque<Fault>>,
}

/// A counting, fault-injecting HTTP proxy in front of moto.
#[derive(Clone)]
pub struct Proxy {
    pub port: u16,
    state: Arc<Mutex<ProxyState>>,
}

impl Proxy {
    pub fn start(upstream: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(ProxyState::default()));
        let shared = state.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let state = shared.clone();
                std::thread::spawn(move || {
                    let _ = serve(client, upstream, &state);
                });
            }
        });
        Proxy { port, state }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Faults applied, in order, to the next GETs of `key`.
    pub fn inject(&self, bucket: &str, key: &str, faults: &[Fault]) {
        let mut state = self.state.lock().unwrap();
        let queue = state.faults.entry(format!("{bucket}/{key}")).or_default();
        queue.extend(faults.iter().copied());
    }

    /// Every object GET so far (keys as `bucket/key`), and forgets them.
    pub fn take_gets(&self) -> Vec<Get> {
        std::mem::take(&mut self.state.lock().unwrap().gets)
    }

    pub fn gets_of(gets: &[Get], bucket_key: &str) -> usize {
        gets.iter().filter(|g| g.key == bucket_key).count()
    }
}

fn reply(client: &mut TcpStream, status: &str, code: &str) -> std::io::Result<()> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
         <Message>injected by the test proxy</Message><RequestId>TEST</RequestId></Error>"
    );
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    client.write_all(head.as_bytes())?;
    client.write_all(body.as_bytes())
}

/// Serves one request on `client`, then closes the connection.
fn serve(mut client: TcpStream, upstream: u16, state: &Mutex<ProxyState>) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        if line == "\r\n" {
            break;
        }
        lines.push(line.trim_end().to_string());
    }
    let header = |name: &str| {
        lines.iter().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    };
    let length: usize = header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let mut parts = lines[0].split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let is_object_get = method == "GET" && !query.contains("list-type") && path.len() > 1;
    let fault = if is_object_get {
        let key = path.trim_start_matches('/').to_string();
        let mut s = state.lock().unwrap();
        let fault = s.faults.get_mut(&key).and_then(|q| q.pop_front());
        s.gets.push(Get {
            key,
            range: header("range"),
        });
        fault
    } else {
        state.lock().unwrap().lists += 1;
        None
    };
    match fault {
        Some(Fault::SlowDown) => return reply(&mut client, "503 Slow Down", "SlowDown"),
        Some(Fault::AccessDenied) => return reply(&mut client, "403 Forbidden", "AccessDenied"),
        _ => {}
    }

    let mut up = TcpStream::connect(("127.0.0.1", upstream))?;
    let mut head = String::new();
    for line in &lines {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            head.push_str(line);
            head.push_str("\r\n");
        }
    }
    head.push_str("Connection: close\r\n\r\n");
    up.write_all(head.as_bytes())?;
    up.write_all(&body)?;
    let mut response = Vec::new();
    up.read_to_end(&mut response)?;
    let (head, body) = split_head(&response).ok_or_else(|| std::io::Error::other("no head"))?;
    let mut out = String::new();
    for line in head.split("\r\n") {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("Connection: close\r\n\r\n");
    client.write_all(out.as_bytes())?;
    if fault == Some(Fault::DropMidBody) {
        client.write_all(&body[..body.len() / 2])?;
        client.flush()?;
        return client.shutdown(std::net::Shutdown::Both);
    }
    client.write_all(body)
}
