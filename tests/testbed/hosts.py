# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Test hosts: small web servers on this machine that Ansible reaches over real SSH.

A test host is a mount + UTS namespace (`unshare --mount --uts --propagation private`)
held open by a `sleep` process, with its own sshd on 127.0.0.(10+index):22. Inside it:

- /etc, /var and /srv are overlays (copy-on-write) over the machine's own: a host starts
  with the machine's files (nginx config, /etc/ssl, ca-certificates.conf...) and every
  change it makes stays in that host's upper directory. The machine's real /etc/nginx,
  trust store and /etc/hosts are never written. Paths that do not exist on the machine
  (/etc/autotls, /var/www/acme) are made inside the overlay.
- /etc/nginx/sites-enabled/default is removed (Debian's default site listens on
  0.0.0.0:80 and [::]:80), so an nginx in a host listens only where the tests say.
- /etc/hosts (all test hosts' names) and /etc/hostname are per host; so is the hostname.
- /root is a per-host home (authorized_keys for the run's ed25519 key, ~/.ansible/tmp),
  /usr/local/share/ca-certificates an empty per-host directory, /run a tmpfs
  (pid files of sshd and nginx stay per host; /run/sshd is made there).
- The network is shared: hosts differ by address only. /tmp is shared too.

`stop()` kills every process whose /proc/PID/ns/mnt is the host's namespace (an nginx
started by Ansible inside the host is nobody's child here), then the holder. A lock file
per address (`<tmp>/autotls-testhosts-<uid>/127.0.0.N.lock`) keeps two test runs from
using one address at once; the next user of an address kills what a crashed run left
running in its namespace (recorded in `127.0.0.N.json`).

No pytest here: see fixtures_hosts.py for the fixtures and the inventory writer.
"""

import atexit
import concurrent.futures
import errno
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from .processes import ProcessError, start_process, wait_until

UNSHARE = '/usr/bin/unshare'
NSENTER = '/usr/bin/nsenter'
SSHD = '/usr/sbin/sshd'
SSH = '/usr/bin/ssh'
HOST_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
# Trees a host gets a copy-on-write view of (only those that exist on the machine).
OVERLAY_TREES = ('/etc', '/var', '/srv')
SSH_OPTIONS = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null']
LOCK_DIR = os.path.join(tempfile.gettempdir(), 'autotls-testhosts-%d' % os.getuid())

_started = {}  # id(host) -> TestHost, launched and not yet stopped
_started_lock = threading.Lock()


class HostError(RuntimeError):
    """A test host could not be started (address taken, sshd failed, ...)."""


class AddressBusy(HostError):
    """Another test host (maybe of another test run) holds the address."""


# ---- processes by namespace, listeners by address ----------------------------------

def _ns_id(pid, kind='mnt'):
    """'mnt:[4026532...]' for a live process, None when it is gone (or a zombie)."""
    try:
        return os.readlink('/proc/%d/ns/%s' % (pid, kind))
    except OSError:
        return None


def _pids():
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            yield int(entry)


def _has_signature(pid, signature):
    try:
        with open('/proc/%d/mountinfo' % pid) as f:
            return signature in f.read()
    except OSError:
        return False


def pids_in_namespace(mnt_ns, uts_ns=None, signature=None):
    """Pids of the live processes in mount namespace `mnt_ns` (and UTS `uts_ns` if given).

    The kernel reuses a namespace's id as soon as the namespace is gone, so an id alone
    can name someone else's new namespace: `signature`, a string that must be in the
    process's /proc/PID/mountinfo (a test host's overlay upperdir), makes it certain.
    """
    found = []
    for pid in _pids():
        if (_ns_id(pid, 'mnt') == mnt_ns and (uts_ns is None or _ns_id(pid, 'uts') == uts_ns)
                and (signature is None or _has_signature(pid, signature))):
            found.append(pid)
    return found


def process_name(pid):
    try:
        with open('/proc/%d/comm' % pid) as f:
            return f.read().strip()
    except OSError:
        return None


def kill_namespace(mnt_ns, uts_ns=None, signature=None, timeout=3.0):
    """SIGTERM every process in the namespace, SIGKILL what is left after `timeout` s.

    Loops until none is left, so processes forked meanwhile (sshd accepting a connection,
    nginx starting a worker) go too. Returns the pids that were signalled.
    """
    signalled = set()
    deadline = time.monotonic() + timeout
    sig = signal.SIGTERM
    while True:
        pids = pids_in_namespace(mnt_ns, uts_ns, signature)
        if not pids:
            return signalled
        if time.monotonic() >= deadline:
            if sig == signal.SIGKILL and time.monotonic() >= deadline + 5:
                raise HostError('processes in %s survive SIGKILL: %s' % (
                    mnt_ns, [(p, process_name(p)) for p in pids]))
            sig = signal.SIGKILL
        for pid in pids:
            if pid in signalled and sig == signal.SIGTERM:
                continue
            try:
                os.kill(pid, sig)
                signalled.add(pid)
            except ProcessLookupError:
                pass
        time.sleep(0.01)


def _hex_to_ip(hex_addr):
    if len(hex_addr) == 8:
        return socket.inet_ntop(socket.AF_INET, bytes.fromhex(hex_addr)[::-1])
    raw = bytes.fromhex(hex_addr)
    # /proc/net/tcp6: four 32-bit words, each in host (little-endian) order.
    raw = b''.join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
    return socket.inet_ntop(socket.AF_INET6, raw)


def listening_sockets():
    """[(address, port, inode)] of every TCP listener on the machine (IPv4 and IPv6)."""
    found = []
    for table in ('/proc/net/tcp', '/proc/net/tcp6'):
        try:
            with open(table) as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] != '0A':  # LISTEN
                continue
            addr, port = fields[1].split(':')
            found.append((_hex_to_ip(addr), int(port, 16), int(fields[9])))
    return found


def listeners(address, port):
    """[(bound address, inode)] of TCP listeners that accept connections to address:port
    (bound to it exactly, or to 0.0.0.0 / ::)."""
    wildcard = ('0.0.0.0', '::', '::ffff:0.0.0.0')
    return [(a, inode) for a, p, inode in listening_sockets()
            if p == port and (a == address or a in wildcard or a == '::ffff:' + address)]


def pids_with_socket(inodes):
    """{pid: name} of the processes holding any of the socket inodes."""
    wanted = {'socket:[%d]' % i for i in inodes}
    owners = {}
    for pid in _pids():
        try:
            fds = os.listdir('/proc/%d/fd' % pid)
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink('/proc/%d/fd/%s' % (pid, fd)) in wanted:
                    owners[pid] = process_name(pid)
                    break
            except OSError:
                continue
    return owners


def describe_listeners(address, port):
    """'0.0.0.0:80 held by nginx[123]' and the like, '' when nothing listens."""
    found = listeners(address, port)
    if not found:
        return ''
    owners = pids_with_socket([inode for _addr, inode in found])
    held = ', '.join('%s[%d]' % (name, pid) for pid, name in sorted(owners.items())) or 'unknown'
    return '%s on port %d held by %s' % (sorted({a for a, _inode in found}), port, held)


# ---- keys ---------------------------------------------------------------------------

def write_ed25519_keypair(private_path, comment):
    """An OpenSSH ed25519 key pair: `private_path` (0600) and `private_path`.pub."""
    key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH)
    _write(private_path, private, 0o600)
    public_line = public + b' ' + comment.encode() + b'\n'
    _write(private_path + '.pub', public_line, 0o644)
    return public_line


def _write(path, data, mode):
    if isinstance(data, str):
        data = data.encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, 'wb') as f:
        f.write(data)
    os.chmod(path, mode)


# ---- the address lock -----------------------------------------------------------------

class AddressLock:
    """An exclusive flock per address across processes, plus a record of the namespace
    that uses it, so the next owner can clean up after a run that died."""

    def __init__(self, address):
        os.makedirs(LOCK_DIR, exist_ok=True)
        self.address = address
        self.lock_path = os.path.join(LOCK_DIR, '%s.lock' % address)
        self.record_path = os.path.join(LOCK_DIR, '%s.json' % address)
        self._fd = None

    def try_acquire(self):
        if self._fd is not None:
            return True  # ours already (a host restarted without giving the address up)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                return False
            raise
        self._fd = fd
        self._clean_stale()
        return True

    def acquire(self, timeout):
        """Wait up to `timeout` s for the address (0: try once); AddressBusy if still held."""
        if self.try_acquire():
            return
        if timeout > 0:
            try:
                wait_until(self.try_acquire, timeout, 'address %s' % self.address, interval=0.1)
                return
            except ProcessError:
                pass
        raise AddressBusy('address %s is held by another test host (lock %s, record %s)'
                          % (self.address, self.lock_path, self.record_path))

    def _clean_stale(self):
        try:
            with open(self.record_path) as f:
                record = json.load(f)
        except (OSError, ValueError):
            return
        # Ids are reused once a namespace is gone: the overlay's upperdir must match too
        # (without it, leave them: the address check then names what still listens).
        if record.get('signature'):
            kill_namespace(record['mnt_ns'], record['uts_ns'], record['signature'])
        os.unlink(self.record_path)

    def record(self, mnt_ns, uts_ns, signature, holder_pid):
        tmp = self.record_path + '.tmp'
        with open(tmp, 'w') as f:
            json.dump({'mnt_ns': mnt_ns, 'uts_ns': uts_ns, 'signature': signature,
                       'holder_pid': holder_pid,
                       'owner_pid': os.getpid()}, f)
        os.replace(tmp, self.record_path)

    def release(self):
        if self._fd is None:
            return
        try:
            os.unlink(self.record_path)
        except FileNotFoundError:
            pass
        os.close(self._fd)  # drops the flock
        self._fd = None

    @property
    def held(self):
        return self._fd is not None


# ---- the host -------------------------------------------------------------------------

_SETUP_SCRIPT = r'''
set -eu
D="$1"
for tree in %(trees)s; do
    mount -t overlay overlay \
        -o "lowerdir=$tree,upperdir=$D/overlay$tree.upper,workdir=$D/overlay$tree.work" "$tree"
done
mount --bind "$D/root" /root
mount --bind "$D/usr-local-ca" /usr/local/share/ca-certificates
mount -t tmpfs -o mode=0755,size=64m tmpfs-%(name)s /run
mkdir -p /run/sshd /run/lock
chmod 0755 /run/sshd
chmod 1777 /run/lock
rm -f /etc/nginx/sites-enabled/default
mkdir -p /etc/autotls /var/www/acme /var/log/nginx /var/lib/nginx
hostname "%(hostname)s"
touch "$D/ready"
exec sleep infinity
'''


class TestHost:
    """One test host. TestHost(name, index, workdir, fqdn=None): address 127.0.0.(10+index).

    start() -> self (ready for SSH); stop() (safe twice); run(cmd) -> (rc, out, err) inside
    the host; ssh(cmd) the same over SSH; path(p) -> the host's p as seen from here;
    inventory_vars() -> the Ansible connection vars. Also a context manager.
    """

    __test__ = False  # not a pytest test class, despite the name

    def __init__(self, name, index, workdir, fqdn=None, ssh_port=22, hostname=None,
                 lock_timeout=120.0):
        if not 1 <= index <= 245:
            raise ValueError('index must be 1..245 (address 127.0.0.(10+index)), not %r' % index)
        self.name = name
        self.index = index
        self.address = '127.0.0.%d' % (10 + index)
        self.fqdn = fqdn or name
        self.hostname = hostname or name.split('.')[0]
        self.ssh_port = ssh_port
        self.workdir = os.path.abspath(os.fspath(workdir))
        if any(c in self.workdir for c in ',:\n '):
            raise ValueError('workdir must not contain , : or blanks (overlay options): %r'
                             % self.workdir)
        self.lock_timeout = lock_timeout
        self.key_file = os.path.join(self.workdir, 'id_ed25519')
        # In the host's /proc/PID/mountinfo and nowhere else: names its namespace for sure.
        self.signature = 'upperdir=%s/overlay/etc.upper,' % self.workdir
        self.log_dir = os.path.join(self.workdir, 'logs')
        self.hosts_entries = [self]  # who is in /etc/hosts; see set_hosts_entries
        self.holder = None           # the namespace holder (Process)
        self.sshd = None             # sshd (Process)
        self.mnt_ns = self.uts_ns = None
        self.started_at = self.ready_at = None
        self._lock = AddressLock(self.address)
        self._stopped = False
        # After stop(): what was left (processes in the namespace, listeners on the
        # address), looked at before the address was released. [] when clean.
        self.leftovers = None

    # ---- life cycle ----

    def start(self, timeout=15.0):
        """Launch and wait (up to `timeout` s) until SSH logs in; returns self."""
        self.launch()
        return self.wait_ready(timeout)

    def launch(self):
        """Take the address, make the namespace and start sshd; does not wait for SSH."""
        self.started_at = time.monotonic()
        self._stopped = False
        self.holder = self.sshd = None
        self.mnt_ns = self.uts_ns = None
        with _started_lock:
            _started[id(self)] = self
        try:
            self._lock.acquire(self.lock_timeout)
            self._check_address_free()
            self._prepare_files()
            self._start_namespace()
            self._start_sshd()
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ready(self, timeout=15.0):
        """Wait until `ssh root@address true` works; returns self."""
        try:
            self.sshd.wait_ready(self._port_open, timeout, 'sshd of %s to listen' % self.name)
            self.sshd.wait_ready(lambda: self.ssh('true', timeout=10)[0] == 0, timeout,
                                 'ssh root@%s:%d true' % (self.address, self.ssh_port))
        except BaseException:
            self.stop()
            raise
        self.ready_at = time.monotonic()
        return self

    @property
    def startup_seconds(self):
        if self.started_at is None or self.ready_at is None:
            return None
        return self.ready_at - self.started_at

    def stop(self, release=True):
        """Kill every process in the host's namespace, then the holder; safe to call twice.

        release=False keeps the address (its lock) for a restart: no other test run can
        take it in between.
        """
        try:
            self._kill()
        finally:
            self._reap(release)

    def _kill(self):
        # Every process in the namespace, the holder included. Their sockets are closed
        # by the time they leave the namespace; the last one out then unmounts the
        # overlays, which takes the kernel ~0.1-0.3 s (waited for in _reap).
        if self._stopped or self.mnt_ns is None:
            return
        kill_namespace(self.mnt_ns, self.uts_ns, self.signature)

    def _reap(self, release=True):
        if self._stopped:
            if release:
                self._lock.release()
            return
        self._stopped = True
        try:
            for proc in (self.sshd, self.holder):
                if proc is not None:
                    proc.stop()
        finally:
            try:
                # Checked while the address is still ours: once the lock is released,
                # another test run may start a host on it at once.
                if self._lock.held:
                    self.leftovers = self._find_leftovers()
            finally:
                if release:
                    self._lock.release()
                with _started_lock:
                    _started.pop(id(self), None)

    def _find_leftovers(self):
        problems = []
        if self.mnt_ns is not None:
            pids = pids_in_namespace(self.mnt_ns, self.uts_ns, self.signature)
            if pids:
                problems.append('processes left in its namespace: %s'
                                % ['%s[%d]' % (process_name(p), p) for p in pids])
        for port in (self.ssh_port, 80, 443):
            busy = describe_listeners(self.address, port)
            if busy:
                problems.append('still listening: %s' % busy)
        return problems

    def reset(self, timeout=15.0):
        """Stop, forget every change the host made (overlays, home, /run) and start again
        (on the same address, kept meanwhile)."""
        self.stop(release=False)
        for part in ('overlay', 'root', 'usr-local-ca'):
            shutil.rmtree(os.path.join(self.workdir, part), ignore_errors=True)
        self.launch()
        return self.wait_ready(timeout)

    @property
    def running(self):
        return (not self._stopped and self.holder is not None and self.holder.alive())

    def processes(self):
        """{pid: name} of the processes now in the host's namespace."""
        if self.mnt_ns is None:
            return {}
        return {pid: process_name(pid)
                for pid in pids_in_namespace(self.mnt_ns, self.uts_ns, self.signature)}

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self):
        state = 'running' if self.running else 'stopped'
        return '<TestHost %s %s:%d %s>' % (self.name, self.address, self.ssh_port, state)

    # ---- inside the host ----

    @property
    def holder_pid(self):
        return self.holder.pid

    def path(self, path):
        """The host's `path` as seen from the test process (via /proc/<holder>/root)."""
        if not os.path.isabs(path):
            raise ValueError('absolute path expected: %r' % path)
        return '/proc/%d/root%s' % (self.holder_pid, path)

    def read_file(self, path, binary=False):
        with open(self.path(path), 'rb' if binary else 'r') as f:
            return f.read()

    def write_file(self, path, data, mode=0o644, make_dirs=True):
        """Write `data` to the host's `path` (its own view: overlays, tmpfs...)."""
        real = self.path(path)
        if make_dirs:
            os.makedirs(os.path.dirname(real), exist_ok=True)
        _write(real, data, mode)

    def exists(self, path):
        return os.path.lexists(self.path(path))

    def run(self, cmd, input=None, timeout=60, env=None, check=False):
        """Run `cmd` (a list, or a string for /bin/sh -c) inside the host's namespaces as root.

        The environment is a host's (PATH without the venv, HOME=/root, cwd /), plus `env`.
        Returns (rc, stdout, stderr) as text; check=True raises on a non-zero rc.
        """
        argv = ['/bin/sh', '-c', cmd] if isinstance(cmd, str) else [str(a) for a in cmd]
        run_env = {'PATH': HOST_PATH, 'HOME': '/root', 'LANG': 'C.UTF-8', 'USER': 'root',
                   'LOGNAME': 'root', 'SHELL': '/bin/sh'}
        run_env.update(env or {})
        full = [NSENTER, '--target', str(self.holder_pid), '--mount', '--uts', '--wd=/', '--'] + argv
        done = subprocess.run(full, input=input, capture_output=True, text=True, env=run_env, check=False,
                              timeout=timeout)
        if check and done.returncode != 0:
            raise HostError('%s: %r exited %d\nstdout: %s\nstderr: %s' % (
                self.name, cmd, done.returncode, done.stdout, done.stderr))
        return done.returncode, done.stdout, done.stderr

    def ssh(self, cmd, input=None, timeout=60):
        """Run a shell command on the host over SSH (as Ansible connects): (rc, out, err)."""
        full = [SSH, '-i', self.key_file, '-p', str(self.ssh_port), *SSH_OPTIONS,
                '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5', '-o', 'ControlMaster=no',
                '-o', 'ControlPath=none', '-o', 'LogLevel=ERROR',
                'root@%s' % self.address, cmd]
        done = subprocess.run(full, input=input, capture_output=True, text=True, timeout=timeout, check=False,
                              stdin=None if input is not None else subprocess.DEVNULL)
        return done.returncode, done.stdout, done.stderr

    def set_hosts_entries(self, hosts):
        """Rewrite the host's /etc/hosts to name `hosts` (TestHosts; self is always in)."""
        self.hosts_entries = list(hosts)
        if self not in self.hosts_entries:
            self.hosts_entries.append(self)
        text = self._hosts_text()
        if self.holder is not None and self.running:
            self.write_file('/etc/hosts', text)
        return text

    # ---- Ansible ----

    def inventory_vars(self):
        return {
            'ansible_host': self.address,
            'ansible_port': self.ssh_port,
            'ansible_user': 'root',
            'ansible_ssh_private_key_file': self.key_file,
            'ansible_ssh_common_args': ' '.join(SSH_OPTIONS),
            'ansible_python_interpreter': '/usr/bin/python3',
        }

    # ---- internals ----

    def _port_open(self):
        with socket.create_connection((self.address, self.ssh_port), timeout=1):
            return True

    def _check_address_free(self):
        busy = [d for d in (describe_listeners(self.address, p) for p in (self.ssh_port, 80, 443)) if d]
        if busy:
            raise HostError('%s: address %s is in use outside the test hosts: %s'
                            % (self.name, self.address, '; '.join(busy)))

    def _hosts_text(self):
        lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback']
        for host in sorted(self.hosts_entries, key=lambda h: h.index):
            names = [host.fqdn] + ([host.hostname] if host.hostname != host.fqdn else [])
            lines.append('%s\t%s' % (host.address, ' '.join(names)))
        return '\n'.join(lines) + '\n'

    def _prepare_files(self):
        wd = self.workdir
        os.makedirs(wd, exist_ok=True)
        os.makedirs(self.log_dir, exist_ok=True)
        try:
            os.unlink(os.path.join(wd, 'ready'))  # made again by the setup script
        except FileNotFoundError:
            pass
        self.trees = [t for t in OVERLAY_TREES if os.path.isdir(t)]
        for tree in self.trees:
            for part in ('upper', 'work'):
                os.makedirs(os.path.join(wd, 'overlay' + tree + '.' + part), exist_ok=True)
        etc_upper = os.path.join(wd, 'overlay/etc.upper')
        _write(os.path.join(etc_upper, 'hosts'), self._hosts_text(), 0o644)
        _write(os.path.join(etc_upper, 'hostname'), self.hostname + '\n', 0o644)
        # Home of root in the host: sshd (StrictModes) wants it and .ssh private.
        home = os.path.join(wd, 'root')
        os.makedirs(os.path.join(home, '.ssh'), exist_ok=True)
        os.chmod(home, 0o700)
        os.chmod(os.path.join(home, '.ssh'), 0o700)
        os.makedirs(os.path.join(wd, 'usr-local-ca'), exist_ok=True)
        if not os.path.exists(self.key_file):
            public = write_ed25519_keypair(self.key_file, 'autotls-test@%s' % self.name)
        else:
            with open(self.key_file + '.pub', 'rb') as f:
                public = f.read()
        _write(os.path.join(home, '.ssh', 'authorized_keys'), public, 0o600)
        self.host_key = os.path.join(wd, 'ssh_host_ed25519_key')
        write_ed25519_keypair(self.host_key, 'root@%s' % self.hostname)
        self.sshd_config = os.path.join(wd, 'sshd_config')
        _write(self.sshd_config, '\n'.join([
            'Port %d' % self.ssh_port,
            'ListenAddress %s' % self.address,
            'HostKey %s' % self.host_key,
            'PidFile /run/sshd.pid',
            'PermitRootLogin prohibit-password',
            'PubkeyAuthentication yes',
            'AuthorizedKeysFile .ssh/authorized_keys',
            'PasswordAuthentication no',
            'KbdInteractiveAuthentication no',
            'UsePAM no',
            'UseDNS no',
            # The client's first choice, sntrup761x25519, costs ~0.2 s per connection
            # on this machine; curve25519 alone makes a login ~2x faster.
            'KexAlgorithms curve25519-sha256,curve25519-sha256@libssh.org',
            'PrintMotd no',
            'PrintLastLog no',
            # Ansible opens several connections at once (forks, ControlMaster sessions).
            'MaxStartups 200',
            'MaxSessions 100',
            'AcceptEnv LANG LC_*',
            'Subsystem sftp internal-sftp',
            'LogLevel INFO',
        ]) + '\n', 0o644)

    def _start_namespace(self):
        script = _SETUP_SCRIPT % {'trees': ' '.join(self.trees), 'name': self.name,
                                  'hostname': self.hostname}
        self.holder = start_process(
            [UNSHARE, '--mount', '--uts', '--propagation', 'private', '--',
             '/bin/sh', '-c', script, 'setup-' + self.name, self.workdir],
            self.log_dir, name='namespace')
        ready = os.path.join(self.workdir, 'ready')
        self.holder.wait_ready(lambda: os.path.exists(ready), 10,
                               'namespace of %s to be set up' % self.name)
        self.mnt_ns = _ns_id(self.holder.pid, 'mnt')
        self.uts_ns = _ns_id(self.holder.pid, 'uts')
        if self.mnt_ns is None or self.mnt_ns == _ns_id(os.getpid(), 'mnt'):
            raise HostError('%s: no namespace of its own (holder %s)' % (self.name, self.holder))
        self._lock.record(self.mnt_ns, self.uts_ns, self.signature, self.holder.pid)

    def _start_sshd(self):
        self.sshd = start_process(
            [NSENTER, '--target', self.holder.pid, '--mount', '--uts', '--wd=/', '--',
             SSHD, '-D', '-e', '-f', self.sshd_config],
            self.log_dir, name='sshd',
            env={'PATH': HOST_PATH, 'LANG': 'C.UTF-8'})


def start_hosts(hosts, timeout=15.0):
    """Start several hosts in parallel (one thread each); returns them.

    If any fails, all are stopped and the first error is raised.
    """
    hosts = list(hosts)
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, len(hosts))) as pool:
        futures = [pool.submit(host.start, timeout) for host in hosts]
        errors = [f.exception() for f in futures]
    failed = [e for e in errors if e is not None]
    if failed:
        stop_hosts(hosts)
        raise failed[0]
    return hosts


def stop_hosts(hosts, release=True):
    """Stop hosts: kill all first, then wait for all (the kernel's unmounting overlaps).

    Every host is stopped even if one fails; the first error is raised after.
    release=False: keep the addresses for a restart (see TestHost.stop).
    """
    hosts = list(hosts)
    first = None
    for step in (lambda h: h._kill(), lambda h: h._reap(release)):
        for host in reversed(hosts):
            try:
                step(host)
            except Exception as e:  # keep stopping the others
                first = first or e
    if first is not None:
        raise first


def reset_hosts(hosts, timeout=15.0):
    """reset() several hosts in parallel: stopped, wiped and started fresh."""
    hosts = list(hosts)
    stop_hosts(hosts, release=False)
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, len(hosts))) as pool:
        errors = [f.exception() for f in [pool.submit(h.reset, timeout) for h in hosts]]
    failed = [e for e in errors if e is not None]
    if failed:
        stop_hosts(hosts)
        raise failed[0]
    link_hosts(hosts)
    return hosts


def link_hosts(hosts):
    """Make every host's /etc/hosts name all of `hosts`."""
    hosts = list(hosts)
    for host in hosts:
        host.set_hosts_entries(hosts)


@atexit.register
def _stop_all_hosts():
    with _started_lock:
        hosts = list(_started.values())
    for host in hosts:
        try:
            host.stop()
        except Exception:
            pass


__all__ = ['TestHost', 'HostError', 'AddressBusy', 'ProcessError', 'start_hosts', 'stop_hosts', 'reset_hosts',
           'link_hosts',
           'pids_in_namespace', 'kill_namespace', 'process_name', 'listeners', 'describe_listeners',
           'listening_sockets', 'write_ed25519_keypair']
