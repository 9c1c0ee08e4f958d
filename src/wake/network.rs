//! One ONNX network run by tract: loaded for a fixed input shape, optimised once, then run
//! again and again on an input tensor that is kept and rewritten in place.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::Factoid;
use tract_onnx::tract_hir::internal::DimLike;
use zeroize::Zeroize;

use super::WakeError;

/// A loaded, optimised network with its own reusable state and input tensor.
pub(super) struct Network {
    /// The model file, for messages.
    path: PathBuf,
    /// tract's per-run state, kept so that it is not rebuilt for every block.
    state: TypedSimpleState,
    /// The input tensor, written in place before each run. Shared with tract only during a
    /// run, so it is normally exclusive here and rewriting it does not allocate.
    input: Arc<Tensor>,
}

/// What a network file is for, for messages and for checking where it came from.
#[derive(Debug, Clone, Copy)]
pub(super) struct Role {
    /// Human name, e.g. "mel-spectrogram model".
    pub(super) name: &'static str,
    /// Whether the user named the file (`[wake] model = "….onnx"`).
    pub(super) custom: bool,
}

impl Network {
    /// Loads `path`, fixes its single input to `f32` of the shape `shape_for` picks from the
    /// declared one (`None` for symbolic dimensions; `Err` says what does not fit), optimises
    /// it and checks that its first output has `output_len` values.
    pub(super) fn load(
        path: &Path,
        role: Role,
        shape_for: impl FnOnce(&[Option<usize>]) -> Result<Vec<usize>, String>,
        output_len: usize,
    ) -> Result<Self, WakeError> {
        if !path.is_file() {
            return Err(WakeError::MissingFile { role: role.name, path: path.to_owned(), custom: role.custom });
        }
        let broken = |e: TractError| WakeError::Broken {
            role: role.name,
            path: path.to_owned(),
            cause: e.into(),
            custom: role.custom,
        };
        let model = tract_onnx::onnx().model_for_path(path).map_err(broken)?;
        let inputs = model.input_outlets().map_err(broken)?.len();
        if inputs != 1 {
            return Err(WakeError::WrongShape {
                role: role.name,
                path: path.to_owned(),
                detail: format!("it has {inputs} inputs, not 1"),
            });
        }
        let declared: Vec<Option<usize>> = model
            .input_fact(0)
            .map_err(broken)?
            .shape
            .dims()
            .map(|d| d.concretize().and_then(|d| d.to_usize().ok()))
            .collect();
        let shape = shape_for(&declared).map_err(|detail| WakeError::WrongShape {
            role: role.name,
            path: path.to_owned(),
            detail,
        })?;
        let mut optimized = model
            .with_input_fact(0, f32::fact(&shape).into())
            .and_then(|m| m.into_optimized())
            .map_err(|e| WakeError::WrongShape {
                role: role.name,
                path: path.to_owned(),
                detail: format!("it does not accept an input of shape {shape:?} ({e:#})"),
            })?;
        super::branch::plan_branches(&mut optimized).map_err(broken)?;
        let plan = optimized.into_runnable().map_err(broken)?;
        let state = plan.spawn().map_err(broken)?;
        let input = Arc::new(Tensor::zero::<f32>(&shape).map_err(broken)?);
        let mut network = Network { path: path.to_owned(), state, input };
        let out = network.run().map_err(broken)?;
        let len = out.len();
        if len != output_len {
            return Err(WakeError::WrongShape {
                role: role.name,
                path: path.to_owned(),
                detail: format!("its output has {len} values, expected {output_len}"),
            });
        }
        Ok(network)
    }

    /// The input tensor's values, to be rewritten before [`Network::run`].
    #[allow(clippy::expect_used, reason = "Network::load creates the input as a contiguous f32 tensor")]
    pub(super) fn input_mut(&mut self) -> &mut [f32] {
        // Exclusive except in the unlikely case tract kept a reference after a run; then this
        // clones once and the clone is ours from there on.
        Arc::make_mut(&mut self.input)
            .to_plain_array_view_mut::<f32>()
            .ok()
            .and_then(|view| view.into_slice())
            .expect("the input tensor is a contiguous f32 tensor created in Network::load")
    }

    /// The input tensor's values.
    #[allow(clippy::expect_used, reason = "Network::load creates the input as a contiguous f32 tensor")]
    pub(super) fn input(&self) -> &[f32] {
        self.input
            .as_plain_ram()
            .and_then(|view| view.as_slice::<f32>().ok())
            .expect("the input tensor is a contiguous f32 tensor created in Network::load")
    }

    /// Runs the network on the current input and returns its first output.
    pub(super) fn run(&mut self) -> TractResult<Output> {
        let mut outputs = self.state.run(tvec![TValue::from_const(Arc::clone(&self.input))])?;
        if outputs.is_empty() {
            bail!("{} produced no output", self.path.display());
        }
        let value = outputs.swap_remove(0).into_arc_tensor();
        value.as_plain_ram().context("output not in memory")?.as_slice::<f32>()?;
        Ok(Output(value))
    }

    /// The model file.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Overwrites the input tensor with zeros, when tract holds no other reference to it.
    pub(super) fn wipe_input(&mut self) {
        if let Some(view) = Arc::get_mut(&mut self.input)
            .and_then(|t| t.to_plain_array_view_mut::<f32>().ok())
            .and_then(|v| v.into_slice())
        {
            view.zeroize();
        }
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        self.wipe_input();
    }
}

/// A network's output tensor (checked to be plain `f32` in memory). Wiped when dropped, as it
/// is derived from audio.
pub(super) struct Output(Arc<Tensor>);

impl Output {
    /// The output's values.
    #[allow(clippy::expect_used, reason = "Network::run only builds an Output from a plain f32 tensor")]
    pub(super) fn values(&self) -> &[f32] {
        self.0
            .as_plain_ram()
            .and_then(|view| view.as_slice::<f32>().ok())
            .expect("checked in Network::run: a plain f32 tensor in memory")
    }

    /// How many values the output holds.
    pub(super) fn len(&self) -> usize {
        self.values().len()
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        if let Some(values) =
            Arc::get_mut(&mut self.0).and_then(|t| t.to_plain_array_view_mut::<f32>().ok()).and_then(|v| v.into_slice())
        {
            values.zeroize();
        }
    }
}
