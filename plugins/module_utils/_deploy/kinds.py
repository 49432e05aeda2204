# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The servers a host serves its certificates with: one class per kind, the one place each is described.

A host lists them in ``autotls_servers`` (default ``[nginx]``); the model
(``_model.servers``) validates each entry against its kind's ``OPTIONS`` and normalises
it into a plain dict (``Kind.normalize``) that travels to the host. A kind is:

* its settings (``OPTIONS``: name -> (check, default); a default may be ``REQUIRED``);
* the files it reads, beyond the standard set ``<autotls_cert_dir>/<name>/`` that every
  host gets (``forms``: one file per certificate, made of parts of the set, such as
  HAProxy's fullchain + key in one PEM), and the configuration it needs to serve them
  (``configs``: rendered text, such as Apache's virtual host of a certificate);
* the check run right after its files changed (``validate``, an argv; a failure puts
  the previous files back) and what applies them once the check passed (``reload``, an
  argv, or for nginx ``notify``, the handler topic of role nginx_reload);
* where the served certificate can be seen (``port``, for the served-serial check);
* for retirement, the files it writes for one certificate (``retired_paths``: its forms
  and configuration files) and its check with a retired certificate's files gone
  (``check_without``: the ``validate`` argv, or a check in Python for a kind without one).

Standard library only. To add a kind: subclass ``Kind``, fill in what differs, and add
it to ``KINDS``.
"""

from __future__ import annotations

import re

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError
from ansible_collections.autotls.acme.plugins.module_utils._deploy import traefik as _traefik
from ansible_collections.autotls.acme.plugins.module_utils._model.layout import FILES_BY_KIND, file_path
from ansible_collections.autotls.acme.plugins.module_utils._model.modes import normalize_mode
from ansible_collections.autotls.acme.plugins.module_utils._model.names import NAME_PATTERN, RULE

REQUIRED = object()
# The certificate name of a configuration file that serves them all (not a valid name).
SHARED = '(all)'
NAME_PLACEHOLDER = '{name}'
# A path written as it is into argv or a configuration file: absolute, no white space,
# quotes, glob characters or '..'.
_PATH = re.compile(r'/(?:[A-Za-z0-9._+@%=,:-]+/?)*')
_WORD = re.compile(r'[A-Za-z0-9._+@%=,:/-]+')


def _where(server, option):
    return "%s of server '%s'" % (option, server)


def check_path(value, server, option):
    """An absolute path without white space, quotes, globs or '..' (it reaches argv and config files)."""
    if (not isinstance(value, str) or not _PATH.fullmatch(value)
            or '..' in value.split('/') or '//' in value):
        raise ConfigurationError('%s must be an absolute path of letters, digits and ._+@%%=,:- (no spaces, quotes '
                                 "or '..'), such as /etc/haproxy/certs; got %r." % (_where(server, option), value))
    return value.rstrip('/') or '/'


def check_argv(value, server, option):
    """A command as a list of arguments (no shell runs it); [] runs nothing."""
    if isinstance(value, str):
        raise ConfigurationError('%s must be a list of arguments such as %s (no shell runs it), not the string %r.'
                                 % (_where(server, option), '[%s]' % ', '.join(value.split()) or '[cmd, arg]',
                                    value))
    if not isinstance(value, list) or not all(isinstance(arg, (str, int)) and not isinstance(arg, bool)
                                              and str(arg) != '' for arg in value):
        raise ConfigurationError('%s must be a list of non-empty arguments such as [apache2ctl, configtest], got %r.'
                                 % (_where(server, option), value))
    return [str(arg) for arg in value]


def check_port(value, server, option):
    """A TCP port, or None (no served-serial check)."""
    if value is None:
        return None
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
        raise ConfigurationError('%s must be a port number from 1 to 65535 (or null for no served-serial check), '
                                 'got %r.' % (_where(server, option), value))
    return value


def check_word(value, server, option):
    """A value written as it is (an address, a program name): no white space, quotes or braces."""
    if not isinstance(value, str) or not _WORD.fullmatch(value):
        raise ConfigurationError('%s must be one word of letters, digits and ._+@%%=,:/- (no spaces or quotes), '
                                 'got %r.' % (_where(server, option), value))
    return value


def check_address(value, server, option):
    """An address to listen on: '*', a name or IPv4 address, or an IPv6 address in brackets."""
    if isinstance(value, str) and (value == '*' or re.fullmatch(r'[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]', value)):
        return value
    raise ConfigurationError("%s must be '*', a host name or IPv4 address, or an IPv6 address in brackets such as "
                             '[::1]; got %r.' % (_where(server, option), value))


def check_topic(value, server, option):
    if value is None or value == '':
        return ''
    if not isinstance(value, str) or '\n' in value:
        raise ConfigurationError('%s must be a handler name or listen topic on one line, got %r.'
                                 % (_where(server, option), value))
    return value


def check_layout(value, server, option):
    """The files of a custom server: [{path, parts, mode}], path with {name} in its file name."""
    if not isinstance(value, list):
        raise ConfigurationError('%s must be a list of files such as [{path: "/etc/postfix/tls/{name}.pem", parts: '
                                 '[fullchain, key], mode: "0600"}], got %r.' % (_where(server, option), value))
    files = []
    for index, item in enumerate(value):
        where = '%s[%d]' % (option, index)
        if not isinstance(item, dict):
            raise ConfigurationError('%s must be a dict with path, parts and mode, got %r.'
                                     % (_where(server, where), item))
        unknown = sorted(set(item) - {'path', 'parts', 'mode'})
        if unknown:
            raise ConfigurationError('%s has unknown key %r: a file takes path, parts and mode.'
                                     % (_where(server, where), unknown[0]))
        path = item.get('path')
        if not isinstance(path, str) or NAME_PLACEHOLDER not in path.rsplit('/', 1)[-1]:
            raise ConfigurationError("%s must contain {name} in its file name (one file per certificate), such as "
                                     '/etc/postfix/tls/{name}.pem; got %r.' % (_where(server, where + '.path'), path))
        check_path(path.replace(NAME_PLACEHOLDER, 'name'), server, where + '.path')
        parts = item.get('parts')
        if (not isinstance(parts, list) or not parts
                or not all(isinstance(part, str) and part in FILES_BY_KIND for part in parts)):
            raise ConfigurationError('%s must be a list of %s (concatenated in that order), got %r.'
                                     % (_where(server, where + '.parts'), ', '.join(FILES_BY_KIND), parts))
        key = 'key' in parts
        mode = item.get('mode', '0600' if key else '0644')
        files.append(dict(path=path, parts=list(parts), key=key,
                          mode=normalize_mode(mode, _where(server, where + '.mode'), key=key)))
    return files


class Kind:
    """What every kind has; subclasses change the class attributes and methods that differ."""

    name = None
    # option -> (check(value, server, option) -> value, default); 'name' and 'kind' are common to all.
    OPTIONS = {
        'validate': (check_argv, []),
        'reload': (check_argv, []),
        'port': (check_port, 443),
    }

    def normalize(self, entry, label):
        """The validated settings: every option, defaults filled in."""
        server = dict(kind=self.name, name=label)
        for option, (check, default) in self.OPTIONS.items():
            if option in entry:
                server[option] = check(entry[option], label, option)
            elif default is REQUIRED:
                raise ConfigurationError("Server '%s' (kind %s) needs %s: %s"
                                         % (label, self.name, option, self.help(option)))
            else:
                server[option] = default() if callable(default) else default
        # Only nginx is reloaded through a handler topic (the role's autotls_cert_deploy_notify).
        server.setdefault('notify', '')
        return self.finish(server)

    def finish(self, server):
        """Settings that follow from others (such as a validate argv naming the config file)."""
        return server

    def help(self, option):
        return 'see docs/servers.md.'

    def forms(self, server, certificate):
        """The files this server reads beyond the standard set, for one certificate: [{path, parts, key, mode}].

        ``parts`` are kinds of files of the set (cert, chain, fullchain, key), concatenated;
        ``key`` tells that the file holds the private key (its mode must give others nothing);
        ``mode`` None takes the certificate's (key_mode for a key).
        """
        return []

    def configs(self, server, certificates, cert_dir):
        """The configuration this server needs to serve the certificates: [{path, content, name}].

        ``certificates`` are validated entries (name, domains, ...); ``cert_dir`` is where
        the standard sets are (``<cert_dir>/<name>/fullchain.pem``). ``name`` ties a file to
        one certificate (put back with it); ``SHARED`` marks a file of all of them. Written
        root-owned, mode 0644, checked with the server's files.
        """
        return []

    def config_paths(self, server, name):
        """The configuration files ``configs()`` writes for certificate ``name`` alone."""
        return []

    def retired_paths(self, server, name):
        """What this server's kind writes for certificate ``name`` beyond the standard set: its form
        files and its configuration files (what retirement takes away with the set)."""
        return [form['path'] for form in self.forms(server, {'name': name})] + self.config_paths(server, name)

    def check_without(self, server, cert_dir, names, run):
        """The server's check once the files of the certificates ``names`` are gone: (rc, out, err)
        from ``run(argv)``, or None when the server has no check."""
        if not server.get('validate'):
            return None
        return run(server['validate'])


class Nginx(Kind):
    """nginx reads <autotls_cert_dir>/<name>/{fullchain,privkey}.pem (role nginx_tls writes its servers)."""

    name = 'nginx'
    OPTIONS = dict(Kind.OPTIONS, validate=(check_argv, ['nginx', '-t']),
                   notify=(check_topic, 'autotls.acme : reload nginx'))


class HAProxy(Kind):
    """HAProxy reads one PEM per certificate (fullchain, then key) from a crt directory; SNI picks among them."""

    name = 'haproxy'
    OPTIONS = dict(Kind.OPTIONS, **{
        'crt_dir': (check_path, '/etc/haproxy/certs'),
        'config': (check_path, '/etc/haproxy/haproxy.cfg'),
        'binary': (check_word, 'haproxy'),
        'pid_file': (check_path, '/run/haproxy.pid'),
        'validate': (check_argv, None),
        'reload': (check_argv, None),
    })

    def finish(self, server):
        if server['validate'] is None:
            server['validate'] = [server['binary'], '-c', '-f', server['config']]
        if server['reload'] is None:
            # The master process (haproxy -W/-Ws, as Debian's unit runs it) reloads on SIGUSR2.
            server['reload'] = ['pkill', '-USR2', '--pidfile', server['pid_file']]
        return server

    def forms(self, server, certificate):
        return [dict(path='%s/%s.pem' % (server['crt_dir'], certificate['name']), parts=['fullchain', 'key'],
                     key=True, mode=None)]


class Apache(Kind):
    """Apache httpd with mod_ssl: a virtual host per certificate, on the standard set's files."""

    name = 'apache'
    OPTIONS = dict(Kind.OPTIONS, **{
        'conf_dir': (check_path, '/etc/apache2/sites-enabled'),
        'listen': (check_address, '*'),
        'document_root': (check_path, '/var/www/html'),
        'ctl': (check_word, 'apache2ctl'),
        'validate': (check_argv, None),
        'reload': (check_argv, None),
    })

    def finish(self, server):
        if server['validate'] is None:
            server['validate'] = [server['ctl'], 'configtest']
        if server['reload'] is None:
            server['reload'] = [server['ctl'], 'graceful']
        if server['port'] is None:
            raise ConfigurationError("port of server '%s' is the port of its virtual hosts: give a port number "
                                     'such as 443, not null.' % server['name'])
        return server

    def configs(self, server, certificates, cert_dir):
        configs = []
        for cert in certificates:
            domains = list(cert.get('domains') or [])
            plain = [d for d in domains if not d.startswith('*')]
            if not plain:
                raise ConfigurationError("Certificate '%s' has no domain without a wildcard for the ServerName of "
                                         "its Apache virtual host (server '%s'): add its apex domain."
                                         % (cert['name'], server['name']))
            directory = '%s/%s' % (cert_dir.rstrip('/'), cert['name'])
            lines = [
                '# Managed by autotls.acme (server %s): TLS virtual host of certificate %s.'
                % (server['name'], cert['name']),
                '<VirtualHost %s:%d>' % (server['listen'], server['port']),
                '    ServerName %s' % plain[0],
            ]
            lines += ['    ServerAlias %s' % name for name in domains if name != plain[0]]
            lines += [
                '    DocumentRoot %s' % server['document_root'],
                '    SSLEngine on',
                '    SSLCertificateFile %s' % file_path(directory, 'fullchain'),
                '    SSLCertificateKeyFile %s' % file_path(directory, 'key'),
                '</VirtualHost>',
            ]
            configs.append(dict(path=self.config_paths(server, cert['name'])[0],
                                content='\n'.join(lines) + '\n', name=cert['name']))
        return configs

    def config_paths(self, server, name):
        return ['%s/autotls-%s.conf' % (server['conf_dir'], name)]


class Custom(Kind):
    """Anything else: the files it reads, the check and the reload, given in the entry."""

    name = 'custom'
    OPTIONS = dict(Kind.OPTIONS, files=(check_layout, list), port=(check_port, None))

    def forms(self, server, certificate):
        return [dict(item, path=item['path'].replace(NAME_PLACEHOLDER, certificate['name']))
                for item in server['files']]


def check_seconds(value, server, option):
    """A bounded wait in whole seconds, 1 to 600."""
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 600:
        raise ConfigurationError('%s must be a number of seconds from 1 to 600, got %r.' % (_where(server, option), value))
    return value


class Traefik(Kind):
    """Traefik's file provider: one dynamic file per certificate (tls.certificates) in the directory it watches.

    Traefik has no check command and no reload: it applies the directory at once. So the
    certificate and key are loaded in Python before anything is swapped in, and the served
    serial (at address:port, SNI the certificate's first name) must become the new one within
    `wait` seconds after, or the previous files go back (_deploy/traefik.py).
    """

    name = 'traefik'
    OPTIONS = dict(Kind.OPTIONS, **{
        'dynamic_dir': (check_path, '/etc/traefik/dynamic'),
        'address': (check_word, '127.0.0.1'),
        'wait': (check_seconds, 30),
    })

    def finish(self, server):
        if server['port'] is None:
            raise ConfigurationError("port of server '%s' is where Traefik serves the certificates (its websecure "
                                     'entry point), for the served-serial check: give a port number such as 443, '
                                     'not null.' % server['name'])
        return server

    def configs(self, server, certificates, cert_dir):
        return [dict(path=self.config_paths(server, cert['name'])[0],
                     content=_traefik.render(server['name'], cert['name'], cert['domains'], cert_dir),
                     name=cert['name'])
                for cert in certificates]

    def config_paths(self, server, name):
        return [_traefik.config_path(server['dynamic_dir'], name)]

    def check_without(self, server, cert_dir, names, run):
        # No check command: no other file of the watched directory may still name the files.
        return _traefik.retirement_check(server, cert_dir, names)


KINDS = {kind.name: kind for kind in (Nginx(), HAProxy(), Apache(), Custom(), Traefik())}


def kind_names():
    return sorted(KINDS)


def server_label_ok(label):
    return isinstance(label, str) and NAME_PATTERN.fullmatch(label) is not None


LABEL_RULE = RULE
