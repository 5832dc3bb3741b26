//! Editor access over SSH with no container network: `ssh-config`, the
//! hidden `ssh-proxy` it points OpenSSH at, and `lxdev ssh` through the
//! same path.
//!
//! How a connection goes: OpenSSH runs the entry's `ProxyCommand`, which is
//! lxdev itself (`lxdev --config FILE ssh-proxy NAME`); that starts the
//! container's sshd in inetd mode (`sshd -i`) through the runtime's `exec`
//! and passes its own standard streams through. No address, port, proxy
//! device or container network is used, so it works on a remote too, and
//! sshd sets the file's `env` in each session (`SetEnv`).
//!
//! Host keys are checked (`StrictHostKeyChecking yes`) against a known
//! hosts file of lxdev's own per project file, `~/.ssh/lxdev/<project>-
//! <hash>.known_hosts`, filled with the keys read from the container, each
//! under its alias (`HostKeyAlias`): they never clash with the user's
//! `known_hosts`, or with another checkout's containers of the same name.
//! `IdentityFile` is each of this user's keys (`~/.ssh/*.pub` with its
//! private key beside it) that the container's dev user accepts.
//!
//! `--write` keeps the entries in `~/.ssh/lxdev/<project>-<hash>.conf`
//! and adds `Include <that folder>/*.conf` as the first line of
//! `~/.ssh/config` when no line before its first `Host`/`Match` has it,
//! keeping the rest of the file byte for byte. Every write there is
//! atomic, made under the lock `~/.ssh/lxdev/lock`, and never through a
//! symlink (`fs::own_file`); a `~/.ssh/config` that is a symlink is read,
//! never replaced: lxdev says which line to add instead.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow};

use super::context::{Context, ReadyInstance};
use crate::config::Project;
use crate::error::Error;
use crate::fs::lock::FileLock;
use crate::fs::own_file;
use crate::runtime::{Runtime, SshFacts, rules};

/// What `ssh-config` prints or writes.
#[derive(Debug, Clone, Default)]
pub struct SshConfigOptions {
    /// The containers; every one of the project when empty.
    pub names: Vec<String>,
    /// Keep the entries in `~/.ssh/lxdev/` and include them from
    /// `~/.ssh/config`.
    pub write: bool,
}

/// How long a second `ssh-config --write` waits for the first.
const LOCK_TIMEOUT: Duration = Duration::from_secs(30);

/// lxdev's own SSH files for one project file on this machine.
struct SshFiles {
    /// `~/.ssh`.
    ssh_dir: PathBuf,
    /// `~/.ssh/lxdev`.
    dir: PathBuf,
    /// `<project>-<hash of the project file's path>`.
    base: String,
}

impl SshFiles {
    /// Where they are: `HOME` must be set.
    fn locate(project: &Project, config_path: &Path) -> Result<SshFiles> {
        let home = crate::env::get().home.clone().ok_or_else(|| {
            Error::Usage("HOME is not set: lxdev keeps its SSH files in ~/.ssh".into())
        })?;
        let ssh_dir = home.join(".ssh");
        Ok(SshFiles {
            dir: ssh_dir.join("lxdev"),
            ssh_dir,
            base: format!(
                "{}-{:08x}",
                project.name(),
                fnv1a(config_path.as_os_str().as_encoded_bytes()) as u32
            ),
        })
    }

    fn conf(&self) -> PathBuf {
        self.dir.join(format!("{}.conf", self.base))
    }

    fn known_hosts(&self) -> PathBuf {
        self.dir.join(format!("{}.known_hosts", self.base))
    }

    /// Makes the folders (`~/.ssh` and its `lxdev`, mode 0700, the latter
    /// a real folder) and takes the lock that serializes lxdev's writes
    /// under `~/.ssh`.
    fn lock(&self) -> Result<FileLock> {
        if !self.ssh_dir.exists() {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .mode(0o700)
                .create(&self.ssh_dir)
                .with_context(|| format!("failed to create `{}`", self.ssh_dir.display()))?;
        }
        let dir = crate::fs::own_dir::ensure(&self.ssh_dir, &["lxdev"])?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("failed to set the mode of `{}`", dir.display()))?;
        FileLock::acquire(&dir.join("lock"), LOCK_TIMEOUT, Duration::ZERO, &mut |_| {})
    }

    /// Records `keys` (`TYPE BASE64`) as the host keys of `alias`, in
    /// place of what the file had for it; the other aliases' stay.
    fn record_host_keys(&self, hosts: &[(String, Vec<String>)]) -> Result<()> {
        let path = self.known_hosts();
        let old = own_file::read(&path)?.unwrap_or_default();
        let mut text: String = old
            .lines()
            .filter(|line| {
                let alias = line.split_whitespace().next().unwrap_or("");
                !hosts.iter().any(|(a, _)| a == alias)
            })
            .map(|line| format!("{line}\n"))
            .collect();
        for (alias, keys) in hosts {
            for key in keys {
                text.push_str(&format!("{alias} {key}\n"));
            }
        }
        own_file::replace(
            &self.dir,
            &format!("{}.known_hosts", self.base),
            text.as_bytes(),
            0o600,
        )
    }
}

/// One container's entry, as `ssh_config` says it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct HostEntry {
    /// `<project>-<name>`: the instance's name.
    alias: String,
    name: String,
    user: String,
    identities: Vec<PathBuf>,
    /// The whole `ProxyCommand` value, quoted for sh and `%`-escaped.
    proxy: String,
    known_hosts: PathBuf,
}

impl HostEntry {
    /// The options as `Key value` lines (`ssh -o` takes each as is).
    fn options(&self) -> Result<Vec<String>> {
        let mut lines = vec![format!("User {}", self.user)];
        for identity in &self.identities {
            lines.push(format!("IdentityFile {}", config_word(identity)?));
        }
        if !self.identities.is_empty() {
            lines.push("IdentitiesOnly yes".into());
        }
        lines.extend([
            format!("ProxyCommand {}", self.proxy),
            format!("UserKnownHostsFile {}", config_word(&self.known_hosts)?),
            "GlobalKnownHostsFile /dev/null".into(),
            format!("HostKeyAlias {}", self.alias),
            "StrictHostKeyChecking yes".into(),
        ]);
        Ok(lines)
    }

    /// The `Host` block.
    fn render(&self) -> Result<String> {
        let mut text = format!("Host {}\n", self.alias);
        for line in self.options()? {
            text.push_str(&format!("    {line}\n"));
        }
        Ok(text)
    }
}

/// `lxdev ssh-config [NAME...] [--write]`.
pub fn ssh_config(ctx: &Context, options: &SshConfigOptions) -> Result<()> {
    let project = ctx.manager.load()?;
    let names: Vec<String> = if options.names.is_empty() {
        project.config().containers.keys().cloned().collect()
    } else {
        for name in &options.names {
            project.container(name)?;
        }
        options.names.clone()
    };
    let runtime = ctx.runtime(&project)?;
    let config_path = ctx.manager.canonical_path();
    let files = SshFiles::locate(&project, &config_path)?;
    let proxy_base = proxy_base(ctx, &project, &config_path)?;
    let mut entries = Vec::new();
    let mut hosts = Vec::new();
    for name in &names {
        let found = match host_entry(ctx, runtime.as_ref(), &project, &files, &proxy_base, name) {
            Ok(found) => found,
            Err(err) => {
                ctx.out.warn(format!("{name}: left out: {err:#}"));
                continue;
            }
        };
        let (entry, facts) = found;
        if entry.identities.is_empty() {
            ctx.out.warn(format!(
                "{name}: none of your keys (~/.ssh/*.pub with its private key) is in the \
                 authorized_keys of `{}` in it: no IdentityFile",
                entry.user
            ));
        }
        hosts.push((entry.alias.clone(), facts.host_keys));
        entries.push(entry);
    }
    if entries.is_empty() && !names.is_empty() {
        return Err(anyhow!(
            "no container of project `{}` can be reached over SSH (see the warnings above)",
            project.name()
        ));
    }
    let _lock = files.lock()?;
    files.record_host_keys(&hosts)?;
    let mut text = format!(
        "# lxdev ssh-config: project `{}` ({}); `lxdev ssh-config --write` keeps it in {}\n",
        project.name(),
        config_path.display(),
        files.conf().display()
    );
    for entry in &entries {
        text.push('\n');
        text.push_str(&entry.render()?);
    }
    let summary: Vec<serde_json::Value> = entries
        .iter()
        .map(|e| {
            serde_json::json!({
                "name": e.name,
                "alias": e.alias,
                "user": e.user,
                "identity_files": e.identities,
            })
        })
        .collect();
    ctx.outcome(|o| {
        o.detail("hosts", summary);
        o.detail(
            "known_hosts",
            files.known_hosts().to_string_lossy().into_owned(),
        );
    });
    if !options.write {
        if ctx.out.json {
            ctx.outcome(|o| o.detail("config", text.as_str()));
        } else {
            ctx.out.say(text.trim_end());
        }
        return Ok(());
    }
    own_file::replace(
        &files.dir,
        &format!("{}.conf", files.base),
        text.as_bytes(),
        0o600,
    )?;
    let added = include_in_user_config(&files)?;
    ctx.outcome(|o| {
        o.detail("file", files.conf().to_string_lossy().into_owned());
        o.detail("include_added", added);
    });
    ctx.out.say(format!(
        "wrote {} host(s) to {}{}",
        entries.len(),
        files.conf().display(),
        match added {
            true => format!(
                "; added `{}` at the top of ~/.ssh/config",
                include_line(&files)?
            ),
            false => String::new(),
        }
    ));
    for entry in &entries {
        ctx.out.say(format!("  ssh {}", entry.alias));
    }
    Ok(())
}

/// Entry `name`'s host entry and what its container says, or why it has
/// none (not created here, not running, no sshd).
fn host_entry(
    ctx: &Context,
    runtime: &dyn Runtime,
    project: &Project,
    files: &SshFiles,
    proxy_base: &str,
    name: &str,
) -> Result<(HostEntry, SshFacts)> {
    super::checks::ready_container(project, name)?;
    let instance = project.instance_name(name);
    let found = ctx
        .own_instance(runtime, project, name)?
        .ok_or_else(|| anyhow!("not created on this machine (`lxdev up {name}`)"))?;
    rules::must_run(&instance, &found)?;
    let (user, _) = project.dev_user(name);
    let facts = runtime.ssh_facts(&instance, &user)?;
    if !facts.sshd {
        return Err(anyhow!("container `{instance}` has no sshd"));
    }
    let entry = HostEntry {
        alias: instance,
        name: name.to_owned(),
        user,
        identities: identities(&facts),
        proxy: format!("{proxy_base} {name}"),
        known_hosts: files.known_hosts(),
    };
    Ok((entry, facts))
}

/// `'LXDEV' --config 'FILE' [--runtime R] [--remote R] ssh-proxy`: the
/// `ProxyCommand` without the container's name, quoted for sh and with
/// `%` escaped (ssh expands `%` tokens there, and runs it with `exec`
/// through the user's shell).
fn proxy_base(ctx: &Context, project: &Project, config_path: &Path) -> Result<String> {
    let exe = std::env::current_exe().context("failed to find lxdev's own path")?;
    let mut words = vec![sh_word(&exe)?, "--config".to_owned(), sh_word(config_path)?];
    // What this command line chose that the file does not say.
    if project.config().runtime.is_none()
        && let Some((runtime, _)) = ctx.runtime_asked()
    {
        words.extend(["--runtime".to_owned(), sh_word(Path::new(&runtime))?]);
    }
    if let Some(remote) = ctx.remote_asked()? {
        words.extend(["--remote".to_owned(), sh_word(Path::new(&remote))?]);
    }
    words.push("ssh-proxy".into());
    Ok(words.join(" "))
}

/// `path` quoted for sh (single quotes), `%` doubled for ssh; refused
/// when it holds a control character (no config line could carry it).
fn sh_word(path: &Path) -> Result<String> {
    let text = path
        .to_str()
        .ok_or_else(|| anyhow!("`{}` is not UTF-8 text", path.display()))?;
    if text.chars().any(char::is_control) {
        return Err(anyhow!(
            "`{}` holds a control character: no ssh_config line can name it",
            text.escape_debug()
        ));
    }
    Ok(format!(
        "'{}'",
        text.replace('\'', r"'\''").replace('%', "%%")
    ))
}

/// `path` as one ssh_config argument: in double quotes, `%` doubled;
/// refused when it holds `"` or a control character.
fn config_word(path: &Path) -> Result<String> {
    let text = path
        .to_str()
        .ok_or_else(|| anyhow!("`{}` is not UTF-8 text", path.display()))?;
    if text.chars().any(|c| c.is_control() || c == '"') {
        return Err(anyhow!(
            "`{}` holds a `\"` or a control character: no ssh_config line can name it",
            text.escape_debug()
        ));
    }
    Ok(format!("\"{}\"", text.replace('%', "%%")))
}

/// This user's private keys whose public key the container accepts.
fn identities(facts: &SshFacts) -> Vec<PathBuf> {
    let Some(home) = crate::env::get().home.clone() else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(home.join(".ssh")) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "pub"))
        .filter_map(|public| {
            let private = public.with_extension("");
            let key = rules::public_key(&std::fs::read_to_string(&public).ok()?)?;
            (private.is_file() && facts.authorized.contains(&key)).then_some(private)
        })
        .collect();
    found.sort();
    found
}

/// The line that includes lxdev's entries from `~/.ssh/config`.
fn include_line(files: &SshFiles) -> Result<String> {
    let glob = files.dir.join("*.conf");
    let text = glob
        .to_str()
        .filter(|t| !t.chars().any(|c| c.is_control() || c == '"'))
        .ok_or_else(|| anyhow!("`{}` cannot be named in ~/.ssh/config", glob.display()))?;
    Ok(format!("Include \"{text}\""))
}

/// Adds [`include_line`] as the first line of `~/.ssh/config` unless a
/// line before its first `Host` or `Match` already is it; `true` when it
/// was added. Call under the lock.
fn include_in_user_config(files: &SshFiles) -> Result<bool> {
    let line = include_line(files)?;
    let path = files.ssh_dir.join("config");
    let link = std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink());
    let old = match std::fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound && !link => None,
        Err(err) => {
            return Err(err).with_context(|| format!("failed to read `{}`", path.display()));
        }
    };
    let text = old
        .as_deref()
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    let present = text
        .lines()
        .map(str::trim)
        .take_while(|l| {
            let word = l
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_lowercase();
            word != "host" && word != "match"
        })
        .any(|l| l == line);
    if present {
        return Ok(false);
    }
    if link {
        return Err(Error::PermissionDenied(format!(
            "`{}` is a symbolic link, and lxdev does not write through one: add this line at \
             its top yourself, then run `lxdev ssh-config --write` again: {line}",
            path.display()
        ))
        .into());
    }
    let mode = match &old {
        Some(_) => {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(&path)
                .with_context(|| format!("failed to read `{}`", path.display()))?
                .permissions()
                .mode()
                & 0o7777
        }
        None => 0o600,
    };
    let mut new = format!("{line}\n").into_bytes();
    new.extend_from_slice(old.as_deref().unwrap_or_default());
    own_file::replace(&files.ssh_dir, "config", &new, mode)?;
    Ok(true)
}

/// After `up` made container `name` again: when this project file has a
/// known hosts file of lxdev's (`ssh-config` ran here), its entry gets
/// the new container's host keys, so the Host entries written before go
/// on working. Says why when it cannot; never fails `up`.
pub fn refresh_known_hosts(ctx: &Context, runtime: &dyn Runtime, project: &Project, name: &str) {
    let config_path = ctx.manager.canonical_path();
    let Ok(files) = SshFiles::locate(project, &config_path) else {
        return;
    };
    if !matches!(own_file::read(&files.known_hosts()), Ok(Some(_))) {
        return;
    }
    let instance = project.instance_name(name);
    let (user, _) = project.dev_user(name);
    let refreshed = runtime.ssh_facts(&instance, &user).and_then(|facts| {
        let _lock = files.lock()?;
        files.record_host_keys(&[(instance.clone(), facts.host_keys)])
    });
    if let Err(err) = refreshed {
        ctx.out.warn(format!(
            "{name}: its new host keys are not in {}: {err:#}; run `lxdev ssh-config --write`",
            files.known_hosts().display()
        ));
    }
}

/// `lxdev ssh-proxy NAME` (hidden; OpenSSH's `ProxyCommand`): the
/// container's sshd on this process's standard input and output. Prints
/// nothing on stdout itself: that is the connection.
pub fn ssh_proxy(ctx: &Context, name: &str) -> Result<u8> {
    let ReadyInstance {
        runtime,
        instance,
        found,
        ..
    } = ctx.ready_instance(name)?;
    let found = found.ok_or_else(|| {
        Error::NotFound(format!(
            "{name} ({instance}) is not created on this machine: `lxdev up {name}` creates it"
        ))
    })?;
    rules::must_run(&instance, &found)?;
    let project = ctx.manager.load()?;
    let env: Vec<(String, String)> = project.config().dev_env(name).env.into_iter().collect();
    let status = runtime.sshd_session(&instance, &env)?;
    Ok(u8::try_from(status).unwrap_or(1))
}

/// `lxdev ssh NAME` through the container's sshd, as `ssh-config`'s
/// entry would connect, when that can work: a real runtime, an `ssh`
/// client here, an sshd there, and one of this user's keys accepted by
/// the dev user. `None` to take the `exec` path instead.
pub fn ssh_over_sshd(ctx: &Context, ready: &ReadyInstance) -> Result<Option<u8>> {
    if ready.runtime.name() == "fake" || ready.found.is_none() {
        return Ok(None);
    }
    let Some(client) = find_program("ssh") else {
        return Ok(None);
    };
    let project = ctx.manager.load()?;
    let name = project
        .config()
        .containers
        .keys()
        .find(|n| project.instance_name(n) == ready.instance)
        .cloned()
        .ok_or_else(|| anyhow!("no entry for `{}`", ready.instance))?;
    let config_path = ctx.manager.canonical_path();
    let Ok(files) = SshFiles::locate(&project, &config_path) else {
        return Ok(None);
    };
    let facts = ready.runtime.ssh_facts(&ready.instance, &ready.user)?;
    let identities = identities(&facts);
    if !facts.sshd || identities.is_empty() || facts.host_keys.is_empty() {
        return Ok(None);
    }
    let entry = HostEntry {
        alias: ready.instance.clone(),
        name: name.clone(),
        user: ready.user.clone(),
        identities,
        proxy: format!("{} {name}", proxy_base(ctx, &project, &config_path)?),
        known_hosts: files.known_hosts(),
    };
    {
        let _lock = files.lock()?;
        files.record_host_keys(&[(entry.alias.clone(), facts.host_keys.clone())])?;
    }
    let mut command = Command::new(client);
    for option in entry.options()? {
        command.args(["-o", &option]);
    }
    command.args(["-o", "LogLevel=ERROR", "--", &entry.alias]);
    let status = command.status().context("failed to run `ssh`")?;
    Ok(Some(
        status
            .code()
            .and_then(|c| u8::try_from(c).ok())
            .unwrap_or(255),
    ))
}

/// `program` in `PATH`, if it is there.
fn find_program(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// FNV-1a, 64 bits: a stable name for a project file's path (the std
/// hasher may change between Rust releases).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_quote_paths_with_spaces_quotes_and_percents() {
        let entry = HostEntry {
            alias: "demo-web".into(),
            name: "web".into(),
            user: "dev".into(),
            identities: vec![PathBuf::from("/home/a b/.ssh/id_%d")],
            proxy: format!(
                "{} --config {} ssh-proxy web",
                sh_word(Path::new("/opt/my tools/lxdev")).unwrap(),
                sh_word(Path::new("/src/it's 100%/containers.yaml")).unwrap()
            ),
            known_hosts: PathBuf::from("/home/a b/.ssh/lxdev/demo-1.known_hosts"),
        };
        let text = entry.render().unwrap();
        assert_eq!(
            text,
            "Host demo-web\n    User dev\n    IdentityFile \"/home/a b/.ssh/id_%%d\"\n    \
             IdentitiesOnly yes\n    ProxyCommand '/opt/my tools/lxdev' --config \
             '/src/it'\\''s 100%%/containers.yaml' ssh-proxy web\n    UserKnownHostsFile \
             \"/home/a b/.ssh/lxdev/demo-1.known_hosts\"\n    GlobalKnownHostsFile /dev/null\n    \
             HostKeyAlias demo-web\n    StrictHostKeyChecking yes\n"
        );
        assert!(sh_word(Path::new("/a\nb")).is_err());
        assert!(config_word(Path::new("/a\"b")).is_err());
    }

    fn files(home: &Path) -> SshFiles {
        let ssh_dir = home.join(".ssh");
        SshFiles {
            dir: ssh_dir.join("lxdev"),
            ssh_dir,
            base: "demo-1".into(),
        }
    }

    /// The `Include` goes first, once; the rest of the file stays byte for
    /// byte, and its mode; a missing file is made 0600.
    #[test]
    fn the_include_is_added_once_at_the_top_keeping_the_rest() {
        use std::os::unix::fs::PermissionsExt;
        let home = tempfile::tempdir().unwrap();
        let files = files(home.path());
        drop(files.lock().unwrap());
        let line = include_line(&files).unwrap();
        assert!(include_in_user_config(&files).unwrap());
        let config = files.ssh_dir.join("config");
        assert_eq!(
            std::fs::read_to_string(&config).unwrap(),
            format!("{line}\n")
        );
        let mode = std::fs::metadata(&config).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(!include_in_user_config(&files).unwrap(), "only if missing");

        let theirs: &[u8] = b"# mine\r\nHost box\n\tUser me\n\xff not utf-8\nInclude x\n";
        std::fs::write(&config, theirs).unwrap();
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert!(include_in_user_config(&files).unwrap());
        let now = std::fs::read(&config).unwrap();
        assert_eq!(&now[..line.len() + 1], format!("{line}\n").as_bytes());
        assert_eq!(&now[line.len() + 1..], theirs, "the rest byte for byte");
        let mode = std::fs::metadata(&config).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        assert!(!include_in_user_config(&files).unwrap());

        // A line after the first `Host` is inside that block: not there.
        std::fs::write(&config, format!("Host box\n{line}\n")).unwrap();
        assert!(include_in_user_config(&files).unwrap());
        assert!(std::fs::read_to_string(&config).unwrap().starts_with(&line));
    }

    /// A `~/.ssh/config` that is a symlink is read through, never replaced
    /// or written through: lxdev says which line to add.
    #[test]
    fn a_symlinked_ssh_config_is_never_written() {
        let home = tempfile::tempdir().unwrap();
        let files = files(home.path());
        drop(files.lock().unwrap());
        let target = home.path().join("dotfiles-ssh-config");
        std::fs::write(&target, "Host box\n").unwrap();
        std::os::unix::fs::symlink(&target, files.ssh_dir.join("config")).unwrap();
        let err = include_in_user_config(&files).unwrap_err().to_string();
        assert!(
            err.contains("symbolic link") && err.contains("Include"),
            "{err}"
        );
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "Host box\n");
        assert!(
            std::fs::symlink_metadata(files.ssh_dir.join("config"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
        // Once the user added it, nothing more is asked.
        let line = include_line(&files).unwrap();
        std::fs::write(&target, format!("{line}\nHost box\n")).unwrap();
        assert!(!include_in_user_config(&files).unwrap());
    }

    /// The known hosts of the aliases refreshed are replaced, the others'
    /// kept; a symlink planted at the file's name is replaced, not followed.
    #[test]
    fn known_hosts_keep_other_aliases_and_never_follow_a_link() {
        let home = tempfile::tempdir().unwrap();
        let files = files(home.path());
        drop(files.lock().unwrap());
        let elsewhere = home.path().join("elsewhere");
        std::fs::write(&elsewhere, "keep me\n").unwrap();
        std::os::unix::fs::symlink(&elsewhere, files.known_hosts()).unwrap();
        let key = |n: u8| format!("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA{n:0>8}");
        files
            .record_host_keys(&[
                ("demo-a".into(), vec![key(1)]),
                ("demo-b".into(), vec![key(2)]),
            ])
            .unwrap();
        assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), "keep me\n");
        files
            .record_host_keys(&[("demo-a".into(), vec![key(3)])])
            .unwrap();
        let text = std::fs::read_to_string(files.known_hosts()).unwrap();
        assert_eq!(text, format!("demo-b {}\ndemo-a {}\n", key(2), key(3)));
    }

    #[test]
    fn the_hash_is_stable() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
