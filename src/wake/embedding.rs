//! openWakeWord's speech-embedding network, computed here rather than by tract, and
//! incrementally.
//!
//! The network is a plain chain: 2-D convolutions over (mel frame, mel bin) with batch norm
//! folded in, each followed by LeakyReLU and a floor (`max(x, c)`), and max-pools, down to one
//! 96-value embedding for a window of 76 frames. Along time every convolution is "valid" (no
//! padding) and the pools have strides 2, 2 and 2, 8 frames in all. The window moves by 8 frames
//! per 80 ms block, so every layer's output for the new window is its output for the old one
//! moved up by 8 / (pool strides so far) rows, plus that many new rows at the end. Computing only
//! the new rows gives exactly the same numbers as the whole window (up to float summation order)
//! for about an eighth of the work; openWakeWord and onnxruntime recompute the whole window.
//!
//! A window that moved by anything else (the first block after a reset adds 5 frames) or was
//! written whole is computed in full. The model file's graph is checked to be this chain; any
//! other network is refused with the reason, and the detector reports the file as broken.

use std::borrow::Cow;
use std::path::Path;

use tract_onnx::data_resolver::FopenDataResolver;
use tract_onnx::pb::{GraphProto, NodeProto, TensorProto};
use tract_onnx::prelude::{Datum, Framework};
use tract_onnx::tensor::load_tensor;
use zeroize::Zeroize;

/// A convolution with its bias and activation.
struct Conv {
    /// Kernel rows (time) and columns (mel bins).
    kt: usize,
    kf: usize,
    /// Zero padding on each side of the mel-bin axis (time is never padded).
    pad_f: usize,
    cin: usize,
    cout: usize,
    /// Weights as `[kt][kf][cin][cout]`, so that the innermost loop runs over output channels.
    weights: Vec<f32>,
    bias: Vec<f32>,
    /// LeakyReLU slope and the floor after it, when the convolution has them.
    activation: Option<(f32, f32)>,
}

/// A max-pool with kernel = stride.
struct Pool {
    pt: usize,
    pf: usize,
}

enum Layer {
    Conv(Conv),
    Pool(Pool),
}

/// Rows (time), columns (mel bins) and channels of one layer's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Shape {
    t: usize,
    f: usize,
    c: usize,
}

impl Shape {
    fn len(self) -> usize {
        self.t * self.f * self.c
    }

    fn row(self) -> usize {
        self.f * self.c
    }
}

/// The embedding network with the input window and every layer's last output.
pub(super) struct EmbeddingNet {
    layers: Vec<Layer>,
    /// The input window, `[frame][bin]`.
    window: Vec<f32>,
    input: Shape,
    /// Each layer's output, `[row][column][channel]`, for the current window when `current`.
    outputs: Vec<Vec<f32>>,
    shapes: Vec<Shape>,
    /// Frames the window must move by for an incremental step (the product of the time strides).
    step: usize,
    /// Whether `outputs` belong to the window as it was before the last move.
    current: bool,
}

/// Why a file cannot be computed by [`EmbeddingNet`].
#[derive(Debug, thiserror::Error)]
pub(super) enum NetError {
    /// tract-onnx cannot read the file or one of its tensors: it is damaged or not ONNX.
    #[error("{what} cannot be read")]
    Unreadable {
        /// The file or the tensor.
        what: String,
        /// What tract-onnx reported.
        #[source]
        cause: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The file is ONNX but not the chain of layers this module computes.
    #[error("{0}")]
    Layout(Cow<'static, str>),
}

impl From<&'static str> for NetError {
    fn from(reason: &'static str) -> Self {
        NetError::Layout(Cow::Borrowed(reason))
    }
}

impl From<String> for NetError {
    fn from(reason: String) -> Self {
        NetError::Layout(Cow::Owned(reason))
    }
}

impl EmbeddingNet {
    /// Reads the network from `path` for a window of `frames` × `bins`. `Err` says why the file
    /// is not the chain this module computes.
    pub(super) fn load(path: &Path, frames: usize, bins: usize) -> Result<Self, NetError> {
        let proto = tract_onnx::onnx()
            .proto_model_for_path(path)
            .map_err(|e| NetError::Unreadable { what: "the file".into(), cause: e.into() })?;
        let graph = proto.graph.as_ref().ok_or("the file has no graph")?;
        let (layers, reshapes) = parse_chain(graph)?;
        let input = Shape { t: frames, f: bins, c: 1 };
        let mut shapes = Vec::with_capacity(layers.len());
        let mut shape = input;
        let mut step = 1;
        for layer in &layers {
            shape = match layer {
                Layer::Conv(c) => {
                    if c.cin != shape.c {
                        return Err(format!("a convolution takes {} channels but gets {}", c.cin, shape.c).into());
                    }
                    if shape.t < c.kt || shape.f + 2 * c.pad_f < c.kf {
                        return Err("the window is too small for the network".into());
                    }
                    Shape { t: shape.t - c.kt + 1, f: shape.f + 2 * c.pad_f - c.kf + 1, c: c.cout }
                }
                Layer::Pool(p) => {
                    if !shape.t.is_multiple_of(p.pt) || !shape.f.is_multiple_of(p.pf) {
                        return Err("a pool does not divide its input evenly".into());
                    }
                    step *= p.pt;
                    Shape { t: shape.t / p.pt, f: shape.f / p.pf, c: shape.c }
                }
            };
            shapes.push(shape);
        }
        // Reshapes may only turn [1, frames, bins, 1] into [1, 1, frames, bins] before the chain
        // and drop the 1 × 1 of the last layer after it: nothing that reorders values.
        let last = shapes.last().copied().unwrap_or(input);
        // (-1 is "whatever is left": the batch of 1.)
        let batch = |r: &[i64]| r.iter().map(|&d| if d == -1 { 1 } else { d }).collect::<Vec<_>>();
        let input_ok = |r: &[i64]| batch(r) == [1, 1, frames as i64, bins as i64];
        let output_ok = |r: &[i64]| batch(r).iter().product::<i64>() == last.c as i64;
        let reshapes_ok = match reshapes.as_slice() {
            [] => true,
            [r] => input_ok(r) || output_ok(r),
            [a, b] => input_ok(a) && output_ok(b),
            _ => false,
        };
        if !reshapes_ok || last.t != 1 || last.f != 1 {
            return Err("the network's reshapes or its output shape are not those of openWakeWord's embedding".into());
        }
        let outputs = shapes.iter().map(|s| vec![0.0; s.len()]).collect();
        Ok(EmbeddingNet { layers, window: vec![0.0; input.len()], input, outputs, shapes, step, current: false })
    }

    /// Values of the embedding (the last layer's output).
    pub(super) fn output_len(&self) -> usize {
        self.shapes.last().map_or(0, |s| s.len())
    }

    /// The window, `[frame][bin]`, to be written whole; the next run computes it in full.
    pub(super) fn window_mut(&mut self) -> &mut [f32] {
        self.current = false;
        &mut self.window
    }

    /// Moves the window up by `frames.len() / bins` frames, appends `frames` (already
    /// transformed) at its end and returns the embedding of the new window.
    pub(super) fn push(&mut self, frames: &[f32]) -> &[f32] {
        let row = self.input.row();
        debug_assert!(frames.len().is_multiple_of(row) && frames.len() < self.window.len());
        let moved = frames.len() / row;
        self.window.copy_within(frames.len().., 0);
        let tail = self.window.len() - frames.len();
        self.window[tail..].copy_from_slice(frames);
        let incremental = self.current && moved > 0 && moved.is_multiple_of(self.step) && moved < self.input.t;
        self.compute(if incremental { Some(moved) } else { None })
    }

    /// The embedding of the window as it is, computed in full.
    pub(super) fn run(&mut self) -> &[f32] {
        self.compute(None)
    }

    /// Overwrites the window with `value` and wipes every layer's output.
    pub(super) fn reset(&mut self, value: f32) {
        // Slices, not the Vecs: a Vec's zeroize also empties it.
        self.window.as_mut_slice().zeroize();
        self.window.fill(value);
        self.outputs.iter_mut().for_each(|o| o.as_mut_slice().zeroize());
        self.current = false;
    }

    /// Runs every layer: in full, or (`Some(moved)`) only the rows that are new after the
    /// window moved by `moved` frames.
    fn compute(&mut self, moved: Option<usize>) -> &[f32] {
        let mut new_rows = moved;
        for i in 0..self.layers.len() {
            let (done, rest) = self.outputs.split_at_mut(i);
            let (input, in_shape) =
                if i == 0 { (&self.window[..], self.input) } else { (&done[i - 1][..], self.shapes[i - 1]) };
            let out_shape = self.shapes[i];
            let output = &mut rest[0];
            let rows = match (&self.layers[i], new_rows) {
                (Layer::Pool(p), Some(n)) => Some(n / p.pt),
                (_, n) => n,
            }
            .map(|n| n.min(out_shape.t));
            if let Some(n) = rows {
                // Keep the rows that are still in the window, moved up.
                output.copy_within(n * out_shape.row().., 0);
            }
            let first = out_shape.t - rows.unwrap_or(out_shape.t);
            match &self.layers[i] {
                Layer::Conv(c) => conv(c, input, in_shape, output, out_shape, first),
                Layer::Pool(p) => pool(p, input, in_shape, output, out_shape, first),
            }
            new_rows = rows;
        }
        self.current = true;
        self.outputs.last().map_or(&[], |o| &o[..])
    }
}

impl Drop for EmbeddingNet {
    fn drop(&mut self) {
        self.window.zeroize();
        self.outputs.iter_mut().for_each(|o| o.zeroize());
    }
}

/// Output rows `first..` of a convolution (with its activation).
fn conv(c: &Conv, input: &[f32], i: Shape, output: &mut [f32], o: Shape, first: usize) {
    let mut acc = vec![0.0f32; c.cout];
    for t in first..o.t {
        for f in 0..o.f {
            acc.copy_from_slice(&c.bias);
            for dt in 0..c.kt {
                let in_row = &input[(t + dt) * i.row()..(t + dt + 1) * i.row()];
                for df in 0..c.kf {
                    let Some(x_f) = (f + df).checked_sub(c.pad_f).filter(|&x| x < i.f) else { continue };
                    let x = &in_row[x_f * i.c..(x_f + 1) * i.c];
                    let w = &c.weights[(dt * c.kf + df) * c.cin * c.cout..][..c.cin * c.cout];
                    for (xv, w_row) in x.iter().zip(w.chunks_exact(c.cout)) {
                        for (a, wv) in acc.iter_mut().zip(w_row) {
                            *a += xv * wv;
                        }
                    }
                }
            }
            let out = &mut output[(t * o.f + f) * o.c..][..o.c];
            match c.activation {
                Some((alpha, floor)) => {
                    for (y, &a) in out.iter_mut().zip(&acc) {
                        *y = (if a < 0.0 { a * alpha } else { a }).max(floor);
                    }
                }
                None => out.copy_from_slice(&acc),
            }
        }
    }
    acc.zeroize();
}

/// Output rows `first..` of a max-pool.
fn pool(p: &Pool, input: &[f32], i: Shape, output: &mut [f32], o: Shape, first: usize) {
    for t in first..o.t {
        for f in 0..o.f {
            let out = &mut output[(t * o.f + f) * o.c..][..o.c];
            out.fill(f32::NEG_INFINITY);
            for dt in 0..p.pt {
                for df in 0..p.pf {
                    let x = &input[((t * p.pt + dt) * i.f + f * p.pf + df) * i.c..][..i.c];
                    for (y, &v) in out.iter_mut().zip(x) {
                        *y = y.max(v);
                    }
                }
            }
        }
    }
}

/// The graph as a chain of layers: an input reshape, then convolutions (each optionally
/// followed by LeakyReLU and `Max` with a constant) and max-pools, then an output reshape.
/// Returns the layers and the target shapes of the reshapes.
fn parse_chain(graph: &GraphProto) -> Result<(Vec<Layer>, Vec<Vec<i64>>), NetError> {
    let constant = |name: &str| graph.initializer.iter().find(|t| t.name == name);
    let mut layers = Vec::new();
    let mut reshapes = Vec::new();
    let mut nodes = graph.node.iter().peekable();
    let mut current = match graph.input.as_slice() {
        [input] => input.name.clone(),
        _ => return Err("the network does not have exactly one input".into()),
    };
    while let Some(node) = nodes.next() {
        if node.input.first() != Some(&current) || node.output.len() != 1 {
            return Err(format!("node {} ({}) is not part of a simple chain", node.name, node.op_type).into());
        }
        match node.op_type.as_str() {
            // Reshapes that only add or drop axes of size 1 around the chain: first from
            // [1, frames, bins, 1] to [1, 1, frames, bins], last from [1, 96, 1, 1] to [1, 1, 1, 96].
            // (checked by `EmbeddingNet::load` against the window and the last layer's shape).
            "Reshape" if layers.is_empty() || nodes.peek().is_none() => {
                let shape = node.input.get(1).and_then(|n| constant(n)).ok_or("a Reshape's shape is not a constant")?;
                reshapes.push(values::<i64>(shape)?);
            }
            "Conv" => {
                let mut c = parse_conv(node, &constant)?;
                if let Some(relu) = nodes.next_if(|n| n.op_type == "LeakyRelu") {
                    let alpha = float_attr(relu, "alpha").unwrap_or(0.01);
                    let (floor, end) = match nodes.next() {
                        Some(max) if max.op_type == "Max" && max.input.len() == 2 && max.input[0] == relu.output[0] => {
                            let t = constant(&max.input[1]).ok_or("a Max takes no constant")?;
                            match (values::<f32>(t)?.as_slice(), max.output.as_slice()) {
                                ([v], [end]) => (*v, end.clone()),
                                _ => return Err("a Max is not with a single constant value".into()),
                            }
                        }
                        _ => return Err("a LeakyRelu is not followed by Max with a constant".into()),
                    };
                    c.activation = Some((alpha, floor));
                    layers.push(Layer::Conv(c));
                    current = end;
                    continue;
                }
                layers.push(Layer::Conv(c));
            }
            "MaxPool" => {
                let kernel = ints_attr(node, "kernel_shape").ok_or("a MaxPool has no kernel_shape")?;
                let strides = ints_attr(node, "strides").unwrap_or_else(|| kernel.clone());
                let pads = ints_attr(node, "pads").unwrap_or_default();
                match (kernel.as_slice(), strides == kernel, pads.iter().all(|&p| p == 0)) {
                    ([pt, pf], true, true) if *pt > 0 && *pf > 0 => {
                        layers.push(Layer::Pool(Pool { pt: *pt as usize, pf: *pf as usize }));
                    }
                    _ => return Err("a MaxPool is not a plain non-overlapping 2-D pool".into()),
                }
            }
            other => return Err(format!("operator {other} is not one this network computes").into()),
        }
        current = node.output[0].clone();
    }
    match graph.output.as_slice() {
        [out] if out.name == current => {}
        _ => return Err("the chain does not end in the network's output".into()),
    }
    if !layers.iter().any(|l| matches!(l, Layer::Conv(_))) {
        return Err("the network has no convolution".into());
    }
    Ok((layers, reshapes))
}

fn parse_conv<'a>(node: &NodeProto, constant: &impl Fn(&str) -> Option<&'a TensorProto>) -> Result<Conv, NetError> {
    let weights = node.input.get(1).and_then(|n| constant(n)).ok_or("a Conv's weights are not a constant")?;
    let dims: Vec<usize> = weights.dims.iter().map(|&d| d as usize).collect();
    let [cout, cin, kt, kf] = dims[..] else { return Err("a Conv's weights are not 4-D".into()) };
    if ints_attr(node, "kernel_shape").is_some_and(|k| k != [kt as i64, kf as i64])
        || ints_attr(node, "strides").is_some_and(|s| s.iter().any(|&s| s != 1))
        || ints_attr(node, "dilations").is_some_and(|d| d.iter().any(|&d| d != 1))
        || ints_attr(node, "group").is_some_and(|g| g != [1])
        || node.attribute.iter().any(|a| a.name == "auto_pad" && !a.s.is_empty() && a.s != b"NOTSET")
    {
        return Err("a Conv has strides, dilations, groups or automatic padding".into());
    }
    let pad_f = match ints_attr(node, "pads").unwrap_or_else(|| vec![0; 4]).as_slice() {
        [0, l, 0, r] if l == r => *l as usize,
        _ => return Err("a Conv pads along time or unevenly".into()),
    };
    let raw = values::<f32>(weights)?;
    if raw.len() != cout * cin * kt * kf {
        return Err("a Conv's weights have the wrong size".into());
    }
    // [cout][cin][kt][kf] → [kt][kf][cin][cout]
    let mut w = vec![0.0; raw.len()];
    for o in 0..cout {
        for i in 0..cin {
            for t in 0..kt {
                for f in 0..kf {
                    w[((t * kf + f) * cin + i) * cout + o] = raw[((o * cin + i) * kt + t) * kf + f];
                }
            }
        }
    }
    let bias = match node.input.get(2).filter(|n| !n.is_empty()) {
        Some(name) => values::<f32>(constant(name).ok_or("a Conv's bias is not a constant")?)?,
        None => vec![0.0; cout],
    };
    if bias.len() != cout {
        return Err("a Conv's bias has the wrong size".into());
    }
    Ok(Conv { kt, kf, pad_f, cin, cout, weights: w, bias, activation: None })
}

fn ints_attr(node: &NodeProto, name: &str) -> Option<Vec<i64>> {
    node.attribute.iter().find(|a| a.name == name).map(|a| if a.ints.is_empty() { vec![a.i] } else { a.ints.clone() })
}

fn float_attr(node: &NodeProto, name: &str) -> Option<f32> {
    node.attribute.iter().find(|a| a.name == name).map(|a| a.f)
}

/// A constant tensor's values, decoded by tract-onnx; `Err` when they are not of type `T`.
fn values<T: Datum>(t: &TensorProto) -> Result<Vec<T>, NetError> {
    let tensor = load_tensor(&FopenDataResolver, t, None)
        .map_err(|e| NetError::Unreadable { what: format!("tensor {}", t.name), cause: e.into() })?;
    let values = tensor
        .as_plain_ram()
        .and_then(|view| view.as_slice::<T>().ok())
        .ok_or_else(|| format!("tensor {} is not {:?}", t.name, T::datum_type()))?;
    Ok(values.to_vec())
}

#[cfg(test)]
mod tests {
    use super::super::network::{Network, Role};
    use super::*;

    const FRAMES: usize = 76;
    const BINS: usize = 32;

    /// The model file from scripts/setup-test-env; the tests using it are ignored under plain
    /// `cargo test` and run by scripts/test.
    fn model() -> std::path::PathBuf {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/embedding_model.onnx");
        assert!(path.is_file(), "{} is missing: run scripts/setup-test-env (scripts/test does)", path.display());
        path
    }

    /// Deterministic values in the range of rescaled mel frames.
    fn frames(n: usize, seed: &mut u64) -> Vec<f32> {
        (0..n * BINS)
            .map(|_| {
                *seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                ((*seed >> 40) as f32 / (1u64 << 24) as f32) * 4.0 - 0.5
            })
            .collect()
    }

    fn assert_close(ours: &[f32], tract: &[f32], what: &str) {
        assert_eq!(ours.len(), tract.len());
        let worst = ours.iter().zip(tract).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        let scale = tract.iter().map(|v| v.abs()).fold(0.0f32, f32::max).max(1.0);
        assert!(worst <= 1e-4 * scale, "{what}: differs from tract by {worst} (values up to {scale})");
    }

    #[test]
    #[ignore = "needs the test environment (models): run scripts/test"]
    fn incremental_embeddings_equal_the_whole_network_run_by_tract() {
        let path = model();
        let mut ours = EmbeddingNet::load(&path, FRAMES, BINS).expect("openWakeWord's embedding model is a chain");
        assert_eq!((ours.output_len(), ours.step), (96, 8));
        let mut tract = Network::load(
            &path,
            Role { name: "speech embedding model", custom: false },
            |_| Ok(vec![1, FRAMES, BINS, 1]),
            96,
        )
        .expect("tract loads it");
        let mut seed = 7;
        for round in 0..2 {
            ours.reset(1.0);
            tract.input_mut().fill(1.0);
            // As after a reset: 5 frames first (computed in full), then 8 per block (incremental).
            for (block, n) in [5].into_iter().chain(std::iter::repeat_n(8, 40)).enumerate() {
                let new = frames(n, &mut seed);
                let window = tract.input_mut();
                window.copy_within(new.len().., 0);
                let tail = window.len() - new.len();
                window[tail..].copy_from_slice(&new);
                let expected = tract.run().expect("tract runs").values().to_vec();
                assert_close(ours.push(&new), &expected, &format!("round {round}, block {block}"));
            }
        }
        // A window written whole.
        let window = frames(FRAMES, &mut seed);
        ours.window_mut().copy_from_slice(&window);
        tract.input_mut().copy_from_slice(&window);
        let expected = tract.run().expect("tract runs").values().to_vec();
        assert_close(ours.run(), &expected, "whole window");
    }

    #[test]
    #[ignore = "needs the test environment (models): run scripts/test"]
    fn reset_wipes_the_window_and_every_layer() {
        let path = model();
        let mut net = EmbeddingNet::load(&path, FRAMES, BINS).expect("loads");
        let mut seed = 3;
        for _ in 0..3 {
            net.push(&frames(8, &mut seed));
        }
        net.reset(1.0);
        assert!(net.window.iter().all(|&v| v == 1.0));
        assert!(net.outputs.iter().all(|o| o.iter().all(|&v| v == 0.0)));
        assert!(!net.current, "the next block is computed in full");
    }

    #[test]
    #[ignore = "needs the test environment (models): run scripts/test"]
    fn other_networks_are_refused_with_a_reason() {
        let dir = model().parent().map(Path::to_owned).expect("models/ has a parent");
        let mel = EmbeddingNet::load(&dir.join("melspectrogram.onnx"), FRAMES, BINS);
        assert!(mel.is_err_and(|e| e.to_string().contains("not")), "the mel network is not this chain");
        let small = EmbeddingNet::load(&dir.join("embedding_model.onnx"), 40, BINS);
        assert!(small.is_err(), "a 40-frame window does not reach one embedding");
    }
}
