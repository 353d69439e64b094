//! Reader for CTranslate2 `model.bin` files (format version 6), little-endian:
//! `u32 version, str spec name, u32 spec revision, u32 n_vars`, then per variable
//! `str name, u8 ndim, u32 dims[ndim], u8 dtype, u32 nbytes, data`, then
//! `u32 n_aliases` and `(alias, target)` string pairs. A string is a u16 length that
//! counts a trailing NUL, then the bytes with that NUL.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use half::{bf16, f16};

const SUPPORTED_VERSION: u32 = 6;

/// Element type of a variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ct2Dtype {
    F32,
    I8,
    I16,
    I32,
    F16,
    BF16,
}

impl Ct2Dtype {
    fn from_code(c: u8) -> Option<Self> {
        Some(match c {
            0 => Ct2Dtype::F32,
            1 => Ct2Dtype::I8,
            2 => Ct2Dtype::I16,
            3 => Ct2Dtype::I32,
            4 => Ct2Dtype::F16,
            5 => Ct2Dtype::BF16,
            _ => return None,
        })
    }

    fn size(self) -> u64 {
        match self {
            Ct2Dtype::I8 => 1,
            Ct2Dtype::I16 | Ct2Dtype::F16 | Ct2Dtype::BF16 => 2,
            Ct2Dtype::F32 | Ct2Dtype::I32 => 4,
        }
    }
}

/// Where a variable's data lives in the file.
#[derive(Debug, Clone)]
pub struct Ct2Var {
    pub dims: Vec<u64>,
    pub dtype: Ct2Dtype,
    offset: u64,
    nbytes: u64,
}

impl Ct2Var {
    pub fn numel(&self) -> u64 {
        self.dims.iter().product()
    }
}

/// An opened model.bin: the variable index; data is read on demand.
pub struct Ct2Model {
    path: PathBuf,
    file: BufReader<File>,
    pub spec_name: String,
    pub spec_revision: u32,
    vars: HashMap<String, Ct2Var>,
    aliases: HashMap<String, String>,
}

impl Ct2Model {
    /// Index `path`. Errors are plain reasons; the caller adds the path.
    pub fn open(path: &Path) -> Result<Self, String> {
        let file = File::open(path).map_err(|e| format!("cannot open model.bin: {e}"))?;
        let size = file.metadata().map_err(|e| format!("cannot stat model.bin: {e}"))?.len();
        let mut r = Index { inner: BufReader::with_capacity(1 << 16, file), pos: 0, size };

        let version = r.u32()?;
        if version != SUPPORTED_VERSION {
            return Err(format!("model.bin format version {version}, only version {SUPPORTED_VERSION} is supported"));
        }
        let spec_name = r.string()?;
        let spec_revision = r.u32()?;
        let n_vars = r.u32()?;
        if n_vars > 100_000 {
            return Err(format!("model.bin claims {n_vars} variables"));
        }
        let mut vars = HashMap::with_capacity(n_vars as usize);
        for _ in 0..n_vars {
            let name = r.string()?;
            let ndim = r.u8()?;
            if ndim > 8 {
                return Err(format!("variable {name} has {ndim} dimensions"));
            }
            let mut dims = Vec::with_capacity(ndim as usize);
            for _ in 0..ndim {
                dims.push(u64::from(r.u32()?));
            }
            let code = r.u8()?;
            let dtype = Ct2Dtype::from_code(code).ok_or_else(|| format!("variable {name} has unknown type {code}"))?;
            let nbytes = u64::from(r.u32()?);
            let numel: u64 = dims.iter().product();
            if numel.checked_mul(dtype.size()) != Some(nbytes) {
                return Err(format!("variable {name} has {nbytes} bytes for dims {dims:?}"));
            }
            let offset = r.pos;
            r.skip(nbytes, &name)?;
            vars.insert(name, Ct2Var { dims, dtype, offset, nbytes });
        }
        let mut aliases = HashMap::new();
        if r.pos < r.size {
            let n_aliases = r.u32()?;
            for _ in 0..n_aliases.min(100_000) {
                let alias = r.string()?;
                let target = r.string()?;
                aliases.insert(alias, target);
            }
        }
        let Index { inner, .. } = r;
        Ok(Ct2Model { path: path.to_path_buf(), file: inner, spec_name, spec_revision, vars, aliases })
    }

    /// A variable by name, following aliases.
    pub fn var(&self, name: &str) -> Option<&Ct2Var> {
        self.vars.get(name).or_else(|| self.aliases.get(name).and_then(|target| self.vars.get(target)))
    }

    pub fn var_names(&self) -> impl Iterator<Item = &str> {
        self.vars.keys().map(String::as_str)
    }

    pub fn is_alias(&self, name: &str) -> bool {
        self.aliases.contains_key(name) && !self.vars.contains_key(name)
    }

    fn raw(&mut self, name: &str) -> Result<(Ct2Var, Vec<u8>), String> {
        let var = self.var(name).cloned().ok_or_else(|| format!("variable {name} is missing"))?;
        let len = usize::try_from(var.nbytes).map_err(|_| format!("variable {name} is too large"))?;
        let mut buf = vec![0u8; len];
        self.file
            .seek(SeekFrom::Start(var.offset))
            .and_then(|_| self.file.read_exact(&mut buf))
            .map_err(|e| format!("cannot read variable {name} from {}: {e}", self.path.display()))?;
        Ok((var, buf))
    }

    /// A floating-point variable as f32 values with its dims.
    pub fn read_f32(&mut self, name: &str) -> Result<(Vec<u64>, Vec<f32>), String> {
        let (var, buf) = self.raw(name)?;
        let values = match var.dtype {
            Ct2Dtype::F32 => buf.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
            Ct2Dtype::F16 => buf.chunks_exact(2).map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
            Ct2Dtype::BF16 => buf.chunks_exact(2).map(|c| bf16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
            other => {
                return Err(format!(
                    "variable {name} is {other:?}; quantized CTranslate2 models (int8) cannot be converted, use a float16 one"
                ))
            }
        };
        Ok((var.dims, values))
    }

    /// An integer scalar (e.g. `encoder/num_heads`).
    pub fn read_int(&mut self, name: &str) -> Result<i64, String> {
        let (var, buf) = self.raw(name)?;
        if var.numel() != 1 {
            return Err(format!("variable {name} is not a scalar"));
        }
        Ok(match var.dtype {
            Ct2Dtype::I8 => i64::from(buf[0] as i8),
            Ct2Dtype::I16 => i64::from(i16::from_le_bytes([buf[0], buf[1]])),
            Ct2Dtype::I32 => i64::from(i32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]])),
            Ct2Dtype::F32 => f32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]) as i64,
            Ct2Dtype::F16 => f16::from_le_bytes([buf[0], buf[1]]).to_f32() as i64,
            Ct2Dtype::BF16 => bf16::from_le_bytes([buf[0], buf[1]]).to_f32() as i64,
        })
    }
}

struct Index {
    inner: BufReader<File>,
    pos: u64,
    size: u64,
}

impl Index {
    fn bytes(&mut self, n: usize) -> Result<Vec<u8>, String> {
        if self.size.saturating_sub(self.pos) < n as u64 {
            return Err(format!("model.bin is truncated at byte {}", self.pos));
        }
        let mut b = vec![0u8; n];
        self.inner.read_exact(&mut b).map_err(|e| format!("cannot read model.bin: {e}"))?;
        self.pos += n as u64;
        Ok(b)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.bytes(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, String> {
        let b = self.bytes(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, String> {
        let b = self.bytes(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn string(&mut self) -> Result<String, String> {
        let n = self.u16()? as usize;
        let mut b = self.bytes(n)?;
        if b.last() == Some(&0) {
            b.pop();
        }
        String::from_utf8(b).map_err(|_| format!("model.bin has a non-UTF-8 name near byte {}", self.pos))
    }

    fn skip(&mut self, n: u64, name: &str) -> Result<(), String> {
        if self.size.saturating_sub(self.pos) < n {
            return Err(format!("model.bin is truncated inside variable {name}"));
        }
        let step = i64::try_from(n).map_err(|_| format!("variable {name} is too large"))?;
        self.inner.seek_relative(step).map_err(|e| format!("cannot read model.bin: {e}"))?;
        self.pos += n;
        Ok(())
    }
}

/// Test helper: write a version-6 model.bin from `(name, dims, dtype code, data)`.
#[cfg(test)]
pub(crate) fn write_ct2(path: &Path, vars: &[(String, Vec<u32>, u8, Vec<u8>)], aliases: &[(&str, &str)]) {
    fn s(out: &mut Vec<u8>, v: &str) {
        out.extend_from_slice(&((v.len() + 1) as u16).to_le_bytes());
        out.extend_from_slice(v.as_bytes());
        out.push(0);
    }
    let mut out = Vec::new();
    out.extend_from_slice(&6u32.to_le_bytes());
    s(&mut out, "WhisperSpec");
    out.extend_from_slice(&3u32.to_le_bytes());
    out.extend_from_slice(&(vars.len() as u32).to_le_bytes());
    for (name, dims, dtype, data) in vars {
        s(&mut out, name);
        out.push(dims.len() as u8);
        for d in dims {
            out.extend_from_slice(&d.to_le_bytes());
        }
        out.push(*dtype);
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(data);
    }
    out.extend_from_slice(&(aliases.len() as u32).to_le_bytes());
    for (a, t) in aliases {
        s(&mut out, a);
        s(&mut out, t);
    }
    std::fs::write(path, out).expect("write test model.bin");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_variables_scalars_and_aliases() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("model.bin");
        let w: Vec<u8> = [1.0f32, -2.0, 0.5, 4.0].iter().flat_map(|v| f16::from_f32(*v).to_le_bytes()).collect();
        write_ct2(
            &p,
            &[
                ("decoder/embeddings/weight".into(), vec![2, 2], 4, w),
                ("encoder/num_heads".into(), vec![], 2, 6i16.to_le_bytes().to_vec()),
            ],
            &[("decoder/projection/weight", "decoder/embeddings/weight")],
        );
        let mut m = Ct2Model::open(&p).unwrap();
        assert_eq!(m.spec_name, "WhisperSpec");
        assert_eq!(m.read_int("encoder/num_heads").unwrap(), 6);
        let (dims, v) = m.read_f32("decoder/projection/weight").unwrap();
        assert_eq!(dims, vec![2, 2]);
        assert_eq!(v, vec![1.0, -2.0, 0.5, 4.0]);
        assert!(m.is_alias("decoder/projection/weight"));
        assert!(m.read_f32("nope").unwrap_err().contains("missing"));
    }

    #[test]
    fn truncated_or_foreign_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("model.bin");
        write_ct2(&p, &[("a".into(), vec![4], 0, vec![0u8; 16])], &[]);
        let full = std::fs::read(&p).unwrap();
        for cut in [0, 3, 10, full.len() - 20] {
            std::fs::write(&p, &full[..cut]).unwrap();
            assert!(Ct2Model::open(&p).is_err(), "cut {cut}");
        }
        let mut v5 = full.clone();
        v5[0] = 5;
        std::fs::write(&p, &v5).unwrap();
        assert!(Ct2Model::open(&p).err().unwrap().contains("version 5"));
        let mut bad_len = full.clone();
        let at = bad_len.len() - 4 - 16 - 4; // nbytes field of the only variable
        bad_len[at..at + 4].copy_from_slice(&15u32.to_le_bytes());
        std::fs::write(&p, &bad_len).unwrap();
        assert!(Ct2Model::open(&p).is_err());
    }
}
