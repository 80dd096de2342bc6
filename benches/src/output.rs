//! What a role reports: one JSON object per line on stdout (an `error` object, then exit 1,
//! when it cannot go on), and the order statistics the figures are made of.

use std::io::Write;

pub fn die(msg: &str) -> ! {
    out(&format!("{{\"error\":{:?}}}", msg));
    std::process::exit(1)
}

pub fn out(line: &str) {
    let mut o = std::io::stdout().lock();
    let _ = writeln!(o, "{line}");
    let _ = o.flush();
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((p / 100.0) * (sorted.len() - 1) as f64).round() as usize]
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    percentile(&v, 50.0)
}
