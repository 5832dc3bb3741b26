//! Provisioning: the steps that make a container the runtime just made
//! ready to use, run between the reserving and the settling transaction of
//! `container create` and `clone`.
//!
//! Steps, in order (`config::ledger::Step`): wait until it has booted, the
//! dev user with passwordless sudo and the invoking user's SSH keys, sshd,
//! the devices the entry records, the file's `setup` hook (`hooks.rs`),
//! and the `initial-state` snapshot, so `reset` comes back to a set-up
//! container. (Docker-in-container config, nesting
//! and the syscall intercepts, is applied when the instance is made, so no
//! restart is needed.) Each step is recorded in the entry's operation before
//! it runs, with no lock held while it runs; the entry stays `creating`
//! until every step has finished, so ready means fully provisioned. A step
//! that fails leaves the container failed with the step and the error; a
//! step that could only do part (sshd not installable) records a warning.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result};

use super::bulk::Line;
use super::hooks::Hooks;
use super::runner::{Runner, Ticket};
use crate::config::Project;
use crate::config::devices::Spec;
use crate::config::ledger::{Effect, Step, Target};
use crate::config::names;
use crate::error::Error;
use crate::runtime::{HookStage, Provisioning};

/// The device `--mount-project` records.
const PROJECT_DEVICE: &str = "project";

/// The snapshot taken when provisioning is done, which `reset` goes back to.
pub const INITIAL_SNAPSHOT: &str = "initial-state";
/// Its description (lxc-dev-manager's).
const INITIAL_DESCRIPTION: &str = "Initial state after setup";

/// How a new container is made ready to use (`container create`'s flags).
#[derive(Debug, Clone)]
pub struct ProvisionOptions {
    /// Run the steps after the runtime made the container (the readiness
    /// wait, the user, SSH, the initial-state snapshot).
    pub provision: bool,
    /// Take the `initial-state` snapshot (when provisioning).
    pub initial_snapshot: bool,
    /// Public key files for the dev user; none: the invoking user's.
    pub ssh_keys: Vec<PathBuf>,
    pub ready_timeout: Duration,
    /// Mount the project directory at this path (empty: the default path).
    pub mount_project: Option<String>,
    /// Run the file's hooks (`setup` here, `start` in `up`); `--no-setup`
    /// skips both.
    pub setup: bool,
}

impl ProvisionOptions {
    /// What `up` provisions a checked-in entry with: everything, as a
    /// plain `container create` would, unless `provision` is off.
    pub fn for_up(provision: bool, setup: bool) -> ProvisionOptions {
        ProvisionOptions {
            provision,
            initial_snapshot: true,
            ssh_keys: Vec::new(),
            ready_timeout: Duration::from_secs(120),
            mount_project: None,
            setup,
        }
    }
}

/// What to do after the runtime made the container.
#[derive(Debug, Clone)]
pub struct Plan {
    steps: Vec<Step>,
    pub spec: Provisioning,
    /// The devices the new entry records, given to the instance in
    /// [`Step::Devices`] as far as `policy` lets them (made only when there
    /// are devices: it reads the host).
    pub devices: Vec<(String, Spec)>,
    policy: Option<super::devices::Policy>,
    /// The `setup` hook, run in [`Step::Setup`].
    setup: Option<Hooks>,
    /// The file's limits and environment for the new instance, given
    /// when it is made.
    pub settings: BTreeMap<String, String>,
}

impl Plan {
    /// For `container create`: every step unless skipped.
    pub fn for_create(project: &Project, name: &str, args: &ProvisionOptions) -> Result<Plan> {
        let (user, password) = project.dev_user(name);
        names::validate_user(&user).map_err(|why| {
            Error::InvalidConfig(format!(
                "`{}`: the dev user of `{name}`: {why}",
                project.path().display()
            ))
        })?;
        // `up` makes the instance of an entry that may record devices.
        let mut devices = super::devices::recorded(project, name);
        if let Some(path) = &args.mount_project {
            let path = if path.is_empty() {
                format!("/home/{user}/{}", project.name())
            } else {
                path.clone()
            };
            let path = super::exposure::container_path(&path)?;
            // Recorded as `.`: the project directory, in every checkout.
            devices.push((PROJECT_DEVICE.into(), Spec::disk(".", &path, true, false)));
            // Asked for here, read-write: remembered for this machine (a
            // checkout's file alone gets it read-only where it holds
            // `.git`). Failing to remember costs only that note later.
            let config =
                std::fs::canonicalize(project.path()).unwrap_or(project.path().to_path_buf());
            let _ = super::exposure::Approvals::load(&config)
                .approve(&super::exposure::canonical_dir(project), true);
        }
        let devenv = project.config().dev_env(name);
        let setup = (args.provision && args.setup && !devenv.setup.is_empty()).then(|| Hooks {
            stage: HookStage::Setup,
            commands: devenv.setup.clone(),
            user: user.clone(),
            cwd: super::hooks::project_mount(project.dir(), &devices),
        });
        let mut steps = Vec::new();
        if args.provision {
            steps.extend([Step::Ready, Step::User, Step::Ssh]);
        }
        if !devices.is_empty() {
            steps.push(Step::Devices);
        }
        if setup.is_some() {
            steps.push(Step::Setup);
        }
        if args.provision && args.initial_snapshot {
            steps.push(Step::InitialSnapshot);
        }
        let keys = if args.provision {
            public_keys(&args.ssh_keys)?
        } else {
            Vec::new()
        };
        Ok(Plan {
            steps,
            spec: Provisioning {
                user,
                password,
                keys,
                ready_timeout: args.ready_timeout,
            },
            policy: (!devices.is_empty()).then(|| super::devices::Policy::for_project(project)),
            devices,
            setup,
            settings: devenv.instance_config(),
        })
    }

    /// For `container clone`: the copy has its source's user, sshd and
    /// what its setup made (no setup runs again); it waits to boot and
    /// takes its own `initial-state`. Its settings are the file's for the
    /// new entry, over those the copy brings.
    pub fn for_clone(
        project: &Project,
        source: &str,
        name: &str,
        initial_snapshot: bool,
        ready_timeout: Duration,
    ) -> Plan {
        let (user, _) = project.dev_user(name);
        // Its source's mounts come with the copy (not its forwarded ports,
        // which the source keeps).
        let mut devices = super::devices::recorded(project, source);
        devices.retain(|(_, spec)| spec.kind == "disk");
        let mut steps = vec![Step::Ready];
        if !devices.is_empty() {
            steps.push(Step::Devices);
        }
        if initial_snapshot {
            steps.push(Step::InitialSnapshot);
        }
        Plan {
            steps,
            spec: Provisioning {
                user,
                password: None,
                keys: Vec::new(),
                ready_timeout,
            },
            policy: (!devices.is_empty()).then(|| super::devices::Policy::for_project(project)),
            devices,
            setup: None,
            settings: project.config().dev_env(name).instance_config(),
        }
    }

    /// Records the plan's devices the entry `name` lacks, inside the
    /// reserving transaction that records the entry.
    pub fn record_devices(&self, project: &mut Project, name: &str) -> Result<()> {
        let recorded = project
            .config()
            .containers
            .get(name)
            .map(|e| e.devices.clone())
            .unwrap_or_default();
        for (device, spec) in self
            .devices
            .iter()
            .filter(|(d, _)| !recorded.contains_key(d))
        {
            project.insert_device(name, device, spec, None)?;
        }
        Ok(())
    }

    /// The steps to run, in order: what a reserved entry records as its
    /// `pending_steps`.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// Whether the container was waited for until it booted.
    pub fn waited_for_boot(&self) -> bool {
        self.steps.contains(&Step::Ready)
    }

    /// Whether the dev user was set up (for the closing message).
    pub fn made_user(&self) -> bool {
        self.steps.contains(&Step::User)
    }

    /// Runs the steps on the instance `ticket` names, which the runtime has
    /// just made. Returns what to settle: the container with the first
    /// failure, and the `initial-state` snapshot when one was reserved.
    /// What the `setup` hook prints goes to `line`.
    pub fn run(
        &self,
        runner: &Runner<'_>,
        ticket: &Ticket,
        line: &Line,
    ) -> Vec<(Ticket, Result<()>)> {
        let mut ticket = ticket.clone();
        let mut warnings: Vec<String> = Vec::new();
        // The scripts' steps (ready, user, ssh) come first and go to the
        // runtime together, which may run them in one call; each is
        // recorded before its work starts, as any step.
        let scripts = self
            .steps
            .iter()
            .take_while(|s| matches!(s, Step::Ready | Step::User | Step::Ssh))
            .count();
        if scripts > 0 {
            let described: Vec<&str> = self.steps[..scripts].iter().map(|&s| describe(s)).collect();
            let mut begin = |step: Step| {
                let done = self.steps.iter().position(|&s| s == step).unwrap_or(0);
                runner.note_step(&ticket, step, &self.steps[done..])?;
                super::context::refuse_if_interrupted()
            };
            let result = runner.work(
                format!("{}: {}", ticket.instance, described.join(", ")),
                || {
                    Ok(runner.runtime.provision_steps(
                        &ticket.instance,
                        &self.steps[..scripts],
                        &self.spec,
                        &mut begin,
                    ))
                },
            );
            match result {
                Ok(Ok(done)) => warnings.extend(done),
                Ok(Err((step, err))) => return vec![(ticket, Err(failed_at(step, err)))],
                Err(err) => return vec![(ticket, Err(failed_at(self.steps[0], err)))],
            }
        }
        for (done, &step) in self.steps.iter().enumerate().skip(scripts) {
            if step == Step::InitialSnapshot {
                ticket.warning = (!warnings.is_empty()).then(|| warnings.join("; "));
                return self.initial_snapshot(runner, ticket);
            }
            let begun = runner.note_step(&ticket, step, &self.steps[done..]);
            line.set(describe(step));
            let message = format!("{}: {}", ticket.instance, describe(step));
            let result = begun.and_then(|()| match &self.setup {
                Some(hooks) if step == Step::Setup => runner.work_shown(message, || {
                    hooks
                        .run(runner.runtime.as_ref(), &ticket.instance, line)
                        .map(|()| None)
                }),
                _ => runner.work(message, || {
                    if step == Step::Devices {
                        return super::devices::apply_recorded(
                            runner.runtime.as_ref(),
                            self.policy.as_ref().expect("made with the devices"),
                            ticket.target.container(),
                            &ticket.instance,
                            &self.devices,
                            &self.spec.user,
                        );
                    }
                    runner.runtime.provision(&ticket.instance, step, &self.spec)
                }),
            });
            match result {
                Ok(Some(warning)) => warnings.push(warning),
                Ok(None) => {}
                Err(err) => return vec![(ticket, Err(failed_at(step, err)))],
            }
        }
        ticket.warning = (!warnings.is_empty()).then(|| warnings.join("; "));
        vec![(ticket, Ok(()))]
    }

    /// The last step: reserves `initial-state` on the container as a
    /// snapshot being created (so a kill leaves it for `doctor`), takes it,
    /// and hands both back to be settled together.
    fn initial_snapshot(&self, runner: &Runner<'_>, ticket: Ticket) -> Vec<(Ticket, Result<()>)> {
        let step = Step::InitialSnapshot;
        let target = Target::Snapshot(
            ticket.target.container().to_string(),
            INITIAL_SNAPSHOT.into(),
        );
        // The note first: the transaction below records the same step,
        // and a note of an earlier step must not be read over it.
        let reserved = runner.note_step(&ticket, step, &[step]).and_then(|()| {
            runner.step(&ticket, step, |project, op| {
                project.set_pending_steps(target.container(), &[step])?;
                let snapshot = Ticket::new(project, target.clone(), Effect::Makes);
                project.insert_snapshot(
                    target.container(),
                    INITIAL_SNAPSHOT,
                    Some(INITIAL_DESCRIPTION),
                    &op.started_at,
                    Some(op),
                )?;
                Ok(snapshot)
            })
        });
        let snapshot = match reserved {
            Ok(snapshot) => snapshot,
            Err(err) => return vec![(ticket, Err(failed_at(step, err)))],
        };
        let taken = runner.work(format!("{}: {}", ticket.instance, describe(step)), || {
            runner
                .runtime
                .snapshot_create(&ticket.instance, INITIAL_SNAPSHOT)
        });
        let container = match &taken {
            Ok(()) => Ok(()),
            Err(err) => Err(failed_at(step, anyhow::anyhow!("{err:#}"))),
        };
        vec![(ticket, container), (snapshot, taken)]
    }
}

/// A step's failure, as the container's error. Never a refusal: the
/// container exists whatever the step did, so it must not be dropped.
fn failed_at(step: Step, err: anyhow::Error) -> anyhow::Error {
    anyhow::anyhow!("provisioning step `{step}` failed: {err:#}")
}

fn describe(step: Step) -> &'static str {
    match step {
        Step::Ready => "waiting for it to boot",
        Step::User => "creating the dev user",
        Step::Ssh => "enabling SSH",
        Step::Devices => "adding its devices",
        Step::Setup => "running its setup hook",
        Step::InitialSnapshot => "taking the initial-state snapshot",
        Step::Restart => "restarting it",
    }
}

/// The public keys to install: the files given, else every `~/.ssh/*.pub`
/// of the user who ran lxdev (under sudo, `SUDO_USER`'s). Only public keys
/// are read.
fn public_keys(files: &[PathBuf]) -> Result<Vec<String>> {
    let files = if files.is_empty() {
        default_key_files()
    } else {
        files.to_vec()
    };
    let mut keys = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("failed to read SSH public key `{}`", file.display()))?;
        if text.contains("PRIVATE KEY") {
            return Err(Error::Usage(format!(
                "`{}` is a private key; give the public one (`.pub`)",
                file.display()
            ))
            .into());
        }
        keys.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_string),
        );
    }
    Ok(keys)
}

fn default_key_files() -> Vec<PathBuf> {
    let Some(home) = crate::process::invoking_user_home() else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(Path::new(&home).join(".ssh"))
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "pub") && p.is_file())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}
