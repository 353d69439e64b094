//! Test helpers: synthetic ggml models and a tiny HTTP/1.1 file server on 127.0.0.1.

use std::io::{self, BufWriter, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use half::f16;

use super::ct2::write_ct2;
use super::ggml::{expected_tensors, GgmlType, GgmlWriter, Hparams, N_FFT_BINS};
use super::mel::whisper_mel_filters;
use super::quantize::{encode_f16, encode_f32, quantize_q8_0};

pub(crate) fn tiny_en() -> Hparams {
    Hparams {
        n_vocab: 51864,
        n_audio_ctx: 1500,
        n_audio_state: 384,
        n_audio_head: 6,
        n_audio_layer: 4,
        n_text_ctx: 448,
        n_text_state: 384,
        n_text_head: 6,
        n_text_layer: 4,
        n_mels: 80,
        ftype: 1,
    }
}

/// A model small enough for unit tests (one layer per side, 32 wide) but shaped like whisper.
pub(crate) fn small_hparams(ftype: i32) -> Hparams {
    Hparams {
        n_audio_ctx: 8,
        n_audio_state: 32,
        n_audio_head: 2,
        n_audio_layer: 1,
        n_text_ctx: 8,
        n_text_state: 32,
        n_text_head: 2,
        n_text_layer: 1,
        ftype,
        ..tiny_en()
    }
}

pub(crate) fn pseudo_random(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed ^ 0x9e37_79b9_7f4a_7c15;
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.2
        })
        .collect()
}

/// Write a structurally valid whisper ggml file with random weights.
pub(crate) fn write_synthetic_model(path: &Path, h: &Hparams) -> io::Result<()> {
    let weight = h.weight_type().ok_or_else(|| io::Error::other("bad ftype"))?;
    let mut w = GgmlWriter::new(BufWriter::new(std::fs::File::create(path)?));
    w.header(h)?;
    w.mel_filters(h.n_mels as usize, N_FFT_BINS, &whisper_mel_filters(h.n_mels as usize))?;
    let vocab: Vec<Vec<u8>> = (0..300).map(|i| format!("t{i}").into_bytes()).collect();
    w.vocab(&vocab)?;
    for (i, spec) in expected_tensors(h).iter().enumerate() {
        let n = spec.ne.iter().product::<u64>() as usize;
        let values = pseudo_random(n, i as u64);
        let t = spec.kind.ggml_type(weight);
        let data = match t {
            GgmlType::F32 => encode_f32(&values),
            GgmlType::F16 => encode_f16(&values),
            GgmlType::Q8_0 => quantize_q8_0(&values),
            other => return Err(io::Error::other(format!("synthetic {} not supported", other.name()))),
        };
        w.tensor(&spec.name, &spec.ne, t, &data)?;
    }
    w.into_inner().flush()
}

/// How the test server answers.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Behavior {
    /// Honour `Range: bytes=N-` with 206.
    Normal,
    /// Always send the whole body with 200.
    IgnoreRange,
    /// Like `Normal`, but the first response stops after this many body bytes.
    CutFirstAfter(usize),
    /// Answer every request with this status and no body.
    Status(u16),
}

pub(crate) struct TestServer {
    pub url: String,
    pub requests: Arc<Mutex<Vec<String>>>,
}

impl TestServer {
    pub fn request_heads(&self) -> Vec<String> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

/// Serve `body` at every path of `http://127.0.0.1:<port>/`; stops after `max_conns`
/// connections or 30 seconds, whichever comes first.
pub(crate) fn serve(body: Vec<u8>, behavior: Behavior, max_conns: usize) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let port = listener.local_addr().expect("local addr").port();
    listener.set_nonblocking(true).expect("nonblocking");
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&requests);
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut served = 0;
        while served < max_conns && Instant::now() < deadline {
            match listener.accept() {
                Ok((stream, _)) => {
                    let _ = handle(stream, &body, behavior, served == 0, &seen);
                    served += 1;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(5)),
                Err(_) => break,
            }
        }
    });
    TestServer { url: format!("http://127.0.0.1:{port}"), requests }
}

fn handle(
    mut stream: TcpStream,
    body: &[u8],
    behavior: Behavior,
    first: bool,
    seen: &Mutex<Vec<String>>,
) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    if let Ok(mut s) = seen.lock() {
        s.push(head.clone());
    }
    if let Behavior::Status(code) = behavior {
        let resp = format!("HTTP/1.1 {code} Nope\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return stream.write_all(resp.as_bytes());
    }
    let range_start = head.lines().find_map(|l| {
        let lower = l.to_ascii_lowercase();
        let rest = lower.strip_prefix("range: bytes=")?;
        rest.trim().strip_suffix('-')?.parse::<usize>().ok()
    });
    let (status, start) = match (behavior, range_start) {
        (Behavior::IgnoreRange, _) | (_, None) => ("200 OK", 0),
        (_, Some(s)) if s >= body.len() => {
            let resp = format!(
                "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                body.len()
            );
            return stream.write_all(resp.as_bytes());
        }
        (_, Some(s)) => ("206 Partial Content", s),
    };
    let part = &body[start..];
    let mut resp = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n",
        part.len()
    );
    if start > 0 {
        resp.push_str(&format!("Content-Range: bytes {start}-{}/{}\r\n", body.len() - 1, body.len()));
    }
    resp.push_str("\r\n");
    stream.write_all(resp.as_bytes())?;
    let send = match behavior {
        Behavior::CutFirstAfter(n) if first => &part[..n.min(part.len())],
        _ => part,
    };
    stream.write_all(send)?;
    stream.flush()?;
    let _ = stream.shutdown(std::net::Shutdown::Both);
    Ok(())
}

/// Build a CTranslate2 model of the small test shape, with fused projections whose
/// parts are recognisable, and the tokenizer files.
pub(crate) fn write_fake_ct2(dir: &Path, key_bias: f32) {
    let h = small_hparams(1);
    let n = h.n_audio_state as u32;
    let mut vars: Vec<(String, Vec<u32>, u8, Vec<u8>)> = Vec::new();
    let mut seed = 0u64;
    let mut f16v = |name: String, dims: Vec<u32>, fill: Option<Vec<f32>>| {
        seed += 1;
        let numel: u32 = dims.iter().product();
        let values = fill.unwrap_or_else(|| pseudo_random(numel as usize, seed));
        let bytes = values.iter().flat_map(|v| f16::from_f32(*v).to_le_bytes()).collect();
        vars.push((name, dims, 4, bytes));
    };
    f16v("encoder/position_encodings/encodings".into(), vec![h.n_audio_ctx as u32, n], None);
    f16v("decoder/position_encodings/encodings".into(), vec![h.n_text_ctx as u32, n], None);
    f16v("decoder/embeddings/weight".into(), vec![h.n_vocab as u32, n], None);
    f16v("encoder/conv1/weight".into(), vec![n, 80, 3], None);
    f16v("encoder/conv1/bias".into(), vec![n], None);
    f16v("encoder/conv2/weight".into(), vec![n, n, 3], None);
    f16v("encoder/conv2/bias".into(), vec![n], None);
    for side in ["encoder", "decoder"] {
        f16v(format!("{side}/layer_norm/gamma"), vec![n], None);
        f16v(format!("{side}/layer_norm/beta"), vec![n], None);
        let p = format!("{side}/layer_0");
        for ln in ["ffn/layer_norm", "self_attention/layer_norm"] {
            f16v(format!("{p}/{ln}/gamma"), vec![n], None);
            f16v(format!("{p}/{ln}/beta"), vec![n], None);
        }
        f16v(format!("{p}/ffn/linear_0/weight"), vec![4 * n, n], None);
        f16v(format!("{p}/ffn/linear_0/bias"), vec![4 * n], None);
        f16v(format!("{p}/ffn/linear_1/weight"), vec![n, 4 * n], None);
        f16v(format!("{p}/ffn/linear_1/bias"), vec![n], None);
        // q rows = 1.0, k rows = 2.0, v rows = 3.0
        let qkv: Vec<f32> = (0..3 * n * n).map(|i| (i / (n * n) + 1) as f32).collect();
        f16v(format!("{p}/self_attention/linear_0/weight"), vec![3 * n, n], Some(qkv));
        let qkv_b: Vec<f32> = (0..3 * n).map(|i| if i / n == 1 { key_bias } else { (i / n + 1) as f32 }).collect();
        f16v(format!("{p}/self_attention/linear_0/bias"), vec![3 * n], Some(qkv_b));
        f16v(format!("{p}/self_attention/linear_1/weight"), vec![n, n], None);
        f16v(format!("{p}/self_attention/linear_1/bias"), vec![n], None);
        if side == "decoder" {
            f16v(format!("{p}/attention/layer_norm/gamma"), vec![n], None);
            f16v(format!("{p}/attention/layer_norm/beta"), vec![n], None);
            f16v(format!("{p}/attention/linear_0/weight"), vec![n, n], None);
            f16v(format!("{p}/attention/linear_0/bias"), vec![n], None);
            let kv: Vec<f32> = (0..2 * n * n).map(|i| (i / (n * n) + 5) as f32).collect();
            f16v(format!("{p}/attention/linear_1/weight"), vec![2 * n, n], Some(kv));
            let kv_b: Vec<f32> = (0..2 * n).map(|i| if i < n { 0.0 } else { 6.0 }).collect();
            f16v(format!("{p}/attention/linear_1/bias"), vec![2 * n], Some(kv_b));
            f16v(format!("{p}/attention/linear_2/weight"), vec![n, n], None);
            f16v(format!("{p}/attention/linear_2/bias"), vec![n], None);
        }
    }
    vars.push(("encoder/num_heads".into(), vec![], 2, 2i16.to_le_bytes().to_vec()));
    vars.push(("decoder/num_heads".into(), vec![], 2, 2i16.to_le_bytes().to_vec()));
    write_ct2(&dir.join("model.bin"), &vars, &[("decoder/projection/weight", "decoder/embeddings/weight")]);
    let tokenizer = r#"{"model":{"type":"BPE","vocab":{"a":0,"Ġb":1,"<|endoftext|>":2}},"added_tokens":[]}"#;
    std::fs::write(dir.join("tokenizer.json"), tokenizer).expect("write tokenizer.json");
}
