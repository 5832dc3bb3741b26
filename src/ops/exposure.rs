//! What of the host may be exposed to a container: which host folders and
//! files may be mounted or pushed, which paths inside a mount may cover,
//! and which devices a containers.yaml may ask for.
//!
//! A project file is checked in and reaches every teammate's machine, so
//! a device it records is held to the strict rules: a mount of a folder
//! inside the project directory (its source written relative to it), not
//! a secret or a system folder; a forwarded port on 127.0.0.1 only. What
//! a person asked for on this machine with `--allow-outside` or
//! `--allow-risky` is remembered outside the project (see [`Approvals`]),
//! so a restore or `mounts --sync` here may give it back, and a file
//! cannot grant it.

use std::path::{Component, Path, PathBuf};

use crate::config::Project;
use crate::config::devices::Spec;
use crate::error::Error;

/// Folders of the system: never mounted read-write, nor anything in them,
/// without `--allow-risky`.
const SYSTEM_FOLDERS: &[&str] = &[
    "/etc", "/root", "/boot", "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/var", "/proc",
    "/sys", "/dev", "/run",
];

/// Folders and files of secrets in a home folder: never exposed in any
/// mode, nor anything in them, without `--allow-risky`.
const SECRETS_IN_HOME: &[&str] = &[
    ".ssh",
    ".gnupg",
    ".aws",
    ".azure",
    ".kube",
    ".docker",
    ".password-store",
    ".config",
    ".local/share/keyrings",
    ".netrc",
    ".pgpass",
    ".git-credentials",
];

/// Secrets of the system, in any mode.
const SYSTEM_SECRETS: &[&str] = &[
    "/etc/shadow",
    "/etc/gshadow",
    "/etc/ssh",
    "/etc/sudoers",
    "/root",
];

/// Never a source, whatever the person allowed: the kernel's views of this
/// machine (`/proc/self/environ` is the caller's environment) and the
/// container daemons' own state (their private keys, every container's
/// root filesystem).
const NEVER: &[&str] = &[
    "/proc",
    "/sys",
    "/dev",
    "/var/lib/lxd",
    "/var/snap/lxd",
    "/var/lib/incus",
    "/var/lib/lxc",
    "/var/lib/docker",
    "/var/lib/containerd",
];

/// What the person allowed for one exposure.
#[derive(Debug, Clone, Copy, Default)]
pub struct Allowed {
    pub outside: bool,
    pub risky: bool,
}

/// Why `source` (canonical) may not be exposed, if it may not: read-write
/// when `writable`, inside `project_dir` (canonical) unless
/// `allowed.outside`, neither in nor holding a secret or a system folder
/// unless `allowed.risky`, and never in or holding what [`NEVER`] lists.
pub fn refuse_source(
    source: &Path,
    project_dir: &Path,
    home: Option<&Path>,
    writable: bool,
    allowed: Allowed,
) -> Option<String> {
    let shown = source.display();
    // A folder is judged by what it holds as well as by where it is: `/etc`
    // holds `/etc/shadow`, `/var` the daemons' keys.
    let meets = |place: &Path| source.starts_with(place) || place.starts_with(source);
    // The home folder holds its secrets; say so rather than name one.
    let holds_homes =
        home.is_some_and(|home| home.starts_with(source)) || Path::new("/home").starts_with(source);
    if !allowed.risky && holds_homes {
        return Some(format!(
            "`{shown}` holds your home folder and its secrets (~/.ssh, ...): refused; \
             mount a project folder, or pass --allow-risky if you mean it"
        ));
    }
    if let Some(never) = NEVER.iter().map(Path::new).find(|p| meets(p)) {
        return Some(format!(
            "`{shown}` is or holds `{}`, which lxdev never exposes to a container (the \
             kernel's view of this machine, or a container daemon's own state)",
            never.display()
        ));
    }
    if !allowed.risky {
        // Everyone's: root may expose another user's project.
        let homes = home
            .map(Path::to_path_buf)
            .into_iter()
            .chain(homes_in("/home"));
        let home_secrets =
            homes.flat_map(|home| SECRETS_IN_HOME.iter().map(move |secret| home.join(secret)));
        let system_secrets = SYSTEM_SECRETS.iter().map(PathBuf::from);
        if let Some(secret) = home_secrets.chain(system_secrets).find(|p| meets(p)) {
            let how = if source.starts_with(&secret) {
                "is in"
            } else {
                "holds"
            };
            return Some(format!(
                "`{shown}` {how} `{}`, which holds secrets (keys, passwords, credentials): \
                 refused; pass --allow-risky if you mean it",
                secret.display()
            ));
        }
        // The project is the person's own, wherever it lives (/var/www/app).
        let system = SYSTEM_FOLDERS.iter().any(|f| source.starts_with(f))
            && !source.starts_with(project_dir);
        if writable && system {
            return Some(format!(
                "a read-write mount of `{shown}` would let the container change the host's \
                 system: refused; mount it read-only, or pass --allow-risky"
            ));
        }
    }
    if !source.starts_with(project_dir) && !allowed.outside {
        return Some(format!(
            "`{shown}` is outside the project directory `{}`: pass --allow-outside to \
             expose it anyway (containers.yaml then names a path teammates may not have)",
            project_dir.display()
        ));
    }
    None
}

/// The project directory, canonical (the file records sources relative
/// to it).
pub fn canonical_dir(project: &Project) -> PathBuf {
    std::fs::canonicalize(project.dir()).unwrap_or_else(|_| project.dir().to_path_buf())
}

/// The folders in `dir` (the users' homes under `/home`), unread ones left
/// out.
fn homes_in(dir: &str) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .collect()
}

/// `path` inside the container, normalized (`//etc/./x/` is `/etc/x`),
/// once it is absolute, has no `..` or control character, and covers no
/// system path: `/`, anything in `/proc`, `/sys`, `/dev`, `/run`, or the
/// folders `/etc`, `/usr`, `/bin`, `/sbin`, `/lib`, `/boot`, `/var`,
/// `/home` themselves.
pub fn container_path(path: &str) -> Result<String, Error> {
    let bad = |why: &str| Error::Usage(format!("cannot mount at `{}`: {why}", path.escape_debug()));
    if !path.starts_with('/') {
        return Err(bad("the path inside the container must be absolute"));
    }
    if path.chars().any(char::is_control) {
        return Err(bad("it holds a control character"));
    }
    let mut parts = Vec::new();
    for part in Path::new(path).components() {
        match part {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            Component::ParentDir | Component::Prefix(_) => return Err(bad("`..` is not allowed")),
        }
    }
    let clean = format!("/{}", parts.join("/"));
    let under = ["/proc", "/sys", "/dev", "/run"];
    let exact = [
        "/", "/etc", "/usr", "/bin", "/sbin", "/lib", "/lib64", "/boot", "/var", "/home",
    ];
    if exact.contains(&clean.as_str()) || under.iter().any(|u| Path::new(&clean).starts_with(u)) {
        return Err(bad("it is a system path of the container"));
    }
    Ok(clean)
}

/// The spec a recorded device gives the runtime, if the file may ask for
/// it (see the module's doc): a disk's relative source resolved against
/// `project_dir`, checked like `mount`'s (with what `approvals` allow), and
/// only the keys lxdev writes; a proxy only from 127.0.0.1 to 127.0.0.1.
///
/// A read-write mount of a folder that holds `.git` is given read-only,
/// with a note saying so, unless this machine's user allowed it read-write
/// (`mount --rw`, `--mount-project`): git runs the hooks and reads the
/// config in `.git` on the host, so a container that may write there may
/// run code on the host, and a checked-in file cannot grant that.
pub fn recorded_device(
    spec: &Spec,
    project_dir: &Path,
    home: Option<&Path>,
    approvals: &Approvals,
) -> Result<(Spec, Option<String>), String> {
    match spec.kind.as_str() {
        "disk" => {
            let known = ["source", "path", "readonly", "shift"];
            if let Some(key) = spec.config.keys().find(|k| !known.contains(&k.as_str())) {
                return Err(format!(
                    "a recorded mount may set only {}: not `{key}`",
                    known.join(", ")
                ));
            }
            let (source, path) = spec.mount().ok_or("a mount needs `source` and `path`")?;
            container_path(path).map_err(|e| e.to_string())?;
            let source = std::fs::canonicalize(project_dir.join(source))
                .map_err(|err| format!("its source `{source}` is not here: {err}"))?;
            let writable = !spec.readonly();
            let allowed = approvals.allowed(&source, writable);
            if let Some(why) = refuse_source(&source, project_dir, home, writable, allowed) {
                return Err(why);
            }
            let mut resolved = spec.clone();
            resolved
                .config
                .insert("source".into(), source.to_string_lossy().into_owned());
            let holds_git = std::fs::symlink_metadata(source.join(".git")).is_ok();
            if writable && holds_git && !approvals.allowed(&source, true).outside {
                resolved.config.insert("readonly".into(), "true".into());
                let note = format!(
                    "mounted read-only: the file asks for read-write, but `{}` holds `.git`, \
                     whose hooks git runs on this machine; `lxdev mount NAME {} {path} --rw` \
                     allows it here",
                    source.display(),
                    recorded_source(&source, project_dir)
                );
                return Ok((resolved, Some(note)));
            }
            Ok((resolved, None))
        }
        "proxy" => {
            let loopback = |key: &str| {
                spec.config.get(key).is_some_and(|v| {
                    v.strip_prefix("tcp:127.0.0.1:")
                        .is_some_and(|p| p.parse::<u16>().is_ok_and(|p| p > 0))
                })
            };
            if spec.config.len() != 2 || !loopback("listen") || !loopback("connect") {
                return Err(
                    "a recorded port may only forward tcp:127.0.0.1:PORT to tcp:127.0.0.1:PORT \
                     (what `lxdev proxy` writes)"
                        .into(),
                );
            }
            Ok((spec.clone(), None))
        }
        other => Err(format!(
            "lxdev gives a container only `disk` and `proxy` devices from the file, not `{other}`; \
             add it yourself with the runtime's client if you mean it"
        )),
    }
}

/// The source as the file records it: relative to the project directory
/// when inside it (so the file works in every checkout), else absolute.
pub fn recorded_source(source: &Path, project_dir: &Path) -> String {
    match source.strip_prefix(project_dir) {
        Ok(rel) if rel.as_os_str().is_empty() => ".".into(),
        Ok(rel) => rel.to_string_lossy().into_owned(),
        Err(_) => source.to_string_lossy().into_owned(),
    }
}

/// The exposures a person allowed on this machine with `--allow-outside`
/// or `--allow-risky`, for one project file: kept in the invoking user's
/// state folder (`$XDG_STATE_HOME/lxdev/approved-mounts`, by default under
/// `~/.local/state`), never in the project, so a checked-in file cannot grant them. One line each:
/// `<project file>\t<rw|ro>\t<source>`, appended (O_APPEND: short lines
/// from processes at once do not interleave).
#[derive(Debug, Clone, Default)]
pub struct Approvals {
    config: PathBuf,
    lines: Vec<(bool, PathBuf)>,
}

impl Approvals {
    fn file() -> Option<PathBuf> {
        let state = match &crate::env::get().state_home {
            Some(state) => state.clone(),
            None => crate::process::invoking_user_home()?.join(".local/state"),
        };
        Some(state.join("lxdev/approved-mounts"))
    }

    /// The approvals recorded for the project file `config` (canonical).
    pub fn load(config: &Path) -> Approvals {
        let text = Approvals::file()
            .and_then(|f| std::fs::read_to_string(f).ok())
            .unwrap_or_default();
        let lines = text
            .lines()
            .filter_map(|line| {
                let mut parts = line.splitn(3, '\t');
                let (file, mode, source) = (parts.next()?, parts.next()?, parts.next()?);
                (Path::new(file) == config).then(|| (mode == "rw", PathBuf::from(source)))
            })
            .collect();
        Approvals {
            config: config.to_path_buf(),
            lines,
        }
    }

    /// What was allowed for `source` in this mode (read-write approval
    /// covers read-only).
    pub fn allowed(&self, source: &Path, writable: bool) -> Allowed {
        let approved = self
            .lines
            .iter()
            .any(|(rw, s)| s == source && (*rw || !writable));
        Allowed {
            outside: approved,
            risky: approved,
        }
    }

    /// Records that the person allowed `source` in this mode; a failure to
    /// record only costs a refusal later, so it is a warning's worth.
    pub fn approve(&self, source: &Path, writable: bool) -> std::io::Result<()> {
        use std::io::Write;
        let Some(file) = Approvals::file() else {
            return Ok(());
        };
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mode = if writable { "rw" } else { "ro" };
        let line = format!("{}\t{mode}\t{}\n", self.config.display(), source.display());
        if line.chars().filter(|c| *c == '\n').count() != 1 {
            return Ok(());
        }
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(file)?
            .write_all(line.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_paths_are_normalized_before_they_are_judged() {
        assert_eq!(container_path("/srv//src/./").unwrap(), "/srv/src");
        for bad in [
            "//etc",
            "/./etc",
            "/",
            "/proc/x",
            "/dev/shm/x",
            "/home",
            "/run/x",
            "x",
            "/a/../b",
        ] {
            assert!(container_path(bad).is_err(), "{bad}");
        }
        assert!(container_path("/home/dev/code").is_ok());
        assert!(container_path("/etc/myapp").is_ok());
    }

    #[test]
    fn sources_are_judged_by_what_they_hold() {
        let home = Path::new("/home/me");
        let project = Path::new("/home/me/app");
        let none = Allowed::default();
        let refused =
            |s: &str, rw| refuse_source(Path::new(s), project, Some(home), rw, none).is_some();
        assert!(!refused("/home/me/app/src", true));
        assert!(refused("/home/me/app/../.ssh", false) || refused("/home/me/.ssh", false));
        assert!(refused("/home/me/.ssh/id_ed25519", false));
        assert!(refused("/home/me/.config", true));
        assert!(refused("/home/me", false), "holds ~/.ssh");
        assert!(refused("/", false));
        assert!(refused("/home", false));
        assert!(refused("/etc/shadow", false));
        let outside = Allowed {
            outside: true,
            risky: false,
        };
        let refused_out =
            |s: &str, rw| refuse_source(Path::new(s), project, Some(home), rw, outside).is_some();
        assert!(refused_out("/etc/ssh", false));
        assert!(refused_out("/usr/local", true));
        assert!(refused_out("/var/lib", true));
        assert!(!refused_out("/usr/local", false));
        assert!(!refused_out("/data", true));
        // Folders are judged by what they hold, too.
        assert!(refused_out("/etc", false), "holds /etc/shadow");
        assert!(refused_out("/var", false), "holds the daemons' state");
        let risky = Allowed {
            outside: true,
            risky: true,
        };
        let never = |s: &str| refuse_source(Path::new(s), project, Some(home), false, risky);
        for s in [
            "/proc/self/environ",
            "/var/lib/lxd/server.key",
            "/var/lib",
            "/sys",
            "/",
        ] {
            assert!(never(s).is_some_and(|why| why.contains("never")), "{s}");
        }
        assert!(
            never("/etc").is_none(),
            "--allow-risky allows a secret, not the kernel's"
        );
    }
}
