//! The backend's tensor and variable types: a candle value plus, for a
//! tracked tensor, the tape node that made it.

use std::fmt;
use std::sync::Arc;

use candle_core::Tensor as Value;

/// Input gradients of one node, one per input (`None`: not needed, or no
/// gradient flows there).
pub(crate) type Grads = Vec<Option<Value>>;

/// A node's backward rule: from the gradients of its outputs (`None` where
/// an output got none) and which inputs need a gradient, the input
/// gradients. Inputs that are not needed may be left `None`.
pub(crate) type BackwardFn =
    Box<dyn Fn(&[Option<Value>], &[bool]) -> sfda_core::Result<Grads> + Send + Sync>;

/// One recorded op (or a variable, as a leaf without inputs).
pub(crate) struct Node {
    /// Where each input came from (`None`: an untracked input).
    pub(crate) inputs: Vec<Option<Origin>>,
    /// How many outputs the op has.
    pub(crate) outputs: usize,
    /// `None` for a leaf (a variable).
    pub(crate) backward: Option<BackwardFn>,
}

impl Node {
    /// A variable's leaf.
    fn leaf() -> Arc<Node> {
        Arc::new(Node {
            inputs: Vec::new(),
            outputs: 1,
            backward: None,
        })
    }
}

/// Output `output` of `node`.
#[derive(Clone)]
pub(crate) struct Origin {
    pub(crate) node: Arc<Node>,
    pub(crate) output: usize,
}

impl Origin {
    /// The node's identity for the reverse pass (the graph is alive while
    /// it runs, so addresses are unique).
    pub(crate) fn key(&self) -> usize {
        node_key(&self.node)
    }
}

/// A node's identity: its address.
pub(crate) fn node_key(node: &Arc<Node>) -> usize {
    Arc::as_ptr(node) as usize
}

/// The candle backend's tensor: an untracked candle tensor (candle records
/// no graph for it) and, when it depends on a variable, the node of sfda's
/// tape that made it. Cloning is two reference counts.
#[derive(Clone)]
pub struct Tensor {
    pub(crate) value: Value,
    pub(crate) origin: Option<Origin>,
}

impl Tensor {
    /// An untracked tensor.
    pub(crate) fn constant(value: Value) -> Tensor {
        Tensor {
            value,
            origin: None,
        }
    }

    /// The candle value (never tracked by candle itself).
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// Whether the tensor is part of the tape (depends on a variable).
    pub fn is_tracked(&self) -> bool {
        self.origin.is_some()
    }

    /// Whether the tensor is a variable's own leaf (its storage changes
    /// when the variable is set).
    pub(crate) fn is_leaf(&self) -> bool {
        self.origin
            .as_ref()
            .is_some_and(|o| o.node.backward.is_none())
    }
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tensor")
            .field("shape", &self.value.dims())
            .field("tracked", &self.is_tracked())
            .finish()
    }
}

/// The candle backend's trainable tensor: candle's variable (its storage is
/// updated in place) and the leaf that identifies it on the tape.
#[derive(Clone)]
pub struct Var {
    pub(crate) var: candle_core::Var,
    pub(crate) leaf: Arc<Node>,
}

impl Var {
    /// A variable holding a copy of `value`.
    pub(crate) fn new(value: &Value) -> candle_core::Result<Var> {
        // `detach` never returns a candle variable, so this always copies.
        Ok(Var {
            var: candle_core::Var::from_tensor(&value.detach())?,
            leaf: Node::leaf(),
        })
    }

    /// The variable as a tracked tensor: its storage is shared, so later
    /// updates of the variable show through.
    pub(crate) fn tensor(&self) -> Tensor {
        Tensor {
            value: self.var.as_tensor().detach(),
            origin: Some(Origin {
                node: self.leaf.clone(),
                output: 0,
            }),
        }
    }
}

impl fmt::Debug for Var {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Var")
            .field("shape", &self.var.dims())
            .finish()
    }
}
