//! Latency (`emz-bench sub --mode lat`): from `t_out` at the publisher to the etale being
//! visible here, one sample per etale.

use crate::output::{out, percentile};
use crate::roles::Sub;
use emyzelium::now_us;
use std::time::{Duration, Instant};

pub fn measure(s: &mut dyn Sub, secs: f64, warm: f64) {
    let mut lats: Vec<f64> = Vec::with_capacity(100_000);
    let mut first = true;
    let t0 = Instant::now();
    let dur = Duration::from_secs_f64(secs + warm);
    while t0.elapsed() < dur {
        s.poll(0, &mut |t, t_out, _| {
            if t == b"b" {
                let l = (now_us() - t_out) as f64;
                if first {
                    first = false; // the first one may have waited for a subscription
                } else {
                    lats.push(l);
                }
            }
        });
    }
    // Drop the warm-up part (at 1000/s: `warm` seconds' worth).
    let skip = ((warm * 1000.0) as usize).min(lats.len() / 2);
    let mut v = lats.split_off(skip);
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    out(&format!(
        "{{\"n\":{},\"p50\":{:.1},\"p99\":{:.1},\"p999\":{:.1},\"max\":{:.1}}}",
        v.len(),
        percentile(&v, 50.0),
        percentile(&v, 99.0),
        percentile(&v, 99.9),
        v.last().copied().unwrap_or(f64::NAN)
    ));
}
