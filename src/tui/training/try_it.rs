//! "Try it": the trained and the base model answer the focused record's instruction on a worker
//! thread, streamed piece by piece into the panel beside the dataset's response. A new request
//! cancels the one in flight; loaded models are kept for the next request.

use crate::model::{GenerateParams, LocalModel, StopReason};
use crate::train::try_it::answer_with;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::SystemTime;

/// Index of the trained model's side.
pub const TRAINED: usize = 0;
/// Index of the base model's side.
pub const BASE: usize = 1;

/// Where one answer is.
#[derive(Clone, Debug, PartialEq)]
pub enum SideState {
    /// Queued behind the other model.
    Waiting,
    /// Loading the weights.
    Loading,
    /// Producing tokens.
    Generating,
    /// Finished for this reason.
    Done(StopReason),
    /// Could not load or generate.
    Failed(String),
    /// No model to ask (the reason).
    Missing(String),
}

/// One model's answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Side {
    /// Which model (shown as the column title).
    pub label: String,
    /// The text so far.
    pub text: String,
    /// Where it is.
    pub state: SideState,
}

impl Side {
    fn new(label: String) -> Side {
        Side { label, text: String::new(), state: SideState::Waiting }
    }

    /// Whether the answer is still coming.
    pub fn busy(&self) -> bool {
        matches!(self.state, SideState::Waiting | SideState::Loading | SideState::Generating)
    }
}

struct Request {
    generation: u64,
    instruction: String,
    input: String,
    /// (side, model dir); `None` is the default model.
    models: Vec<(usize, Option<PathBuf>)>,
    params: GenerateParams,
    cancel: Arc<AtomicBool>,
}

enum Event {
    Loading,
    Generating,
    Piece(String),
    Done(StopReason),
    Failed(String),
}

/// A piece of an answer from the worker (taken in by [`TryState::absorb`]).
pub struct Msg {
    generation: u64,
    side: usize,
    event: Event,
}

/// The last "try it" and the worker answering it.
pub struct TryState {
    /// Position of the record asked about.
    pub record: Option<usize>,
    /// Its instruction.
    pub instruction: String,
    /// Its input.
    pub input: String,
    /// The dataset's response.
    pub reference: String,
    /// The trained and the base model's answers ([`TRAINED`], [`BASE`]).
    pub sides: [Side; 2],
    generation: u64,
    cancel: Arc<AtomicBool>,
    worker: Option<(Sender<Request>, Receiver<Msg>)>,
}

impl Default for TryState {
    fn default() -> Self {
        TryState {
            record: None,
            instruction: String::new(),
            input: String::new(),
            reference: String::new(),
            sides: [Side::new("trained".into()), Side::new("base".into())],
            generation: 0,
            cancel: Arc::new(AtomicBool::new(false)),
            worker: None,
        }
    }
}

/// A model folder as a short label: its last two path components.
pub fn short_path(p: &Path) -> String {
    let parts: Vec<String> = p.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    parts[parts.len().saturating_sub(2)..].join("/")
}

impl TryState {
    /// Asks both models about a record (cancelling what is in flight). `trained`: the trained
    /// model's folder, or why there is none; `base`: None for the default model.
    pub fn start(
        &mut self,
        record: (usize, String, String, String),
        trained: Result<PathBuf, String>,
        base: Option<PathBuf>,
        params: GenerateParams,
    ) {
        self.cancel.store(true, Ordering::Relaxed);
        self.cancel = Arc::new(AtomicBool::new(false));
        self.generation += 1;
        let (pos, instruction, input, reference) = record;
        self.record = Some(pos);
        (self.instruction, self.input, self.reference) = (instruction, input, reference);
        let base_label = base.as_deref().map_or("default model".to_string(), short_path);
        let mut models = Vec::new();
        let trained_side = match trained {
            Ok(dir) => {
                models.push((TRAINED, Some(dir.clone())));
                Side::new(short_path(&dir))
            }
            Err(why) => Side { state: SideState::Missing(why), ..Side::new("trained".into()) },
        };
        models.push((BASE, base));
        self.sides = [trained_side, Side::new(format!("base: {base_label}"))];
        let (tx, _) = self.worker.get_or_insert_with(spawn_worker);
        let req = Request {
            generation: self.generation,
            instruction: self.instruction.clone(),
            input: self.input.clone(),
            models,
            params,
            cancel: self.cancel.clone(),
        };
        if tx.send(req).is_err() {
            for s in self.sides.iter_mut().filter(|s| s.busy()) {
                s.state = SideState::Failed("the generation thread is gone".into());
            }
        }
    }

    /// Stops the generation in flight.
    pub fn stop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// Whether an answer is still coming.
    pub fn busy(&self) -> bool {
        self.record.is_some() && self.sides.iter().any(Side::busy)
    }

    /// What the worker sent since the last call (the event loop turns it into actions).
    pub fn drain(&self) -> Vec<Msg> {
        self.worker.as_ref().map(|(_, rx)| rx.try_iter().collect()).unwrap_or_default()
    }

    /// Takes in one streamed piece (pieces of an earlier question are dropped).
    pub fn absorb(&mut self, m: Msg) {
        if m.generation != self.generation {
            return;
        }
        let side = &mut self.sides[m.side];
        match m.event {
            Event::Loading => side.state = SideState::Loading,
            Event::Generating => side.state = SideState::Generating,
            Event::Piece(p) => side.text.push_str(&p),
            Event::Done(r) => side.state = SideState::Done(r),
            Event::Failed(e) => side.state = SideState::Failed(e),
        }
    }
}

fn spawn_worker() -> (Sender<Request>, Receiver<Msg>) {
    let (req_tx, req_rx) = channel::<Request>();
    let (tx, rx) = channel();
    std::thread::Builder::new()
        .name("sift-try-it".into())
        .spawn(move || worker(&req_rx, &tx))
        .expect("spawn the try-it thread");
    (req_tx, rx)
}

/// Models kept loaded: (folder, weights modified time, model).
type Cache = Vec<(PathBuf, Option<SystemTime>, Arc<LocalModel>)>;

fn weights_time(dir: &Path) -> Option<SystemTime> {
    ["model.safetensors", "model.safetensors.index.json"]
        .iter()
        .find_map(|f| std::fs::metadata(dir.join(f)).and_then(|m| m.modified()).ok())
}

fn load(cache: &mut Cache, dir: &Path) -> anyhow::Result<Arc<LocalModel>> {
    let stamp = weights_time(dir);
    if let Some((_, _, m)) = cache.iter().find(|(d, t, _)| d == dir && *t == stamp) {
        return Ok(m.clone());
    }
    let m = Arc::new(LocalModel::load(dir)?);
    cache.retain(|(d, _, _)| d != dir);
    cache.push((dir.to_path_buf(), stamp, m.clone()));
    if cache.len() > 2 {
        cache.remove(0);
    }
    Ok(m)
}

fn worker(requests: &Receiver<Request>, tx: &Sender<Msg>) {
    let mut cache: Cache = Vec::new();
    while let Ok(mut req) = requests.recv() {
        // Only the newest request matters.
        while let Ok(newer) = requests.try_recv() {
            req = newer;
        }
        let generation = req.generation;
        for (side, dir) in &req.models {
            let send = |event| tx.send(Msg { generation, side: *side, event }).is_ok();
            if req.cancel.load(Ordering::Relaxed) {
                send(Event::Done(StopReason::Cancelled));
                continue;
            }
            send(Event::Loading);
            let dir = match dir.clone().map_or_else(crate::paths::default_model_dir, Ok) {
                Ok(d) => d,
                Err(e) => {
                    send(Event::Failed(format!("{e:#}")));
                    continue;
                }
            };
            let answered = load(&mut cache, &dir).and_then(|m| {
                send(Event::Generating);
                answer_with(
                    &m,
                    &req.instruction,
                    &req.input,
                    &req.params,
                    |p| {
                        send(Event::Piece(p.to_string()));
                    },
                    &req.cancel,
                )
            });
            match answered {
                Ok(g) => send(Event::Done(g.stop)),
                Err(e) => send(Event::Failed(format!("{e:#}"))),
            };
        }
    }
}
