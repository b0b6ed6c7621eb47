//! `vadscope bench pipeline CKPT VIDEO`: each scoring stage alone (decode,
//! flow, model) and the overlapped pipeline, to check that the pipeline runs
//! close to its slowest stage.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use vadscope::dataset::{open_for_model, FlowStage};
use vadscope::model::select_device;
use vadscope::score::Scorer;
use vadscope::Frame;

/// Arguments of `vadscope bench pipeline`.
#[derive(clap::Args)]
pub struct PipelineArgs {
    /// A checkpoint written by `vadscope train`.
    pub checkpoint: PathBuf,
    /// A video file or frame folder to score.
    pub video: PathBuf,
    /// Timed runs of each measurement (1 to 1000); medians are reported.
    #[arg(long, default_value_t = 3, value_parser = super::args::int(1usize, 1000))]
    pub runs: usize,
    /// Use a GPU when built with CUDA and one is available.
    #[arg(long)]
    pub gpu: bool,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Measures decode, flow and model alone, then the pipeline, interleaved per
/// run; prints frames/s of each and the pipeline's ratio to the slowest stage.
pub fn run(args: PipelineArgs) -> anyhow::Result<()> {
    let (device, note) = select_device(args.gpu);
    if let Some(note) = note {
        eprintln!("{note}");
    }
    let mut scorer = Scorer::load(&args.checkpoint, &device)?;
    let cfg = scorer.config().clone();
    let t = cfg.input.frames;
    let (mut decode, mut flow, mut model, mut piped) = (vec![], vec![], vec![], vec![]);
    let mut n = 0;
    for run in 0..args.runs {
        let start = Instant::now();
        let mut v = open_for_model(&args.video, &cfg.input)?;
        n = v.len();
        anyhow::ensure!(
            n > t,
            "{}: {n} frames, the model needs more than {t}",
            args.video.display()
        );
        let mut scratch = Frame::default();
        let mut frames = Vec::with_capacity(n);
        for i in 0..n {
            let mut f = Frame::default();
            v.read_f32_into(i, &mut scratch, &mut f)?;
            frames.push(f);
        }
        decode.push(n as f64 / start.elapsed().as_secs_f64());

        let start = Instant::now();
        let mut stage = FlowStage::for_model(&cfg.input)?;
        let mut flows = Vec::with_capacity(n - 1);
        for f in &frames {
            flows.extend(stage.push(f)?);
        }
        flow.push((n - 1) as f64 / start.elapsed().as_secs_f64());

        let start = Instant::now();
        let batch = cfg.train.batch_size.max(1);
        let starts: Vec<usize> = (0..n - t).collect();
        for chunk in starts.chunks(batch) {
            let windows: Vec<_> = chunk
                .iter()
                .map(|&s| (&frames[s..s + t + 1], &flows[s..s + t]))
                .collect();
            scorer.score_clips(&windows, chunk[0])?;
        }
        model.push((n - t) as f64 / start.elapsed().as_secs_f64());

        let start = Instant::now();
        let outcome = scorer.score_stream(
            &args.video,
            &AtomicBool::new(false),
            &mut |_| {},
            &mut |_| {},
        )?;
        piped.push(n as f64 / start.elapsed().as_secs_f64());
        let tm = outcome.times;
        println!(
            "run {run}: decode {:.1} flow {:.1} model {:.1} pipeline {:.1} frames/s (pipeline busy: decode {:.2} s, flow {:.2} s, model {:.2} s, wall {:.2} s)",
            decode[run], flow[run], model[run], piped[run],
            tm.decode.as_secs_f64(), tm.flow.as_secs_f64(), tm.model.as_secs_f64(), tm.wall.as_secs_f64()
        );
    }
    let (d, f, m, p) = (median(decode), median(flow), median(model), median(piped));
    let slowest = d.min(f).min(m);
    println!(
        "{n} frames, {} threads: decode {d:.1}, flow {f:.1}, model {m:.1} frames/s alone",
        rayon::current_num_threads()
    );
    println!(
        "pipeline {p:.1} frames/s = {:.2}x the slowest stage ({slowest:.1} frames/s)",
        p / slowest
    );
    Ok(())
}
