# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``autotls_metrics``, the one setting of metrics, checked before anything is written or pushed.

    autotls_metrics:
      textfile_dir: /var/lib/prometheus/node-exporter   # per host: write <dir>/autotls.prom
      textfile_name: autotls.prom
      mode: "0644"
      pushgateway_url: http://pushgateway.example.com:9091   # the run's metrics
      pushgateway_job: autotls
      pushgateway_grouping: {inventory: prod}
      pushgateway_username: ...
      pushgateway_password: ...
      pushgateway_timeout: 30
      pushgateway_validate_certs: true
      pushgateway_ca_path: /etc/ssl/certs/internal-ca.pem

Every key is optional; unknown keys are refused (a typo would silently turn metrics off).
"""

from __future__ import annotations

import os

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError
from ansible_collections.autotls.acme.plugins.module_utils._metrics.exposition import check_label_name
from ansible_collections.autotls.acme.plugins.module_utils._metrics.run import DEFAULT_JOB, check_url
from ansible_collections.autotls.acme.plugins.module_utils._metrics.textfile import (
    DEFAULT_FILE_NAME,
    DEFAULT_MODE,
    check_file_mode,
    check_name,
)

KEYS = ('textfile_dir', 'textfile_name', 'mode', 'pushgateway_url', 'pushgateway_job', 'pushgateway_grouping',
        'pushgateway_username', 'pushgateway_password', 'pushgateway_timeout', 'pushgateway_validate_certs',
        'pushgateway_ca_path')
MAX_TIMEOUT = 3600


def _string(value, key, where):
    if value is None or value == '':
        return None
    if not isinstance(value, str):
        raise ConfigurationError('%s.%s must be a string, got %r' % (where, key, value))
    return value


def metrics_settings(value, where='autotls_metrics'):
    """The checked settings: ``textfile_path`` (or None), ``mode``, and ``push`` (or None: no
    Pushgateway) with ``url``, ``job``, ``grouping``, ``username``, ``password``, ``timeout``,
    ``validate_certs``, ``ca_path``."""
    if value is None or value == '':
        value = {}
    if not isinstance(value, dict):
        raise ConfigurationError('%s must be a dict (keys: %s), got %r' % (where, ', '.join(KEYS), value))
    unknown = sorted(set(value) - set(KEYS))
    if unknown:
        raise ConfigurationError('%s has unknown key(s) %s; known keys: %s'
                                 % (where, ', '.join(unknown), ', '.join(KEYS)))
    settings = dict(textfile_path=None, mode=DEFAULT_MODE, push=None)
    directory = _string(value.get('textfile_dir'), 'textfile_dir', where)
    name = _string(value.get('textfile_name'), 'textfile_name', where) or DEFAULT_FILE_NAME
    if '/' in name:
        raise ConfigurationError('%s.textfile_name %r must be a file name, without a directory: set the directory '
                                 'in %s.textfile_dir' % (where, name, where))
    mode = value.get('mode', DEFAULT_MODE)
    check_file_mode(mode)
    settings['mode'] = '%04o' % check_file_mode(mode)
    if directory:
        if not os.path.isabs(directory):
            raise ConfigurationError('%s.textfile_dir %r must be an absolute path, e.g. '
                                     '/var/lib/prometheus/node-exporter' % (where, directory))
        settings['textfile_path'] = check_name(directory.rstrip('/') + '/' + name)
    url = _string(value.get('pushgateway_url'), 'pushgateway_url', where)
    if url:
        grouping = value.get('pushgateway_grouping') or {}
        if not isinstance(grouping, dict):
            raise ConfigurationError('%s.pushgateway_grouping must be a dict of labels, got %r' % (where, grouping))
        for label in grouping:
            check_label_name(label)
            if label == 'job':
                raise ConfigurationError('%s.pushgateway_grouping must not set job: use %s.pushgateway_job'
                                         % (where, where))
        timeout = value.get('pushgateway_timeout', 30)
        try:
            timeout = float(timeout)
        except (TypeError, ValueError):
            timeout = None
        if timeout is None or not 0 < timeout <= MAX_TIMEOUT:
            raise ConfigurationError('%s.pushgateway_timeout must be a number of seconds from 0 to %d, got %r'
                                     % (where, MAX_TIMEOUT, value.get('pushgateway_timeout')))
        validate = value.get('pushgateway_validate_certs', True)
        if not isinstance(validate, bool):
            raise ConfigurationError('%s.pushgateway_validate_certs must be true or false, got %r' % (where, validate))
        settings['push'] = dict(
            url=check_url(url), job=_string(value.get('pushgateway_job'), 'pushgateway_job', where) or DEFAULT_JOB,
            grouping=dict((str(k), '' if v is None else str(v)) for k, v in grouping.items()),
            username=_string(value.get('pushgateway_username'), 'pushgateway_username', where),
            password=_string(value.get('pushgateway_password'), 'pushgateway_password', where),
            timeout=timeout, validate_certs=validate,
            ca_path=_string(value.get('pushgateway_ca_path'), 'pushgateway_ca_path', where))
    return settings


def metrics_hosts(hostvars, hosts, variable='autotls_metrics'):
    """``{host: textfile settings}`` of the ``hosts`` whose ``autotls_metrics`` sets a textfile directory."""
    found = {}
    for host in hosts or []:
        try:
            value = hostvars[host].get(variable)
        except KeyError:
            value = None
        settings = metrics_settings(value, '%s of host %s' % (variable, host))
        if settings['textfile_path']:
            found[str(host)] = dict(path=settings['textfile_path'], mode=settings['mode'])
    return found
