//! Collecting figures, checking targets, printing the table, and writing `summary.json` and the
//! Markdown report.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::{Map, Value, json};

/// How a figure is compared with its target.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    AtMost(f64),
    AtLeast(f64),
    Exactly(f64),
}

impl Target {
    pub fn check(self, v: f64) -> bool {
        match self {
            Target::AtMost(t) => v <= t,
            Target::AtLeast(t) => v >= t,
            Target::Exactly(t) => v == t,
        }
    }

    fn describe(self) -> String {
        match self {
            Target::AtMost(t) => format!("≤ {}", fmt_num(t)),
            Target::AtLeast(t) => format!("≥ {}", fmt_num(t)),
            Target::Exactly(t) => format!("= {}", fmt_num(t)),
        }
    }
}

/// One named figure (a key of `summary.json`).
#[derive(Debug, Clone)]
pub struct Figure {
    pub key: &'static str,
    pub value: Option<f64>,
    pub unit: &'static str,
    pub target: Option<Target>,
    /// A short explanation shown next to the value (e.g. "ours 41 µs / bare 38 µs").
    pub note: String,
}

impl Figure {
    pub fn new(key: &'static str, value: Option<f64>, unit: &'static str) -> Figure {
        Figure {
            key,
            value: value.filter(|v| v.is_finite()),
            unit,
            target: None,
            note: String::new(),
        }
    }

    pub fn note(mut self, note: impl Into<String>) -> Figure {
        self.note = note.into();
        self
    }

    /// PASS / FAIL / SKIP (no value) / "" (no target).
    pub fn verdict(&self) -> &'static str {
        match (self.target, self.value) {
            (None, _) => "",
            (Some(_), None) => "SKIP",
            (Some(t), Some(v)) if t.check(v) => "PASS",
            _ => "FAIL",
        }
    }
}

/// The result of one section of the benchmark.
#[derive(Debug, Clone)]
pub struct Section {
    pub id: &'static str,
    pub title: &'static str,
    pub figures: Vec<Figure>,
    /// Everything else measured (medians, p90s, counts, settings), nested under `details`.
    pub details: Value,
    /// Notes: how it was measured, why something was skipped.
    pub notes: Vec<String>,
}

impl Section {
    pub fn new(id: &'static str, title: &'static str) -> Section {
        Section {
            id,
            title,
            figures: Vec::new(),
            details: Value::Object(Map::new()),
            notes: Vec::new(),
        }
    }

    /// Declare the section's figures up front (all null until [`Section::set`]), so a section
    /// that fails early still lists them, with their targets, as SKIP.
    pub fn expect(mut self, figures: &[(&'static str, &'static str, Option<Target>)]) -> Section {
        for (key, unit, target) in figures {
            let mut f = Figure::new(key, None, unit);
            f.target = *target;
            self.figures.push(f);
        }
        self
    }

    /// Set a declared figure's value and note (or add it when undeclared).
    pub fn set(&mut self, key: &'static str, value: Option<f64>, note: impl Into<String>) {
        let value = value.filter(|v| v.is_finite());
        match self.figures.iter_mut().find(|f| f.key == key) {
            Some(f) => {
                f.value = value;
                f.note = note.into();
            }
            None => self.figures.push(Figure::new(key, value, "").note(note)),
        }
    }

    /// A section that could not (fully) run: the reason goes into the notes.
    pub fn failed(mut self, why: String) -> Section {
        self.notes.push(why);
        self
    }

    pub fn detail(&mut self, key: &str, value: impl serde::Serialize) {
        if let Value::Object(m) = &mut self.details {
            m.insert(
                key.to_owned(),
                serde_json::to_value(value).unwrap_or(Value::Null),
            );
        }
    }
}

/// The machine the numbers come from.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Machine {
    pub nproc: usize,
    pub cpu_model: String,
    pub mem_total_gib: f64,
    pub kernel: String,
    pub rustc: String,
    pub loadavg_at_start: String,
}

impl Machine {
    pub fn describe() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_else(|| "unknown".into());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let mem_kib = meminfo
            .lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0);
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_owned())
            .unwrap_or_else(|_| "unknown".into());
        let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
        let rustc = std::process::Command::new(rustc)
            .arg("-V")
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_else(|| "unknown".into());
        Machine {
            nproc: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            cpu_model,
            mem_total_gib: (mem_kib / 1024.0 / 1024.0 * 10.0).round() / 10.0,
            kernel,
            rustc,
            loadavg_at_start: std::fs::read_to_string("/proc/loadavg")
                .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
                .unwrap_or_default(),
        }
    }
}

/// The whole run.
#[derive(Debug, Clone)]
pub struct Report {
    pub mode: &'static str,
    pub machine: Machine,
    pub started_unix: u64,
    pub elapsed_s: f64,
    pub sections: Vec<Section>,
}

impl Report {
    pub fn figures(&self) -> impl Iterator<Item = &Figure> {
        self.sections.iter().flat_map(|s| s.figures.iter())
    }

    /// Whether every figure with a target and a value meets it (skipped ones do not fail).
    pub fn all_pass(&self) -> bool {
        self.figures().all(|f| f.verdict() != "FAIL")
    }

    pub fn to_json(&self) -> Value {
        let mut top = Map::new();
        top.insert("mode".into(), json!(self.mode));
        for f in self.figures() {
            top.insert(f.key.into(), f.value.map_or(Value::Null, |v| json!(v)));
        }
        let targets: Vec<Value> = self
            .figures()
            .filter_map(|f| {
                let t = f.target?;
                Some(json!({
                    "figure": f.key,
                    "value": f.value,
                    "target": t.describe(),
                    "verdict": f.verdict(),
                }))
            })
            .collect();
        top.insert("targets".into(), Value::Array(targets));
        top.insert("all_pass".into(), json!(self.all_pass()));
        top.insert(
            "machine".into(),
            serde_json::to_value(&self.machine).unwrap(),
        );
        top.insert("started_unix".into(), json!(self.started_unix));
        top.insert("elapsed_s".into(), json!(self.elapsed_s));
        let mut sections = Map::new();
        for s in &self.sections {
            sections.insert(
                s.id.into(),
                json!({ "title": s.title, "details": s.details, "notes": s.notes }),
            );
        }
        top.insert("sections".into(), Value::Object(sections));
        Value::Object(top)
    }

    /// The console table.
    pub fn table(&self) -> String {
        let mut rows = vec![[
            "section".to_owned(),
            "figure".to_owned(),
            "value".to_owned(),
            "target".to_owned(),
            "result".to_owned(),
        ]];
        for s in &self.sections {
            for f in &s.figures {
                rows.push([
                    s.id.to_owned(),
                    f.key.to_owned(),
                    fmt_value(f),
                    f.target.map(|t| t.describe()).unwrap_or_default(),
                    f.verdict().to_owned(),
                ]);
            }
        }
        let widths: Vec<usize> = (0..5)
            .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
            .collect();
        let mut out = String::new();
        for (n, r) in rows.iter().enumerate() {
            for (i, cell) in r.iter().enumerate() {
                let pad = widths[i] - cell.chars().count();
                let _ = write!(out, "{cell}{}  ", " ".repeat(pad));
            }
            out.push('\n');
            if n == 0 {
                let total: usize = widths.iter().map(|w| w + 2).sum();
                out.push_str(&"-".repeat(total));
                out.push('\n');
            }
        }
        for s in &self.sections {
            for note in &s.notes {
                let _ = writeln!(out, "[{}] {note}", s.id);
            }
        }
        out
    }

    /// The Markdown results block (machine + a table per section).
    pub fn markdown(&self) -> String {
        let m = &self.machine;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Run: `cargo xtask bench{}` ({} mode, {:.0} s).\n",
            if self.mode == "quick" { " --quick" } else { "" },
            self.mode,
            self.elapsed_s
        );
        let _ = writeln!(out, "| machine | |\n|---|---|");
        let _ = writeln!(out, "| nproc | {} |", m.nproc);
        let _ = writeln!(out, "| CPU | {} |", m.cpu_model);
        let _ = writeln!(out, "| memory | {} GiB |", m.mem_total_gib);
        let _ = writeln!(out, "| kernel | {} |", m.kernel);
        let _ = writeln!(out, "| rustc | {} |", m.rustc);
        let _ = writeln!(out, "| load average at start | {} |", m.loadavg_at_start);
        for s in &self.sections {
            let _ = writeln!(out, "\n### {}\n", s.title);
            let _ = writeln!(
                out,
                "| figure | value | target | result | notes |\n|---|---|---|---|---|"
            );
            for f in &s.figures {
                let _ = writeln!(
                    out,
                    "| `{}` | {} | {} | {} | {} |",
                    f.key,
                    fmt_value(f),
                    f.target.map(|t| t.describe()).unwrap_or_else(|| "–".into()),
                    if f.verdict().is_empty() {
                        "–"
                    } else {
                        f.verdict()
                    },
                    f.note.replace('|', "\\|"),
                );
            }
            for note in &s.notes {
                let _ = writeln!(out, "\n{note}");
            }
        }
        out
    }

    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let json = serde_json::to_string_pretty(&self.to_json()).unwrap();
        std::fs::write(dir.join("summary.json"), json + "\n")?;
        std::fs::write(dir.join("report.md"), self.markdown())?;
        Ok(())
    }
}

/// Replace the text between the `<!-- bench:results:begin -->` and `<!-- bench:results:end -->`
/// markers of a Markdown file.
pub fn update_docs(path: &Path, block: &str) -> std::io::Result<bool> {
    const BEGIN: &str = "<!-- bench:results:begin -->";
    const END: &str = "<!-- bench:results:end -->";
    let text = std::fs::read_to_string(path)?;
    let (Some(b), Some(e)) = (text.find(BEGIN), text.find(END)) else {
        return Ok(false);
    };
    if e < b {
        return Ok(false);
    }
    let new = format!("{}{BEGIN}\n{block}\n{}", &text[..b], &text[e..]);
    std::fs::write(path, new)?;
    Ok(true)
}

fn fmt_value(f: &Figure) -> String {
    match f.value {
        None => "n/a".into(),
        Some(v) if f.unit.is_empty() => fmt_num(v),
        Some(v) => format!("{} {}", fmt_num(v), f.unit),
    }
}

pub fn fmt_num(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e12 {
        format!("{v:.0}")
    } else if v.abs() >= 100.0 {
        format!("{v:.1}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}
