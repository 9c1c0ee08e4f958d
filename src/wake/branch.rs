//! A stand-in for tract's `IfThenElse` that plans its two branches once.
//!
//! openWakeWord's classifiers end in an ONNX `If` (a second, smaller network re-checks scores
//! of 0.5 and above). tract 0.23 evaluates `If` by cloning the chosen branch and building a new,
//! unoptimised plan for it on every run: about 0.7 ms per 80 ms block, ten times the rest of
//! the classifier. This op holds both branches as optimised plans instead; what it computes is
//! unchanged.

use std::sync::Arc;

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::{EvalContext, EvalOp, Op, StaticName, TypedOp};
use tract_onnx::tract_core::ops::logic::IfThenElse;
use tract_onnx::tract_core::{as_op, op_as_typed_op, op_out_of_plan};

/// `IfThenElse` with both branches planned up front.
#[derive(Debug, Clone)]
struct PlannedIfThenElse {
    /// The op it replaces, for its output facts and input mappings.
    original: IfThenElse,
    /// The optimised plan of `original.then_body`.
    then_plan: Arc<TypedSimplePlan>,
    /// The optimised plan of `original.else_body`.
    else_plan: Arc<TypedSimplePlan>,
}

impl PartialEq for PlannedIfThenElse {
    fn eq(&self, _other: &Self) -> bool {
        false // as tract's IfThenElse: never merged with another node
    }
}

impl Eq for PlannedIfThenElse {}

impl Op for PlannedIfThenElse {
    fn name(&self) -> StaticName {
        "PlannedIfThenElse".into()
    }

    op_as_typed_op!();
}

impl EvalOp for PlannedIfThenElse {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let (mapping, plan) = if inputs[0].cast_to_scalar::<bool>()? {
            (&self.original.then_input_mapping, &self.then_plan)
        } else {
            (&self.original.else_input_mapping, &self.else_plan)
        };
        let inputs: TVec<TValue> = mapping.iter().map(|&ix| inputs[ix].clone()).collect();
        plan.run(inputs)
    }
}

impl TypedOp for PlannedIfThenElse {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        self.original.output_facts(inputs)
    }

    as_op!();
}

/// Replaces every `IfThenElse` in an optimised `model` by one whose branches are optimised
/// plans. Returns how many were replaced.
pub(super) fn plan_branches(model: &mut TypedModel) -> TractResult<usize> {
    let mut replaced = 0;
    for id in 0..model.nodes().len() {
        let Some(ite) = model.node(id).op_as::<IfThenElse>() else { continue };
        let original = ite.clone();
        let then_plan = original.then_body.clone().into_optimized()?.into_runnable()?;
        let else_plan = original.else_body.clone().into_optimized()?.into_runnable()?;
        model.node_mut(id).op = Box::new(PlannedIfThenElse { original, then_plan, else_plan });
        replaced += 1;
    }
    Ok(replaced)
}
