//! A real Mosquitto for the MQTT tests, and an independent MQTT client to watch it.
//!
//! Include with `#[path = "support/mosquitto.rs"] mod mosquitto;`.
//!
//! [`Mosquitto`] runs `/usr/sbin/mosquitto` (or the one on `PATH`) on a free loopback port with
//! a generated config in its own temporary directory: listener on 127.0.0.1 only, anonymous or
//! with a password file made by `mosquitto_passwd`, optionally TLS with a CA and server
//! certificate made by the `openssl` command at test time. It is killed when dropped, and can be
//! killed and restarted on the same port mid-test.
//!
//! [`Observer`] is a plain rumqttc client (not Hearth's bridge) that subscribes and records what
//! the broker delivers. [`Observer::fence`] gives negative checks without sleeping: it publishes
//! a unique marker and collects everything delivered before it, which (brokers deliver in order)
//! is everything the broker had for those subscriptions.
#![allow(dead_code)]

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, Event, Incoming, MqttOptions, Publish, QoS, SubscribeFilter};
use tokio::sync::mpsc;

/// A zigbee2mqtt light as it announces itself: json schema, brightness 0–254, `name: null` (the
/// device name is used), the device's suggested area.
pub const Z2M_SOFA_LAMP: &str = r#"{"name":null,"unique_id":"0x0017_light","schema":"json","brightness":true,
    "brightness_scale":254,"command_topic":"zigbee2mqtt/Sofa Lamp/set",
    "device":{"name":"Sofa Lamp","suggested_area":"Living Room"}}"#;

/// A Tasmota plug as a device-based config: abbreviations, `~` base topic, `name: null`.
pub const TASMOTA_DESK_PLUG: &str = r#"{"dev":{"ids":["plug1"],"name":"Desk Plug","sa":"Office"},"~":"tasmota/plug1/",
    "cmps":{"relay":{"p":"switch","name":null,"cmd_t":"~cmnd/POWER","uniq_id":"plug1_relay"}}}"#;

/// How long any wait in these helpers may take before the test fails. Generous: the machine is
/// small and busy; waits end as soon as the event happens.
pub const WAIT: Duration = Duration::from_secs(30);

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap().local_addr().unwrap().port()
}

/// The mosquitto binary: `/usr/sbin/mosquitto` (Debian) or whatever `PATH` has.
fn mosquitto_bin() -> PathBuf {
    let debian = PathBuf::from("/usr/sbin/mosquitto");
    if debian.exists() { debian } else { PathBuf::from("mosquitto") }
}

fn running_as_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

/// Paths of a test CA and a server certificate for 127.0.0.1 signed by it.
#[derive(Debug, Clone)]
pub struct TestCa {
    /// The CA certificate (what Hearth's `tls_ca` points at).
    pub ca_cert: PathBuf,
    /// The server certificate (subjectAltName IP:127.0.0.1).
    pub server_cert: PathBuf,
    /// The server's private key.
    pub server_key: PathBuf,
}

impl TestCa {
    /// Makes a fresh CA and server certificate in `dir` with the `openssl` command (EC P-256,
    /// valid for two days).
    pub fn generate(dir: &Path, name: &str) -> TestCa {
        let p = |f: &str| dir.join(format!("{name}-{f}"));
        let ext = p("server.ext");
        std::fs::write(
            &ext,
            "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        let ca = TestCa { ca_cert: p("ca.crt"), server_cert: p("server.crt"), server_key: p("server.key") };
        let (ca_key, csr) = (p("ca.key"), p("server.csr"));
        let s = |path: &PathBuf| path.to_str().unwrap().to_owned();
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
        let subject = format!("/CN=Hearth test CA {name}");
        openssl(
            &[&["req", "-x509"][..], &ec, &["-keyout", &s(&ca_key), "-out", &s(&ca.ca_cert)]].concat(),
            &["-days", "2", "-subj", &subject],
        );
        openssl(
            &[&["req"][..], &ec, &["-keyout", &s(&ca.server_key), "-out", &s(&csr)]].concat(),
            &["-subj", "/CN=127.0.0.1"],
        );
        openssl(
            &["x509", "-req", "-in", &s(&csr), "-CA", &s(&ca.ca_cert), "-CAkey", &s(&ca_key)],
            &["-CAcreateserial", "-out", &s(&ca.server_cert), "-days", "2", "-extfile", &s(&ext)],
        );
        ca
    }
}

fn openssl(head: &[&str], tail: &[&str]) {
    let out = Command::new("openssl")
        .args(head)
        .args(tail)
        .stdin(Stdio::null())
        .output()
        .expect("the openssl command is needed for the TLS test");
    assert!(out.status.success(), "openssl {head:?} failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// How the test broker is set up.
#[derive(Debug, Clone, Default)]
pub struct MosquittoConfig {
    /// `Some((user, password))`: anonymous access off, this one user allowed.
    pub user: Option<(String, String)>,
    /// Keep sessions and retained messages across restarts (saved after every change, so
    /// even a killed broker keeps them).
    pub persistence: bool,
    /// TLS on the main port with this CA's server certificate; a second, plain listener is
    /// opened on [`Mosquitto::plain_port`] for observers.
    pub tls: Option<TestCa>,
}

/// A mosquitto process owned by the test.
pub struct Mosquitto {
    /// The running process (`None` while killed).
    child: Option<Child>,
    /// Main listener port (TLS when configured).
    port: u16,
    /// Plain listener for observers (same as `port` without TLS).
    plain_port: u16,
    /// Config, password file, log and persistence database.
    dir: tempfile::TempDir,
}

impl Mosquitto {
    /// An anonymous broker on a free loopback port.
    pub fn start() -> Mosquitto {
        Mosquitto::start_with(MosquittoConfig::default())
    }

    /// A broker set up as `config` says, on free loopback ports.
    pub fn start_with(config: MosquittoConfig) -> Mosquitto {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let plain_port = if config.tls.is_some() { free_port() } else { port };
        let mut conf = String::new();
        if running_as_root() {
            // Otherwise mosquitto drops to the `mosquitto` user, who cannot read the temp dir.
            conf.push_str("user root\n");
        }
        conf.push_str(&format!("log_dest file {}\n", dir.path().join("mosquitto.log").display()));
        conf.push_str("log_type error\nlog_type warning\nlog_type notice\nlog_type information\n");
        conf.push_str("per_listener_settings false\n");
        match &config.user {
            Some((user, password)) => {
                let pw = dir.path().join("passwd");
                let out = Command::new("mosquitto_passwd")
                    .arg("-b")
                    .arg("-c")
                    .arg(&pw)
                    .arg(user)
                    .arg(password)
                    .output()
                    .expect("mosquitto_passwd is needed (Debian package mosquitto)");
                assert!(out.status.success(), "mosquitto_passwd: {}", String::from_utf8_lossy(&out.stderr));
                conf.push_str(&format!("allow_anonymous false\npassword_file {}\n", pw.display()));
            }
            None => conf.push_str("allow_anonymous true\n"),
        }
        if config.persistence {
            conf.push_str(&format!(
                "persistence true\npersistence_location {}/\nautosave_on_changes true\nautosave_interval 1\n",
                dir.path().display()
            ));
        } else {
            conf.push_str("persistence false\n");
        }
        conf.push_str(&format!("listener {port} 127.0.0.1\n"));
        if let Some(ca) = &config.tls {
            conf.push_str(&format!(
                "cafile {}\ncertfile {}\nkeyfile {}\n",
                ca.ca_cert.display(),
                ca.server_cert.display(),
                ca.server_key.display()
            ));
            conf.push_str(&format!("listener {plain_port} 127.0.0.1\n"));
        }
        std::fs::write(dir.path().join("mosquitto.conf"), conf).unwrap();
        let mut broker = Mosquitto { child: None, port, plain_port, dir };
        broker.restart();
        broker
    }

    /// The main port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The plain (non-TLS) port, for observers.
    pub fn plain_port(&self) -> u16 {
        self.plain_port
    }

    /// The broker's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("mosquitto.log")).unwrap_or_default()
    }

    /// Where the persistence database is written (with `persistence`).
    pub fn database(&self) -> PathBuf {
        self.dir.path().join("mosquitto.db")
    }

    /// Kills the broker (SIGKILL: no goodbye to clients) and waits for it to be gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the broker (again) on the same ports and waits until it accepts connections.
    pub fn restart(&mut self) {
        self.kill();
        let child = Command::new(mosquitto_bin())
            .arg("-c")
            .arg(self.dir.path().join("mosquitto.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto is needed for the MQTT tests (Debian package mosquitto)");
        self.child = Some(child);
        let deadline = Instant::now() + WAIT;
        for port in [self.port, self.plain_port] {
            loop {
                if TcpStream::connect(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).is_ok() {
                    break;
                }
                if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                    panic!("mosquitto exited with {status}; log:\n{}", self.log());
                }
                assert!(Instant::now() < deadline, "mosquitto did not listen on {port}; log:\n{}", self.log());
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Unique marker payloads for [`Observer::fence`].
static FENCE: AtomicU64 = AtomicU64::new(0);

/// An independent MQTT client recording what the broker delivers to its subscriptions.
pub struct Observer {
    /// For publishing (HA birth, switch commands, fences).
    client: AsyncClient,
    /// Everything delivered to the subscriptions, in order.
    rx: mpsc::UnboundedReceiver<Publish>,
    /// PUBACKs of the observer's own publishes.
    acks: mpsc::UnboundedReceiver<()>,
    /// Polls rumqttc's event loop (and reconnects, for durable sessions).
    task: tokio::task::JoinHandle<()>,
}

impl Observer {
    /// Connects with a clean session to 127.0.0.1:`port`, subscribes to `filters` (QoS 1) and
    /// returns once the broker has acknowledged the subscription.
    pub async fn connect(port: u16, filters: &[&str]) -> Observer {
        let id = format!("observer-{}", FENCE.fetch_add(1, Ordering::Relaxed));
        Observer::connect_as(port, &id, true, filters).await
    }

    /// Like [`Observer::connect`] with client id `id` and a durable session when `clean` is
    /// false: messages for it are kept while it is away (even across a persistent broker's
    /// restart) and delivered when it is back. It reconnects by itself.
    pub async fn connect_as(port: u16, id: &str, clean: bool, filters: &[&str]) -> Observer {
        let mut options = MqttOptions::new(id, "127.0.0.1", port);
        options.set_clean_session(clean).set_keep_alive(Duration::from_secs(30));
        options.set_max_packet_size(256 * 1024, 256 * 1024);
        let (client, mut eventloop) = AsyncClient::new(options, 64);
        let (tx, rx) = mpsc::unbounded_channel();
        let (subacked_tx, mut subacked_rx) = mpsc::unbounded_channel();
        let (ack_tx, acks) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Incoming::Publish(p))) => {
                        let _ = tx.send(p);
                    }
                    Ok(Event::Incoming(Incoming::SubAck(_))) => {
                        let _ = subacked_tx.send(());
                    }
                    Ok(Event::Incoming(Incoming::PubAck(_))) => {
                        let _ = ack_tx.send(());
                    }
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        });
        let filters: Vec<SubscribeFilter> =
            filters.iter().map(|f| SubscribeFilter::new(f.to_string(), QoS::AtLeastOnce)).collect();
        if !filters.is_empty() {
            client.subscribe_many(filters).await.unwrap();
            tokio::time::timeout(WAIT, subacked_rx.recv()).await.expect("observer: no SUBACK").unwrap();
        }
        Observer { client, rx, acks, task }
    }

    /// The next delivered message (fails the test after [`WAIT`]).
    pub async fn next(&mut self) -> Publish {
        tokio::time::timeout(WAIT, self.rx.recv()).await.expect("observer: no message in time").unwrap()
    }

    /// The next message on `topic`, skipping others.
    pub async fn next_on(&mut self, topic: &str) -> Publish {
        loop {
            let p = self.next().await;
            if p.topic == topic {
                return p;
            }
        }
    }

    /// Publishes `payload` to `topic` (QoS 1) and waits for the broker's PUBACK, so the broker
    /// has it (and has stored it, if retained) when this returns.
    pub async fn publish(&mut self, topic: &str, payload: &str, retain: bool) {
        self.client.publish(topic, QoS::AtLeastOnce, retain, payload.as_bytes().to_vec()).await.unwrap();
        tokio::time::timeout(WAIT, self.acks.recv()).await.expect("observer: no PUBACK").unwrap();
    }

    /// Publishes a unique marker to `topic` (which must match one of the observer's filters)
    /// and returns every message delivered before the marker came back.
    pub async fn fence(&mut self, topic: &str) -> Vec<Publish> {
        let marker = format!("fence-{}", FENCE.fetch_add(1, Ordering::Relaxed));
        self.publish(topic, &marker, false).await;
        let mut before = Vec::new();
        loop {
            let p = self.next().await;
            if p.topic == topic && p.payload.as_ref() == marker.as_bytes() {
                return before;
            }
            before.push(p);
        }
    }
}

impl Drop for Observer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Publishes every `(topic, payload)` retained (QoS 1) and returns once the broker acknowledged
/// them all. A client of its own, because the observer's packets are limited to 256 KiB.
pub async fn retain(port: u16, messages: &[(String, String)]) {
    let mut options = MqttOptions::new("retainer", "127.0.0.1", port);
    options.set_max_packet_size(64 << 20, 64 << 20).set_keep_alive(Duration::from_secs(30));
    let (client, mut eventloop) = AsyncClient::new(options, 1024);
    let total = messages.len();
    let poll = tokio::spawn(async move {
        let mut acked = 0;
        while acked < total {
            match eventloop.poll().await {
                Ok(Event::Incoming(Incoming::PubAck(_))) => acked += 1,
                Ok(_) => {}
                Err(e) => panic!("retaining the test home: {e}"),
            }
        }
    });
    for (topic, payload) in messages {
        client.publish(topic.as_str(), QoS::AtLeastOnce, true, payload.as_bytes().to_vec()).await.unwrap();
    }
    tokio::time::timeout(WAIT * 4, poll).await.expect("the broker did not acknowledge the home in time").unwrap();
}

/// Runs `hearth ARGS --config FILE`, FILE holding `config` (a config naming the test broker),
/// and returns what it printed. Blocking: async tests call it in `spawn_blocking`. The
/// caller's `HEARTH_CONFIG` and `RUST_LOG` do not apply, so the log is the default one.
pub fn hearth_with_config(config: &str, args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, config).unwrap();
    Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(args)
        .arg("--config")
        .arg(&path)
        .env_remove("HEARTH_CONFIG")
        .env_remove("RUST_LOG")
        .output()
        .expect("run hearth")
}
