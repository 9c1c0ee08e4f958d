//! Downloading the official whisper.cpp models from Hugging Face, verified by SHA-256.
//!
//! The hashes are the Git LFS object ids of `ggerganov/whisper.cpp` on Hugging Face (which are
//! the SHA-256 of the file contents), each cross-checked against several independent public
//! model catalogues together with the file size. Only models whose hash is known that way are
//! offered; anything else can be imported from a faster-whisper model instead.

use std::fs;
use std::io::{BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::ModelError;

/// Where the official ggml files live.
pub const BASE_URL: &str = "https://huggingface.co/ggerganov/whisper.cpp/resolve/main";

/// An official model file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Official {
    /// The name used on the command line, e.g. `base.en` or `tiny-q8_0`.
    pub name: &'static str,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the file, lowercase hex.
    pub sha256: &'static str,
}

impl Official {
    pub fn file_name(&self) -> String {
        format!("ggml-{}.bin", self.name)
    }
}

/// The models `fetch` knows, with their sizes and SHA-256.
pub const OFFICIAL: &[Official] = &[
    Official {
        name: "tiny",
        size: 77_691_713,
        sha256: "be07e048e1e599ad46341c8d2a135645097a538221678b7acdd1b1919c6e1b21",
    },
    Official {
        name: "tiny.en",
        size: 77_704_715,
        sha256: "921e4cf8686fdd993dcd081a5da5b6c365bfde1162e72b08d75ac75289920b1f",
    },
    Official {
        name: "base",
        size: 147_951_465,
        sha256: "60ed5bc3dd14eea856493d334349b405782ddcaf0028d4b5df4088345fba2efe",
    },
    Official {
        name: "base.en",
        size: 147_964_211,
        sha256: "a03779c86df3323075f5e796cb2ce5029f00ec8869eee3fdfb897afe36c6d002",
    },
    Official {
        name: "small",
        size: 487_601_967,
        sha256: "1be3a9b2063867b937e64e2ec7483364a79917e157fa98c5d94b5c1fffea987b",
    },
    Official {
        name: "small.en",
        size: 487_614_201,
        sha256: "c6138d6d58ecc8322097e0f987c32f1be8bb0a18532a3f88f734d1bbf9c41e5d",
    },
    Official {
        name: "tiny-q8_0",
        size: 43_537_433,
        sha256: "c2085835d3f50733e2ff6e4b41ae8a2b8d8110461e18821b09a15c40c42d1cca",
    },
    Official {
        name: "tiny.en-q8_0",
        size: 43_550_795,
        sha256: "5bc2b3860aa151a4c6e7bb095e1fcce7cf12c7b020ca08dcec0c6d018bb7dd94",
    },
    Official {
        name: "base-q8_0",
        size: 81_768_585,
        sha256: "c577b9a86e7e048a0b7eada054f4dd79a56bbfa911fbdacf900ac5b567cbb7d9",
    },
    Official {
        name: "base.en-q8_0",
        size: 81_781_811,
        sha256: "a4d4a0768075e13cfd7e19df3ae2dbc4a68d37d36a7dad45e8410c9a34f8c87e",
    },
    Official {
        name: "small-q8_0",
        size: 264_464_607,
        sha256: "49c8fb02b65e6049d5fa6c04f81f53b867b5ec9540406812c643f177317f779f",
    },
    Official {
        name: "small.en-q8_0",
        size: 264_477_561,
        sha256: "67a179f608ea6114bd3fdb9060e762b588a3fb3bd00c4387971be4d177958067",
    },
];

/// Finds a model by name; `ggml-base.bin`, `ggml-base` and `base` all work.
pub fn lookup(name: &str) -> Result<&'static Official, ModelError> {
    let n = name.trim();
    let n = n.strip_suffix(".bin").unwrap_or(n);
    let n = n.strip_prefix("ggml-").unwrap_or(n);
    OFFICIAL.iter().find(|o| o.name == n).ok_or_else(|| ModelError::UnknownModel {
        name: name.to_string(),
        known: OFFICIAL.iter().map(|o| o.name).collect::<Vec<_>>().join(", "),
    })
}

pub fn fetch(name: &str, models_dir: &Path) -> Result<PathBuf, ModelError> {
    let model = lookup(name)?;
    fetch_from(BASE_URL, model, models_dir)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of a file, or `None` if it cannot be read.
fn file_sha256(path: &Path) -> Option<String> {
    let mut f = fs::File::open(path).ok()?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Some(hex(&h.finalize()))
}

/// Progress on stderr: a redrawn line on a terminal, a line per 10% otherwise.
struct Progress {
    label: String,
    total: Option<u64>,
    done: u64,
    started: Instant,
    last_draw: Instant,
    last_decile: u64,
    tty: bool,
}

impl Progress {
    fn new(label: String, total: Option<u64>) -> Self {
        let now = Instant::now();
        Self {
            label,
            total,
            done: 0,
            started: now,
            last_draw: now - Duration::from_secs(1),
            last_decile: 0,
            tty: std::io::stderr().is_terminal(),
        }
    }

    fn line(&self) -> String {
        let mb = |b: u64| b as f64 / 1e6;
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        let rate = mb(self.done) / secs;
        match self.total {
            Some(t) if t > 0 => {
                let pct = self.done * 100 / t;
                let width = 30;
                let filled = (self.done.min(t) * width / t) as usize;
                format!(
                    "{} [{}{}] {pct:3}% {:.1}/{:.1} MB {rate:.1} MB/s",
                    self.label,
                    "#".repeat(filled),
                    "-".repeat(width as usize - filled),
                    mb(self.done),
                    mb(t)
                )
            }
            _ => format!("{} {:.1} MB {rate:.1} MB/s", self.label, mb(self.done)),
        }
    }

    fn advance(&mut self, n: u64) {
        self.done += n;
        if self.tty {
            if self.last_draw.elapsed() >= Duration::from_millis(200) {
                self.last_draw = Instant::now();
                eprint!("\r{}", self.line());
            }
        } else if let Some(t) = self.total.filter(|t| *t > 0) {
            let decile = self.done * 10 / t;
            if decile > self.last_decile {
                self.last_decile = decile;
                eprintln!("{}", self.line());
            }
        }
    }

    fn finish(&self) {
        if self.tty {
            eprintln!("\r{}", self.line());
        }
    }
}

fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split(['/', ':']).next().unwrap_or(rest)
}

/// Downloads `model` from `base_url` into `models_dir`; exposed to the module for tests.
pub(crate) fn fetch_from(base_url: &str, model: &Official, models_dir: &Path) -> Result<PathBuf, ModelError> {
    fs::create_dir_all(models_dir).map_err(|source| ModelError::Write { path: models_dir.to_path_buf(), source })?;
    let target = models_dir.join(model.file_name());
    if fs::metadata(&target).is_ok_and(|m| m.len() == model.size)
        && file_sha256(&target).as_deref() == Some(model.sha256)
    {
        tracing::info!("{} is already present and verified", target.display());
        return Ok(target);
    }

    let url = format!("{base_url}/{}", model.file_name());
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(20)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .timeout_per_read(Some(Duration::from_secs(60)))
        .build()
        .into();
    let response = agent.get(&url).call().map_err(|e| match e {
        ureq::Error::StatusCode(code) => ModelError::Download {
            url: url.clone(),
            detail: format!("the server answered HTTP {code}"),
            target: target.clone(),
        },
        other => {
            ModelError::Offline { host: host_of(&url).to_string(), detail: other.to_string(), target: target.clone() }
        }
    })?;
    let total = response.body().content_length().or(Some(model.size));
    let mut reader = response.into_body().into_reader();

    let part = {
        let mut name = target.as_os_str().to_os_string();
        name.push(".part");
        PathBuf::from(name)
    };
    let write_err = |source: std::io::Error| ModelError::Write { path: part.clone(), source };
    let result = (|| -> Result<String, ModelError> {
        let mut out = BufWriter::with_capacity(1 << 20, fs::File::create(&part).map_err(write_err)?);
        let mut hasher = Sha256::new();
        let mut progress = Progress::new(format!("downloading {}", model.file_name()), total);
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    progress.finish();
                    return Err(ModelError::Download {
                        url: url.clone(),
                        detail: format!("the connection broke after {} bytes: {e}", progress.done),
                        target: target.clone(),
                    });
                }
            };
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n]).map_err(write_err)?;
            progress.advance(n as u64);
        }
        progress.finish();
        let file = out.into_inner().map_err(|e| write_err(e.into_error()))?;
        file.sync_all().map_err(write_err)?;
        Ok(hex(&hasher.finalize()))
    })();
    let actual = match result {
        Ok(h) => h,
        Err(e) => {
            let _ = fs::remove_file(&part);
            return Err(e);
        }
    };
    if actual != model.sha256 {
        let _ = fs::remove_file(&part);
        return Err(ModelError::Checksum { path: target, expected: model.sha256.to_string(), actual });
    }
    fs::rename(&part, &target).map_err(|source| ModelError::Write { path: target.clone(), source })?;
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};
    use std::net::TcpListener;

    /// Serves `body` once over HTTP on the loopback interface.
    fn serve_once(body: Vec<u8>, status: &'static str) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            if let Ok((stream, _)) = listener.accept() {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let mut s = stream;
                let _ = write!(s, "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
                let _ = s.write_all(&body);
            }
        });
        format!("http://{addr}")
    }

    fn sha_hex(data: &[u8]) -> &'static str {
        Box::leak(hex(&Sha256::digest(data)).into_boxed_str())
    }

    #[test]
    fn names_resolve() {
        assert_eq!(lookup("base.en").unwrap().name, "base.en");
        assert_eq!(lookup("ggml-tiny-q8_0.bin").unwrap().name, "tiny-q8_0");
        let err = lookup("huge").unwrap_err().to_string();
        assert!(err.contains("huge") && err.contains("small.en-q8_0"), "{err}");
        for o in OFFICIAL {
            assert_eq!(o.sha256.len(), 64);
            assert!(o.sha256.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        }
    }

    #[test]
    fn downloads_and_verifies() {
        let body = b"not really a model".to_vec();
        let model = Official { name: "test", size: body.len() as u64, sha256: sha_hex(&body) };
        let dir = tempfile::tempdir().unwrap();
        let url = serve_once(body.clone(), "200 OK");
        let path = fetch_from(&url, &model, dir.path()).unwrap();
        assert_eq!(path, dir.path().join("ggml-test.bin"));
        assert_eq!(fs::read(&path).unwrap(), body);
        assert!(!dir.path().join("ggml-test.bin.part").exists());
        // Already there and verified: no second request (nothing is listening any more).
        assert_eq!(fetch_from("http://127.0.0.1:9", &model, dir.path()).unwrap(), path);
    }

    #[test]
    fn checksum_mismatch_deletes_the_download() {
        let model = Official { name: "test", size: 3, sha256: sha_hex(b"abc") };
        let dir = tempfile::tempdir().unwrap();
        let url = serve_once(b"abd".to_vec(), "200 OK");
        let err = fetch_from(&url, &model, dir.path()).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, ModelError::Checksum { .. }), "{msg}");
        assert!(msg.contains("ggml-test.bin") && msg.contains("SHA-256"), "{msg}");
        assert!(fs::read_dir(dir.path()).unwrap().next().is_none(), "left files behind");
    }

    #[test]
    fn http_errors_and_unreachable_hosts_explain_the_way_out() {
        let model = Official { name: "test", size: 3, sha256: sha_hex(b"abc") };
        let dir = tempfile::tempdir().unwrap();
        let url = serve_once(Vec::new(), "404 Not Found");
        let msg = fetch_from(&url, &model, dir.path()).unwrap_err().to_string();
        assert!(msg.contains("HTTP 404") && msg.contains("hearth model import"), "{msg}");

        // A port nobody listens on: connection refused.
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let err = fetch_from(&format!("http://127.0.0.1:{port}"), &model, dir.path()).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, ModelError::Offline { .. }), "{msg}");
        assert!(msg.contains("cannot reach 127.0.0.1"), "{msg}");
        assert!(msg.contains("no internet access?"), "{msg}");
        assert!(
            msg.contains(&format!("`hearth model import DIR_OR_WHEEL {}`", dir.path().join("ggml-test.bin").display())),
            "{msg}"
        );
        assert!(fs::read_dir(dir.path()).unwrap().next().is_none(), "left files behind");
    }
}
