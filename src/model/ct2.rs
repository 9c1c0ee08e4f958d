//! Reader for CTranslate2's `model.bin` (binary versions 2 to 6).
//!
//! Layout, all little-endian:
//! ```text
//! u32 binary_version
//! str spec_name                       (version >= 2; str = u16 length incl. NUL, bytes, NUL)
//! u32 spec_revision                   (version >= 2)
//! u32 n_variables
//!   str name, u8 rank, u32 dims[rank],
//!   version >= 4: u8 dtype id, u32 byte count     (0 f32, 1 i8, 2 i16, 3 i32, 4 f16, 5 bf16)
//!   version <  4: u8 item size, u32 item count    (4 f32, 2 i16, 1 i8)
//!   data
//! u32 n_aliases, then (str alias, str variable) pairs   (version >= 3)
//! ```
//! Scalars (rank 0) hold settings such as `encoder/num_heads`.

use std::collections::HashMap;
use std::ops::Range;

use half::{bf16, f16};

/// Newest `model.bin` layout this reader knows.
pub const MAX_BINARY_VERSION: u32 = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    F32,
    I8,
    I16,
    I32,
    F16,
    BF16,
}

impl DType {
    fn from_id(id: u8) -> Option<Self> {
        Some(match id {
            0 => Self::F32,
            1 => Self::I8,
            2 => Self::I16,
            3 => Self::I32,
            4 => Self::F16,
            5 => Self::BF16,
            _ => return None,
        })
    }

    pub fn size(self) -> usize {
        match self {
            Self::I8 => 1,
            Self::I16 | Self::F16 | Self::BF16 => 2,
            Self::F32 | Self::I32 => 4,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::F32 => "float32",
            Self::I8 => "int8",
            Self::I16 => "int16",
            Self::I32 => "int32",
            Self::F16 => "float16",
            Self::BF16 => "bfloat16",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Variable {
    pub name: String,
    pub shape: Vec<usize>,
    pub dtype: DType,
    range: Range<usize>,
}

impl Variable {
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

/// Why a `model.bin` cannot be read (the caller adds the file name).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Ct2Error {
    /// The file ends before something it announces.
    #[error("truncated: needed {needed} bytes for {what} at offset {offset}, but the file is {len} bytes long")]
    Truncated {
        /// What was being read ("the data of encoder/conv1/weight", ...).
        what: String,
        /// Bytes it needs.
        needed: usize,
        /// Where it starts.
        offset: usize,
        /// The file's length.
        len: usize,
    },
    /// Anything else that is not what a CTranslate2 model holds: an unknown version or data
    /// type, a shape that does not match its size, a name that is not UTF-8, bytes after the end,
    /// a variable missing or of the wrong kind.
    #[error("{0}")]
    Invalid(String),
}

/// A parsed `model.bin`; variable data stays in the file buffer.
pub struct Model {
    pub binary_version: u32,
    pub spec: String,
    pub revision: u32,
    variables: Vec<Variable>,
    index: HashMap<String, usize>,
    aliases: HashMap<String, String>,
    data: Vec<u8>,
}

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], Ct2Error> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.data.len()).ok_or_else(|| Ct2Error::Truncated {
            what: what.to_string(),
            needed: n,
            offset: self.pos,
            len: self.data.len(),
        })?;
        let out = &self.data[self.pos..end];
        self.pos = end;
        Ok(out)
    }
    fn u8(&mut self, what: &str) -> Result<u8, Ct2Error> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &str) -> Result<u16, Ct2Error> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self, what: &str) -> Result<u32, Ct2Error> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn string(&mut self, what: &str) -> Result<String, Ct2Error> {
        let len = self.u16(what)? as usize;
        let bytes = self.take(len, what)?;
        let bytes = match bytes.iter().position(|b| *b == 0) {
            Some(nul) => &bytes[..nul],
            None => bytes,
        };
        String::from_utf8(bytes.to_vec())
            .map_err(|_| Ct2Error::Invalid(format!("{what} at offset {} is not UTF-8", self.pos)))
    }
}

impl Model {
    /// Parses a whole `model.bin`. Errors are plain descriptions; the caller adds the file name.
    pub fn parse(data: Vec<u8>) -> Result<Self, Ct2Error> {
        let mut c = Cursor { data: &data, pos: 0 };
        let binary_version = c.u32("the binary version")?;
        if binary_version == 0 || binary_version > MAX_BINARY_VERSION {
            return Err(Ct2Error::Invalid(format!(
                "unknown binary version {binary_version} (this reader handles 1 to {MAX_BINARY_VERSION}; \
                 a larger number means a newer CTranslate2 wrote it, anything else that this is not a model.bin)"
            )));
        }
        let (spec, revision) = if binary_version >= 2 {
            (c.string("the spec name")?, c.u32("the spec revision")?)
        } else {
            (String::new(), 1)
        };
        let n_vars = c.u32("the variable count")? as usize;
        let mut variables = Vec::with_capacity(n_vars.min(100_000));
        let mut index = HashMap::new();
        for i in 0..n_vars {
            let name = c.string(&format!("the name of variable {i}"))?;
            let rank = c.u8(&format!("the rank of {name}"))? as usize;
            let mut shape = Vec::with_capacity(rank);
            for _ in 0..rank {
                shape.push(c.u32(&format!("the shape of {name}"))? as usize);
            }
            let (dtype, n_bytes) = if binary_version >= 4 {
                let id = c.u8(&format!("the type of {name}"))?;
                let dtype = DType::from_id(id)
                    .ok_or_else(|| Ct2Error::Invalid(format!("variable {name} has unknown data type id {id}")))?;
                (dtype, c.u32(&format!("the size of {name}"))? as usize)
            } else {
                let item = c.u8(&format!("the item size of {name}"))?;
                let dtype = match item {
                    4 => DType::F32,
                    2 => DType::I16,
                    1 => DType::I8,
                    _ => return Err(Ct2Error::Invalid(format!("variable {name} has unknown item size {item}"))),
                };
                (dtype, c.u32(&format!("the size of {name}"))? as usize * item as usize)
            };
            let numel = shape
                .iter()
                .try_fold(1usize, |acc, d| acc.checked_mul(*d))
                .ok_or_else(|| Ct2Error::Invalid(format!("variable {name} has an absurd shape {shape:?}")))?;
            if numel.checked_mul(dtype.size()) != Some(n_bytes) {
                return Err(Ct2Error::Invalid(format!(
                    "variable {name} claims {n_bytes} bytes but shape {shape:?} of {} needs {}",
                    dtype.name(),
                    numel.saturating_mul(dtype.size())
                )));
            }
            let start = c.pos;
            c.take(n_bytes, &format!("the data of {name}"))?;
            index.insert(name.clone(), variables.len());
            variables.push(Variable { name, shape, dtype, range: start..c.pos });
        }
        let mut aliases = HashMap::new();
        if binary_version >= 3 {
            let n_aliases = c.u32("the alias count")?;
            for _ in 0..n_aliases {
                let alias = c.string("an alias name")?;
                let target = c.string(&format!("the target of alias {alias}"))?;
                aliases.insert(alias, target);
            }
        }
        if c.pos != data.len() {
            return Err(Ct2Error::Invalid(format!(
                "{} unexpected bytes after the last entry (offset {}); the file is corrupt",
                data.len() - c.pos,
                c.pos
            )));
        }
        Ok(Self { binary_version, spec, revision, variables, index, aliases, data })
    }

    pub fn variables(&self) -> &[Variable] {
        &self.variables
    }

    /// Looks a variable up by name, following aliases (e.g. `decoder/projection/weight`).
    pub fn get(&self, name: &str) -> Option<&Variable> {
        let mut name = name;
        for _ in 0..8 {
            if let Some(i) = self.index.get(name) {
                return Some(&self.variables[*i]);
            }
            name = self.aliases.get(name)?;
        }
        None
    }

    pub fn raw(&self, var: &Variable) -> &[u8] {
        &self.data[var.range.clone()]
    }

    /// An integer scalar such as `encoder/num_heads`.
    pub fn scalar_int(&self, name: &str) -> Option<i64> {
        let var = self.get(name)?;
        if var.numel() != 1 {
            return None;
        }
        let b = self.raw(var);
        Some(match var.dtype {
            DType::I8 => i64::from(b[0] as i8),
            DType::I16 => i64::from(i16::from_le_bytes([b[0], b[1]])),
            DType::I32 => i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            DType::F32 => f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i64,
            DType::F16 => f16::from_bits(u16::from_le_bytes([b[0], b[1]])).to_f32() as i64,
            DType::BF16 => bf16::from_bits(u16::from_le_bytes([b[0], b[1]])).to_f32() as i64,
        })
    }

    /// The variable's values as f32. Integer-quantized weights (int8/int16 with a `<name>_scale`
    /// variable, per row or global) are dequantized as CTranslate2 does: `value / scale`.
    pub fn to_f32(&self, name: &str) -> Result<Vec<f32>, Ct2Error> {
        let var = self.get(name).ok_or_else(|| Ct2Error::Invalid(format!("variable {name} is missing")))?;
        let b = self.raw(var);
        let values: Vec<f32> = match var.dtype {
            DType::F32 => b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
            DType::F16 => {
                b.chunks_exact(2).map(|c| f16::from_bits(u16::from_le_bytes([c[0], c[1]])).to_f32()).collect()
            }
            DType::BF16 => {
                b.chunks_exact(2).map(|c| bf16::from_bits(u16::from_le_bytes([c[0], c[1]])).to_f32()).collect()
            }
            DType::I32 => b.chunks_exact(4).map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f32).collect(),
            DType::I8 | DType::I16 => return self.dequantize(var),
        };
        Ok(values)
    }

    fn dequantize(&self, var: &Variable) -> Result<Vec<f32>, Ct2Error> {
        let scale_name = format!("{}_scale", var.name);
        let scale = self.to_f32(&scale_name).map_err(|_| {
            Ct2Error::Invalid(format!("variable {} is {} but has no {scale_name}", var.name, var.dtype.name()))
        })?;
        let b = self.raw(var);
        let q: Vec<f32> = match var.dtype {
            DType::I8 => b.iter().map(|v| f32::from(*v as i8)).collect(),
            _ => b.chunks_exact(2).map(|c| f32::from(i16::from_le_bytes([c[0], c[1]]))).collect(),
        };
        let rows = var.shape.first().copied().unwrap_or(1).max(1);
        let per_row = q.len() / rows;
        if scale.len() == 1 {
            Ok(q.iter().map(|v| v / scale[0]).collect())
        } else if scale.len() == rows && per_row * rows == q.len() {
            Ok(q.chunks(per_row.max(1)).zip(&scale).flat_map(|(row, s)| row.iter().map(move |v| v / s)).collect())
        } else {
            Err(Ct2Error::Invalid(format!(
                "{scale_name} has {} values, expected 1 or {rows} (one per row of {})",
                scale.len(),
                var.name
            )))
        }
    }
}

/// Writes a `model.bin` (binary version 6); used by tests to build synthetic models.
#[cfg(test)]
pub(crate) mod write {
    pub struct Var<'a> {
        pub name: &'a str,
        pub shape: Vec<u32>,
        pub dtype_id: u8,
        pub data: Vec<u8>,
    }

    fn string(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&((s.len() + 1) as u16).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
        out.push(0);
    }

    pub fn model_bin(spec: &str, vars: &[Var], aliases: &[(&str, &str)]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&6u32.to_le_bytes());
        string(&mut out, spec);
        out.extend_from_slice(&3u32.to_le_bytes());
        out.extend_from_slice(&(vars.len() as u32).to_le_bytes());
        for v in vars {
            string(&mut out, v.name);
            out.push(v.shape.len() as u8);
            for d in &v.shape {
                out.extend_from_slice(&d.to_le_bytes());
            }
            out.push(v.dtype_id);
            out.extend_from_slice(&(v.data.len() as u32).to_le_bytes());
            out.extend_from_slice(&v.data);
        }
        out.extend_from_slice(&(aliases.len() as u32).to_le_bytes());
        for (a, t) in aliases {
            string(&mut out, a);
            string(&mut out, t);
        }
        out
    }

    pub fn f16_data(values: &[f32]) -> Vec<u8> {
        values.iter().flat_map(|v| half::f16::from_f32(*v).to_bits().to_le_bytes()).collect()
    }

    pub fn f32_data(values: &[f32]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::write::*;
    use super::*;

    fn sample() -> Vec<u8> {
        model_bin(
            "WhisperSpec",
            &[
                Var { name: "encoder/num_heads", shape: vec![], dtype_id: 2, data: 6i16.to_le_bytes().to_vec() },
                Var { name: "w", shape: vec![2, 3], dtype_id: 4, data: f16_data(&[1.0, 2.0, 3.0, -1.0, 0.5, 0.25]) },
                Var { name: "b", shape: vec![2], dtype_id: 0, data: f32_data(&[0.1, 0.2]) },
                Var { name: "q", shape: vec![2, 2], dtype_id: 1, data: vec![10, 20, 0xfe, 4] },
                Var { name: "q_scale", shape: vec![2], dtype_id: 0, data: f32_data(&[10.0, 2.0]) },
            ],
            &[("alias/w", "w")],
        )
    }

    #[test]
    fn parses_a_synthetic_model() {
        let m = Model::parse(sample()).unwrap();
        assert_eq!(m.binary_version, 6);
        assert_eq!(m.spec, "WhisperSpec");
        assert_eq!(m.revision, 3);
        assert_eq!(m.variables().len(), 5);
        assert_eq!(m.scalar_int("encoder/num_heads"), Some(6));
        let w = m.get("w").unwrap();
        assert_eq!(w.shape, [2, 3]);
        assert_eq!(w.dtype, DType::F16);
        assert_eq!(m.to_f32("alias/w").unwrap(), [1.0, 2.0, 3.0, -1.0, 0.5, 0.25]);
        assert_eq!(m.to_f32("b").unwrap(), [0.1, 0.2]);
        assert_eq!(m.to_f32("q").unwrap(), [1.0, 2.0, -1.0, 2.0]);
        assert!(m.get("nope").is_none());
    }

    #[test]
    fn truncation_is_reported_with_offsets() {
        let data = sample();
        for cut in [2, 10, data.len() / 2, data.len() - 1] {
            let err = Model::parse(data[..cut].to_vec()).err().unwrap();
            assert!(matches!(err, Ct2Error::Truncated { len, .. } if len == cut), "cut {cut}: {err}");
            assert!(err.to_string().contains("truncated"), "cut {cut}: {err}");
        }
    }

    #[test]
    fn rejects_garbage_and_trailing_bytes() {
        let err = Model::parse(b"PK\x03\x04 not a model".to_vec()).err().unwrap().to_string();
        assert!(err.contains("unknown binary version"), "{err}");
        let mut data = sample();
        data.push(0);
        let err = Model::parse(data).err().unwrap().to_string();
        assert!(err.contains("unexpected bytes"), "{err}");
    }

    #[test]
    fn inconsistent_sizes_are_rejected() {
        let data = model_bin("WhisperSpec", &[Var { name: "x", shape: vec![3], dtype_id: 4, data: vec![0; 4] }], &[]);
        let err = Model::parse(data).err().unwrap().to_string();
        assert!(err.contains("claims 4 bytes"), "{err}");
    }
}
