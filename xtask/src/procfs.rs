//! Reading memory figures from `/proc` (Linux only).

/// A `kB` field of `/proc/<pid>/status` (e.g. `VmRSS`, `VmHWM`), in KiB.
pub fn status_kib(pid: &str, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// The proportional set size of a process (`Pss` in `smaps_rollup`), in KiB.
pub fn pss_kib(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    text.lines()
        .find(|l| l.starts_with("Pss:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// Memory only this process holds (`Private_Clean` + `Private_Dirty` in `smaps_rollup`), in KiB.
pub fn private_kib(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    let field = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    Some(field("Private_Clean:")? + field("Private_Dirty:")?)
}

/// The peak resident set size of this process, in KiB.
pub fn self_vm_hwm_kib() -> Option<u64> {
    status_kib("self", "VmHWM")
}

/// The parent pid of every process, from `/proc/<pid>/stat`.
fn parents() -> Vec<(u32, u32)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // The command name is in parentheses and may hold spaces: parse after the last ')'.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        if let Some(ppid) = rest.split_whitespace().nth(1).and_then(|p| p.parse().ok()) {
            out.push((pid, ppid));
        }
    }
    out
}

/// The pool's session trees under emulator process `root`: each direct child of `root` and
/// all its descendants, except that the template interpreter's tree (relay → namespace init
/// → the template and, beside it, the namespace init of every forked session) is split into
/// one tree per forked session. The template's own processes are returned apart.
pub fn session_trees(root: u32) -> SessionTrees {
    let all = parents();
    let children_of = |p: u32| -> Vec<u32> {
        all.iter()
            .filter(|(_, pp)| *pp == p)
            .map(|(c, _)| *c)
            .collect()
    };
    let tree_of = |top: u32| {
        let mut tree = vec![top];
        let mut i = 0;
        while i < tree.len() {
            let more = children_of(tree[i]);
            tree.extend(more);
            i += 1;
        }
        tree
    };
    let mut out = SessionTrees::default();
    for child in children_of(root) {
        let ns_init = children_of(child);
        let template = ns_init
            .iter()
            .flat_map(|i| children_of(*i).into_iter().map(move |c| (*i, c)))
            .find(|(_, p)| cmdline(*p).contains("Sessions emulator template"));
        match template {
            Some((init, t)) => {
                out.template = vec![child, init, t];
                out.sessions.extend(
                    children_of(init)
                        .into_iter()
                        .filter(|s| *s != t)
                        .map(|s| (s, tree_of(s))),
                );
            }
            None => out.sessions.push((child, tree_of(child))),
        }
    }
    out
}

/// What [`session_trees`] found.
#[derive(Debug, Default)]
pub struct SessionTrees {
    /// `(top process, [it and all its descendants])` per session or pre-started worker.
    pub sessions: Vec<(u32, Vec<u32>)>,
    /// The template's relay, namespace init and interpreter (empty without a template).
    pub template: Vec<u32>,
}

/// The command line of a process (NULs replaced by spaces).
pub fn cmdline(pid: u32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            String::from_utf8_lossy(&b)
                .replace('\0', " ")
                .trim()
                .to_owned()
        })
        .unwrap_or_default()
}

/// CPU time (user + sys) of the calling thread so far, in nanoseconds: the first field of
/// `/proc/thread-self/schedstat` (nanosecond resolution, unlike the tick counts of `stat`).
pub fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_status() {
        assert!(self_vm_hwm_kib().unwrap() > 0);
        assert!(status_kib("self", "VmRSS").unwrap() > 0);
    }
}
