//! A process held to the CPU share Lambda gives a memory size, the way the
//! benchmark (`examples/bench.rs`) runs the function: one cgroup v1 group per
//! size under `/sys/fs/cgroup/cpu`, with a CFS quota of `share × period`, and
//! a twin group under `/sys/fs/cgroup/cpuacct` that counts the CPU its
//! processes use, in nanoseconds.
//!
//! Lambda gives a function one vCPU at 1,769 MB and a share in proportion below
//! that (`share_of_memory`). Writing the groups needs root and cgroup v1's `cpu`
//! and `cpuacct` controllers; `CpuShare::create` says why it cannot, and the
//! benchmark carries on without the table.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const CPU_ROOT: &str = "/sys/fs/cgroup/cpu";
const CPUACCT_ROOT: &str = "/sys/fs/cgroup/cpuacct";

/// The memory size at which Lambda gives a function one whole vCPU.
pub const ONE_VCPU_MB: u32 = 1_769;

/// The share of one CPU that Lambda gives `memory_mb` (more than one above 1,769 MB).
pub fn share_of_memory(memory_mb: u32) -> f64 {
    f64::from(memory_mb) / f64::from(ONE_VCPU_MB)
}

/// The CFS quota per period for a share: the kernel takes no quota below 1 ms.
pub fn quota_for(share: f64, period: Duration) -> Duration {
    let quota = period.mul_f64(share);
    quota.max(Duration::from_millis(1))
}

/// One cgroup pair (quota + accounting) that processes are started in.
pub struct CpuShare {
    cpu: PathBuf,
    cpuacct: PathBuf,
    pub quota: Duration,
}

/// Throttling counters of the quota group (`cpu.stat`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Throttling {
    pub periods: u64,
    pub throttled_periods: u64,
}

impl CpuShare {
    /// Creates (or reuses) the groups `tracking-status-bench/{name}` with
    /// `quota_for(share, period)`, or says why it cannot.
    pub fn create(name: &str, share: f64, period: Duration) -> Result<Self, String> {
        Self::create_under(
            (Path::new(CPU_ROOT), Path::new(CPUACCT_ROOT)),
            name,
            share,
            period,
        )
    }

    /// `create` with the two controllers' mount points given.
    fn create_under(
        (cpu_root, cpuacct_root): (&Path, &Path),
        name: &str,
        share: f64,
        period: Duration,
    ) -> Result<Self, String> {
        let cpu = cpu_root.join("tracking-status-bench").join(name);
        let cpuacct = cpuacct_root.join("tracking-status-bench").join(name);
        for (root, file) in [
            (cpu_root, "cpu.cfs_quota_us"),
            (cpuacct_root, "cpuacct.usage"),
        ] {
            if !root.join(file).exists() {
                return Err(format!(
                    "{}/{file} is missing: no cgroup v1 {} controller here (cgroup v2 only?)",
                    root.display(),
                    file.split('.').next().unwrap_or(file)
                ));
            }
        }
        for dir in [&cpu, &cpuacct] {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        let quota = quota_for(share, period);
        let write = |file: &str, value: u128| {
            let path = cpu.join(file);
            std::fs::write(&path, value.to_string())
                .map_err(|e| format!("cannot write {}: {e}", path.display()))
        };
        // No limit while the period changes (a quota is checked against the
        // period it is set with), then the period, then the quota.
        std::fs::write(cpu.join("cpu.cfs_quota_us"), "-1").map_err(|e| {
            format!(
                "cannot write {}: {e}",
                cpu.join("cpu.cfs_quota_us").display()
            )
        })?;
        write("cpu.cfs_period_us", period.as_micros())?;
        write("cpu.cfs_quota_us", quota.as_micros())?;
        Ok(CpuShare {
            cpu,
            cpuacct,
            quota,
        })
    }

    /// Makes `command`'s process join both groups before it execs, so every
    /// instruction of the program, its loader's included, runs under the quota.
    pub fn enter_on_spawn(&self, command: &mut Command) -> std::io::Result<()> {
        // Opened here, in the parent: between fork and exec the child may only
        // make system calls (no allocation), and writing "0" moves the writer.
        let open = |dir: &Path| {
            std::fs::OpenOptions::new()
                .write(true)
                .open(dir.join("cgroup.procs"))
        };
        let cpu = open(&self.cpu)?;
        let cpuacct = open(&self.cpuacct)?;
        let join = move || -> std::io::Result<()> {
            (&cpu).write_all(b"0")?;
            (&cpuacct).write_all(b"0")?;
            Ok(())
        };
        // SAFETY: the closure only calls write(2) on descriptors opened before
        // the fork; it allocates nothing and takes no lock.
        unsafe {
            command.pre_exec(join);
        }
        Ok(())
    }

    /// CPU used so far by every process that ran in the group (user + system).
    pub fn usage(&self) -> Duration {
        let text = std::fs::read_to_string(self.cpuacct.join("cpuacct.usage")).unwrap_or_default();
        Duration::from_nanos(text.trim().parse().unwrap_or(0))
    }

    pub fn throttling(&self) -> Throttling {
        let text = std::fs::read_to_string(self.cpu.join("cpu.stat")).unwrap_or_default();
        let field = |name: &str| {
            text.lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|value| value.trim().parse::<u64>().ok())
                .unwrap_or(0)
        };
        Throttling {
            periods: field("nr_periods "),
            throttled_periods: field("nr_throttled "),
        }
    }
}

impl Drop for CpuShare {
    /// Removes the groups; a group with a process still in it stays (rmdir fails).
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.cpu);
        let _ = std::fs::remove_dir(&self.cpuacct);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_share_is_memory_over_1769_mb_and_the_quota_never_below_1_ms() {
        assert!((share_of_memory(256) - 0.1447).abs() < 1e-4);
        assert_eq!(share_of_memory(1769), 1.0);
        let period = Duration::from_millis(20);
        assert_eq!(quota_for(share_of_memory(1769), period), period);
        assert_eq!(quota_for(share_of_memory(256), period).as_micros(), 2894);
        assert_eq!(quota_for(0.01, period), Duration::from_millis(1));
    }

    #[test]
    fn without_cgroup_v1_controllers_it_says_why_instead_of_failing_later() {
        let root = std::env::temp_dir().join(format!("cpu-share-test-{}", std::process::id()));
        std::fs::create_dir_all(&root).unwrap();
        let refused = CpuShare::create_under((&root, &root), "x", 0.5, Duration::from_millis(20));
        let reason = refused.err().expect("no controller files: refused");
        assert!(reason.contains("cpu.cfs_quota_us is missing"), "{reason}");
        assert!(reason.contains("cgroup v2 only?"), "{reason}");
        std::fs::remove_dir_all(&root).unwrap();
    }
}
