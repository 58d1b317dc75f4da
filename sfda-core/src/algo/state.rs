//! Resumable run state: named tensors (networks, optimizer moments) as
//! safetensors, and the scalars (iteration, RNG, data cursor, loss log) as
//! JSON, each file written atomically. A run killed at any point resumes from
//! the last complete state.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;
use serde::{Deserialize, Serialize};

use crate::algo::cursor::Cursor;
use crate::data::write_atomic;
use crate::tensor::{Backend, Tensor};
use crate::{Error, Result};

/// Scalars of a run (everything that is not a tensor).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunState {
    /// Student steps done.
    pub iteration: usize,
    /// Warm-up steps done.
    pub warmup_done: usize,
    /// Next target batch.
    pub cursor: Cursor,
    /// The method's own scalars ([`crate::algo::AdaptMethod::scalars`]).
    #[serde(default)]
    pub method: serde_json::Value,
    /// One record per logged step.
    pub log: Vec<serde_json::Value>,
    /// Hash of the config, to refuse resuming with another one.
    pub config_hash: String,
    /// The backend's CPU thread count when the state was written (`None`
    /// where it cannot tell, and in states of older versions). A resume
    /// under the default thread policy goes on with it, because libtorch's
    /// results are bit-identical only at one thread count
    /// ([`crate::cpu_threads`]).
    #[serde(default)]
    pub cpu_threads: Option<usize>,
}

/// Writes named tensors to a safetensors file atomically.
pub fn save_tensors<B: Backend>(path: &Path, tensors: &[(String, Tensor<B>)]) -> Result<()> {
    save_tensors_with_metadata(path, tensors, None)
}

/// [`save_tensors`] with string metadata in the file's header, so tensors
/// and the scalars that describe them commit in one atomic rename.
pub fn save_tensors_with_metadata<B: Backend>(
    path: &Path,
    tensors: &[(String, Tensor<B>)],
    metadata: Option<HashMap<String, String>>,
) -> Result<()> {
    let mut host = Vec::with_capacity(tensors.len());
    for (name, t) in tensors {
        let bytes: Vec<u8> = t
            .detach()?
            .to_vec()?
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        host.push((name.clone(), t.shape(), bytes));
    }
    let mut views = Vec::with_capacity(host.len());
    for (name, shape, bytes) in &host {
        let v =
            TensorView::new(Dtype::F32, shape.clone(), bytes).map_err(|e| Error::Checkpoint {
                path: path.into(),
                msg: format!("{name}: {e}"),
            })?;
        views.push((name.as_str(), v));
    }
    let bytes = safetensors::serialize(views, metadata).map_err(|e| Error::Checkpoint {
        path: path.into(),
        msg: e.to_string(),
    })?;
    write_atomic(path, &bytes)
}

/// Reads every tensor of a safetensors file written by [`save_tensors`].
pub fn load_tensors<B: Backend>(
    path: &Path,
    dev: &B::Device,
) -> Result<BTreeMap<String, Tensor<B>>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| Error::Checkpoint {
        path: path.into(),
        msg: format!("not a safetensors file: {e}"),
    })?;
    let mut out = BTreeMap::new();
    for (name, view) in st.tensors() {
        if view.dtype() != Dtype::F32 {
            return Err(Error::Checkpoint {
                path: path.into(),
                msg: format!("{name}: expected F32, found {:?}", view.dtype()),
            });
        }
        let data: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        out.insert(name, Tensor::from_f32(&data, view.shape(), dev)?);
    }
    Ok(out)
}

/// Writes the scalar state as JSON, atomically.
pub fn save_run_state(path: &Path, state: &RunState) -> Result<()> {
    let text = serde_json::to_string(state)
        .map_err(|e| Error::msg(format!("serialising run state: {e}")))?;
    write_atomic(path, text.as_bytes())
}

/// Reads the scalar state.
pub fn load_run_state(path: &Path) -> Result<RunState> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::Checkpoint {
        path: path.into(),
        msg: format!("corrupt run state: {e}"),
    })
}
