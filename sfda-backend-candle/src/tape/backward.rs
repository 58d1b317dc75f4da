//! The reverse pass over sfda's tape.
//!
//! Unlike candle's `backward`, which gives every tracked tensor a zeroed
//! gradient and adds each incoming one into it (a full-size zero fill and a
//! full-size add per node, on the calling thread), this pass moves a node's
//! first incoming gradient in as it is and adds only where a tensor has
//! several consumers. It also visits only the nodes on a path to a wanted
//! variable, and tells each backward rule which of its inputs lead to one,
//! so a frozen network's weight gradients are never formed.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use candle_core::Tensor as Value;
use sfda_core::{Error, Result};

use super::tensor::{node_key, Node, Tensor, Var};
use crate::error::CandleResultExt;

/// The nodes `root` depends on, inputs before the nodes that use them, and
/// for each node whether it leads to a variable in `wanted`.
fn sorted(root: &Arc<Node>, wanted: &HashSet<usize>) -> (Vec<Arc<Node>>, HashMap<usize, bool>) {
    let mut order = Vec::new();
    let mut leads: HashMap<usize, bool> = HashMap::new();
    let mut seen: HashSet<usize> = HashSet::from([node_key(root)]);
    // Iterative depth-first search: the graphs of deep networks would
    // overflow a recursive one.
    let mut stack: Vec<(Arc<Node>, usize)> = vec![(root.clone(), 0)];
    while let Some((node, next)) = stack.last_mut() {
        if let Some(input) = node.inputs.get(*next) {
            *next += 1;
            if let Some(o) = input {
                if seen.insert(o.key()) {
                    let child = o.node.clone();
                    stack.push((child, 0));
                }
            }
            continue;
        }
        let (node, _) = stack.pop().expect("non-empty stack");
        let key = node_key(&node);
        let lead = match node.backward {
            None => wanted.contains(&key),
            Some(_) => node.inputs.iter().flatten().any(|o| leads[&o.key()]),
        };
        leads.insert(key, lead);
        order.push(node);
    }
    (order, leads)
}

/// The gradients of the scalar `loss` with respect to `vars` (`None` for a
/// variable `loss` does not depend on).
pub(crate) fn grad(loss: &Tensor, vars: &[&Var]) -> Result<Vec<Option<Value>>> {
    let op = "grad";
    let Some(root) = &loss.origin else {
        return Ok(vec![None; vars.len()]);
    };
    let wanted: HashSet<usize> = vars.iter().map(|v| node_key(&v.leaf)).collect();
    let (order, leads) = sorted(&root.node, &wanted);
    let mut grads: HashMap<(usize, usize), Value> = HashMap::new();
    grads.insert((root.key(), root.output), loss.value.ones_like().op(op)?);
    for node in order.iter().rev() {
        let key = node_key(node);
        let Some(backward) = &node.backward else {
            continue; // a leaf: its gradient stays in `grads`
        };
        if !leads[&key] {
            continue;
        }
        let outputs: Vec<Option<Value>> =
            (0..node.outputs).map(|i| grads.remove(&(key, i))).collect();
        if outputs.iter().all(Option::is_none) {
            continue;
        }
        let needs: Vec<bool> = node
            .inputs
            .iter()
            .map(|o| o.as_ref().is_some_and(|o| leads[&o.key()]))
            .collect();
        let input_grads = backward(&outputs, &needs)?;
        drop(outputs);
        if input_grads.len() != node.inputs.len() {
            return Err(Error::Backend {
                backend: crate::error::BACKEND,
                op,
                msg: format!(
                    "a backward rule gave {} gradients for {} inputs",
                    input_grads.len(),
                    node.inputs.len()
                ),
            });
        }
        for ((input, g), &need) in node.inputs.iter().zip(input_grads).zip(&needs) {
            let (Some(o), Some(g), true) = (input, g, need) else {
                continue;
            };
            match grads.entry((o.key(), o.output)) {
                Entry::Vacant(e) => {
                    e.insert(g);
                }
                Entry::Occupied(mut e) => {
                    let sum = e.get().add(&g).op(op)?;
                    e.insert(sum);
                }
            }
        }
    }
    vars.iter()
        .map(|v| match grads.remove(&(node_key(&v.leaf), 0)) {
            Some(g) if g.dims() != v.var.dims() => Err(Error::Backend {
                backend: crate::error::BACKEND,
                op,
                msg: format!(
                    "gradient of shape {:?} for a variable of shape {:?}",
                    g.dims(),
                    v.var.dims()
                ),
            }),
            g => Ok(g),
        })
        .collect()
}
