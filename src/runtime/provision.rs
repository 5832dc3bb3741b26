//! What makes a container ready to use: the shell scripts a backend runs
//! inside it for each provisioning step, and what they are given.
//!
//! The scripts are POSIX `sh` and only use what Debian/Ubuntu (`useradd`,
//! group `sudo`), Fedora/Arch-like images (group `wheel`) and Alpine or
//! busybox images (`adduser`) all have. Secrets never appear on a command
//! line (where `ps` in the container would show them): the password and
//! the SSH keys are given on standard input.
//!
//! Exit status 3 from a script means "done, with a warning on stderr"
//! (sshd missing and not installable): the create goes on and the warning
//! is recorded on the entry.

use std::time::Duration;

/// What provisioning sets up in a container.
#[derive(Debug, Clone)]
pub struct Provisioning {
    /// The dev user (`containers.<name>.user.name`, else
    /// `defaults.user.name`, else `dev`).
    pub user: String,
    /// Set only when containers.yaml gives one; else the account is locked
    /// for password login and keys are the way in.
    pub password: Option<String>,
    /// `authorized_keys` lines for the user.
    pub keys: Vec<String>,
    /// How long the readiness step may wait.
    pub ready_timeout: Duration,
}

impl Provisioning {
    /// Standard input for [`USER_SCRIPT`]: the password on the first line
    /// (empty for none), then the keys.
    pub fn user_input(&self) -> Vec<u8> {
        let mut input = self.password.clone().unwrap_or_default();
        input.push('\n');
        for key in &self.keys {
            input.push_str(key.trim());
            input.push('\n');
        }
        input.into_bytes()
    }
}

/// A script's exit status that means "done, with a warning".
pub const WARNING_STATUS: i32 = 3;

/// Waits, after `exec` works at all, until the container has booted:
/// `cloud-init status --wait` when cloud-init exists, else
/// `systemctl is-system-running --wait` when systemd is PID 1 (running or
/// degraded count as booted). `$1`: seconds to wait at most.
pub const READY_SCRIPT: &str = r#"
limit=$1
if command -v cloud-init >/dev/null 2>&1; then
    timeout "$limit" cloud-init status --wait >/dev/null 2>&1 && exit 0
    echo "cloud-init did not finish within ${limit}s" >&2
    exit 1
fi
if [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then
    # Early in boot systemctl cannot reach systemd yet and prints nothing:
    # ask again until the limit.
    end=$(( $(date +%s) + limit ))
    while :; do
        state=$(timeout "$limit" systemctl is-system-running --wait 2>/dev/null)
        case $state in
            running|degraded) exit 0 ;;
        esac
        [ "$(date +%s)" -lt "$end" ] || break
        sleep 0.2
    done
    echo "systemd did not finish booting within ${limit}s (state: ${state:-unknown})" >&2
    exit 1
fi
exit 0
"#;

/// Creates the user (if missing) with a home in `/home/$1` (with
/// `useradd`, busybox `adduser`, or by hand in `/etc/passwd` where the
/// image has neither), adds it to
/// `sudo` or `wheel` with a passwordless sudoers drop-in, sets the password
/// from the first line of stdin or locks password login, and adds the
/// remaining stdin lines to `~/.ssh/authorized_keys`. Safe to run again.
pub const USER_SCRIPT: &str = r#"
set -e
user=$1
IFS= read -r password || true
keys=$(cat)
if ! id "$user" >/dev/null 2>&1; then
    if command -v useradd >/dev/null 2>&1; then
        shell=/bin/sh
        [ -x /bin/bash ] && shell=/bin/bash
        useradd -m -d "/home/$user" -s "$shell" "$user"
    elif command -v adduser >/dev/null 2>&1; then
        mkdir -p /home
        adduser -D -h "/home/$user" "$user"
    else
        # Neither (a minimal busybox image): what adduser does.
        uid=$(awk -F: '$3 >= 1000 && $3 < 60000 && $3 > max { max = $3 } END { print (max ? max + 1 : 1000) }' /etc/passwd)
        grep -q "^$user:" /etc/group || printf '%s:x:%s:\n' "$user" "$uid" >>/etc/group
        gid=$(awk -F: -v u="$user" '$1 == u { print $3 }' /etc/group)
        shell=/bin/sh
        [ -x /bin/bash ] && shell=/bin/bash
        printf '%s:x:%s:%s::/home/%s:%s\n' "$user" "$uid" "$gid" "$user" "$shell" >>/etc/passwd
        [ -f /etc/shadow ] && printf '%s:!:19000:0:99999:7:::\n' "$user" >>/etc/shadow
        mkdir -p "/home/$user"
        chown "$uid:$gid" "/home/$user"
    fi
fi
for group in sudo wheel; do
    if grep -q "^$group:" /etc/group; then
        if command -v usermod >/dev/null 2>&1; then
            usermod -aG "$group" "$user"
        elif command -v addgroup >/dev/null 2>&1; then
            addgroup "$user" "$group"
        fi
        break
    fi
done
warning=
# sudo looks the host name up; images without it in /etc/hosts make every
# sudo complain that it cannot resolve it.
host=$(hostname 2>/dev/null || true)
if [ -n "$host" ] && ! grep -qw "$host" /etc/hosts 2>/dev/null; then
    printf '127.0.1.1 %s\n' "$host" >>/etc/hosts
fi
if [ -d /etc/sudoers.d ] || command -v sudo >/dev/null 2>&1; then
    mkdir -p /etc/sudoers.d
    printf '%s ALL=(ALL) NOPASSWD:ALL\n' "$user" >"/etc/sudoers.d/.lxdev-$user"
    chmod 0440 "/etc/sudoers.d/.lxdev-$user"
    mv "/etc/sudoers.d/.lxdev-$user" "/etc/sudoers.d/lxdev-$user"
fi
if [ -n "$password" ] && command -v chpasswd >/dev/null 2>&1; then
    printf '%s:%s\n' "$user" "$password" | chpasswd
elif [ -n "$password" ]; then
    warning="the password in containers.yaml was not set: the image has no chpasswd"
    passwd -l "$user" >/dev/null 2>&1 || true
else
    passwd -l "$user" >/dev/null 2>&1 || true
fi
home=$(awk -F: -v u="$user" '$1 == u { print $6 }' /etc/passwd)
group=$(id -gn "$user")
mkdir -p "$home/.ssh"
touch "$home/.ssh/authorized_keys"
printf '%s\n' "$keys" | while IFS= read -r key; do
    [ -n "$key" ] || continue
    grep -qxF "$key" "$home/.ssh/authorized_keys" || printf '%s\n' "$key" >>"$home/.ssh/authorized_keys"
done
chmod 0700 "$home/.ssh"
chmod 0600 "$home/.ssh/authorized_keys"
chown -R "$user:$group" "$home/.ssh"
if [ -n "$warning" ]; then
    echo "$warning" >&2
    exit 3
fi
"#;

/// Enables and starts sshd, installing it with the image's package manager
/// when it is missing. A failed install exits [`WARNING_STATUS`]. Then,
/// whatever became of sshd, prints the container's global addresses as
/// [`ADDRESS_LINE`] lines (IPv4 first) and [`ADDRESSES_LISTED`], when it
/// has `ip` to list them: the address a create prints, without asking the
/// daemon once more.
pub const SSH_SCRIPT: &str = r#"
(
if ! command -v sshd >/dev/null 2>&1 && [ ! -x /usr/sbin/sshd ]; then
    if command -v apt-get >/dev/null 2>&1; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server >/dev/null 2>&1 ||
            { echo "SSH is off: openssh-server could not be installed with apt-get (no network?)" >&2; exit 3; }
    elif command -v dnf >/dev/null 2>&1; then
        dnf install -y -q openssh-server >/dev/null 2>&1 ||
            { echo "SSH is off: openssh-server could not be installed with dnf (no network?)" >&2; exit 3; }
    elif command -v pacman >/dev/null 2>&1; then
        pacman -S --noconfirm openssh >/dev/null 2>&1 ||
            { echo "SSH is off: openssh could not be installed with pacman (no network?)" >&2; exit 3; }
    elif command -v apk >/dev/null 2>&1; then
        apk add -q openssh-server >/dev/null 2>&1 ||
            { echo "SSH is off: openssh-server could not be installed with apk (no network?)" >&2; exit 3; }
    else
        echo "SSH is off: the image has no sshd and no package manager lxdev knows" >&2
        exit 3
    fi
fi
# An image built without host keys (so that its containers do not share
# them) needs them before sshd starts.
ssh-keygen -A >/dev/null 2>&1 || true
if [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then
    for unit in ssh sshd; do
        systemctl cat "$unit.service" >/dev/null 2>&1 || continue
        systemctl reset-failed "$unit.service" >/dev/null 2>&1 || true
        systemctl enable --now "$unit.service" >/dev/null 2>&1 && exit 0
        echo "sshd is installed but systemd could not start $unit.service" >&2
        exit 1
    done
    echo "sshd is installed but systemd has no ssh or sshd unit" >&2
    exit 1
elif command -v rc-service >/dev/null 2>&1; then
    rc-update add sshd default >/dev/null 2>&1 || true
    rc-service sshd start >/dev/null 2>&1 || { echo "sshd is installed but could not be started" >&2; exit 1; }
else
    mkdir -p /run/sshd
    "$(command -v sshd || echo /usr/sbin/sshd)" || { echo "sshd is installed but could not be started" >&2; exit 1; }
fi
)
status=$?
if command -v ip >/dev/null 2>&1; then
    for family in -4 -6; do
        ip -o "$family" addr show scope global 2>/dev/null |
            awk '$2 != "lo" { split($4, a, "/"); print "lxdev-address " a[1] }'
    done
    echo lxdev-addresses-listed
elif addresses=$(hostname -I 2>/dev/null); then
    # Debian's hostname without iproute2: every address but loopback and
    # link-local ones.
    for address in $addresses; do echo "lxdev-address $address"; done
    echo lxdev-addresses-listed
fi
exit $status
"#;

/// How [`SSH_SCRIPT`] prints an address: this, a space, the address.
pub const ADDRESS_LINE: &str = "lxdev-address";
/// The line [`SSH_SCRIPT`] prints once it has listed every address.
pub const ADDRESSES_LISTED: &str = "lxdev-addresses-listed";

/// The first address [`SSH_SCRIPT`] listed in `stdout`: `None` when it
/// listed none (`Some(None)`: no network), `None` when it could not list
/// them.
pub fn listed_address(stdout: &str) -> Option<Option<String>> {
    let lines: Vec<&str> = stdout.lines().map(str::trim).collect();
    if !lines.contains(&ADDRESSES_LISTED) {
        return None;
    }
    let listed: Vec<&str> = lines
        .iter()
        .filter_map(|line| line.strip_prefix(ADDRESS_LINE)?.strip_prefix(' '))
        .filter(|address| !address.is_empty())
        .collect();
    // IPv4 first, as the daemon's answer is read (`lxd/api.rs`).
    let first = listed.iter().find(|a| !a.contains(':')).or(listed.first());
    Some(first.map(|a| (*a).to_owned()))
}

/// Prints the uid, gid and home directory of user `$1`, one per line, or
/// exits [`NO_SUCH_USER`] when there is no such user (anything else is a
/// failure to find out, never read as "no user").
pub const USER_IDS_SCRIPT: &str = r#"
id -u "$1" >/dev/null 2>&1 || exit 4
id -u "$1" && id -g "$1" && awk -F: -v u="$1" '$1 == u { print $6 }' /etc/passwd
"#;

/// [`USER_IDS_SCRIPT`]'s exit status for a user the container lacks.
pub const NO_SUCH_USER: i32 = 4;

/// A user inside a container, for running commands as it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
}

impl ContainerUser {
    /// Parses [`USER_IDS_SCRIPT`]'s output.
    pub fn parse(name: &str, output: &str) -> Option<ContainerUser> {
        let mut lines = output.lines().map(str::trim);
        Some(ContainerUser {
            name: name.to_string(),
            uid: lines.next()?.parse().ok()?,
            gid: lines.next()?.parse().ok()?,
            home: lines.next().filter(|h| !h.is_empty())?.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_input_puts_the_password_first_and_one_key_per_line() {
        let spec = Provisioning {
            user: "dev".into(),
            password: None,
            keys: vec!["ssh-ed25519 AAA a@b\n".into(), " ssh-rsa BBB c@d".into()],
            ready_timeout: Duration::from_secs(1),
        };
        assert_eq!(
            spec.user_input(),
            b"\nssh-ed25519 AAA a@b\nssh-rsa BBB c@d\n"
        );
    }

    #[test]
    fn the_listed_address_is_the_first_or_none() {
        assert_eq!(listed_address(""), None);
        assert_eq!(listed_address("lxdev-address 10.0.0.2\n"), None);
        assert_eq!(listed_address("lxdev-addresses-listed\n"), Some(None));
        assert_eq!(
            listed_address(
                "lxdev-address fd42::2\nlxdev-address 10.0.0.2\nlxdev-addresses-listed\n"
            ),
            Some(Some("10.0.0.2".to_owned()))
        );
    }

    #[test]
    fn user_ids_parse() {
        assert_eq!(
            ContainerUser::parse("dev", "1000\n1000\n/home/dev\n"),
            Some(ContainerUser {
                name: "dev".into(),
                uid: 1000,
                gid: 1000,
                home: "/home/dev".into()
            })
        );
        assert_eq!(ContainerUser::parse("dev", "1000\n"), None);
    }
}
