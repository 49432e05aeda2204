# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""AWX's ways of running a job, reproduced for ansible-runner (the runner AWX uses).

What AWX does for a job, and what stands in for it here:

* A private data dir per job: ``project/`` (the project's checkout), ``inventory/hosts``,
  ``env/extravars``, ``env/envvars``, ``env/settings`` (:func:`make_private_data_dir`).
* The inventory as AWX writes it: an executable script that prints the inventory's JSON,
  made by AWX's ``Inventory.get_script_data`` (awx/main/models/inventory.py). For a slice
  of a sliced job template it holds only that slice's hosts: the enabled hosts sorted by
  name, every ``count``-th from ``number - 1`` on; every group keeps its variables and
  lists only its hosts in the slice; every group is a child of ``all``
  (:func:`inventory_script`).
* The extra variables AWX adds to every job (``awx_meta_vars`` in
  awx/main/models/unified_jobs.py and jobs.py), with both the ``awx_`` and ``tower_``
  prefixes (:func:`meta_vars`). A slice runs in a workflow job that AWX makes from the
  sliced job template and that carries its name; AWX passes no slice number or count.
* Custom credential types: their ``extra_vars`` injectors rendered in a Jinja sandbox (an
  input left empty renders as an empty string; nested mappings with their keys), dumped with every string ``!unsafe``, into
  a file of their own passed with ``-e @file``.
"""

import glob
import json
import os
import re
import shlex
import shutil
import threading

import ansible_runner
import yaml
from jinja2.sandbox import ImmutableSandboxedEnvironment

PREFIXES = ('awx', 'tower')


class _UnsafeDumper(yaml.SafeDumper):
    """Every string, keys included, as ``!unsafe``: how AWX writes injected extra vars."""

    def represent_str(self, data):
        return self.represent_scalar('!unsafe', data)


_UnsafeDumper.add_representer(str, _UnsafeDumper.represent_str)


def load_credential_type(directory, name):
    with open(os.path.join(directory, name), encoding='utf-8') as handle:
        return yaml.safe_load(handle)


# The names AWX accepts for injected extra vars and environment variables (its injector
# schema): a credential type with another name is refused when it is created.
AWX_EXTRA_VAR_NAME = re.compile(r'^[a-zA-Z_{}]+[a-zA-Z0-9_{}]*$')
AWX_ENV_NAME = re.compile(r'^[a-zA-Z_]+[a-zA-Z0-9_]*$')


def _check_injector_names(injectors):
    for name in injectors.get('extra_vars', {}):
        assert AWX_EXTRA_VAR_NAME.match(name), 'AWX refuses the extra var name %r' % name
    for name in injectors.get('env', {}):
        assert AWX_ENV_NAME.match(name), 'AWX refuses the environment variable name %r' % name


def render_injected_extra_vars(credential_type, inputs):
    """The extra vars a credential of ``credential_type`` with ``inputs`` gives a job.

    As AWX does it: only inputs with a value are in the template namespace (so an empty
    one renders as an empty string), each injector is rendered in an immutable sandbox.
    """
    _check_injector_names(credential_type['injectors'])
    fields = {field['id'] for field in credential_type['inputs']['fields']}
    assert set(inputs) <= fields, 'unknown inputs %s' % sorted(set(inputs) - fields)
    missing = set(credential_type['inputs'].get('required', [])) - {k for k, v in inputs.items() if v}
    assert not missing, 'required inputs left empty: %s' % sorted(missing)
    namespace = {key: value for key, value in inputs.items() if value}
    sandbox = ImmutableSandboxedEnvironment()

    # Mappings and lists are walked, their keys rendered as well as their values, as AWX does.
    def rendered(node):
        if isinstance(node, dict):
            return {rendered(key): rendered(value) for key, value in node.items()}
        if isinstance(node, list):
            return [rendered(item) for item in node]
        return sandbox.from_string(node).render(**namespace)

    return rendered(credential_type['injectors']['extra_vars'])


def inventory_script(all_vars, groups, hostvars, slice_number=1, slice_count=1, host_ids=None):
    """The inventory AWX gives a job (slice ``slice_number`` of ``slice_count``), as a script.

    ``all_vars``: the inventory's variables; ``groups``: ``{name: {'vars': {...},
    'hosts': [...], 'children': [...]}}``; ``hostvars``: ``{host: {...}}`` (every enabled
    host). Returns ``(script text, data)``.
    """
    names = sorted(hostvars)
    if slice_count > 1 and slice_number > 0:
        names = names[slice_number - 1::slice_count]
    in_slice = set(names)
    data = {'all': {}}
    if all_vars:
        data['all']['vars'] = all_vars
    grouped = set()
    for name, group in groups.items():
        info = {}
        members = [h for h in group.get('hosts', []) if h in in_slice]
        if members:
            info['hosts'] = members
            grouped.update(members)
        if group.get('children'):
            info['children'] = list(group['children'])
        if group.get('vars'):
            info['vars'] = group['vars']
        if info:
            data[name] = info
    data['all']['hosts'] = [h for h in names if h not in grouped]
    if groups:
        data['all']['children'] = list(groups)
    host_ids = host_ids or {h: index for index, h in enumerate(sorted(hostvars), 1)}
    data['_meta'] = {'hostvars': {}}
    for host in names:
        variables = dict(hostvars[host])
        for prefix in ('host', 'tower'):
            variables['remote_%s_enabled' % prefix] = 'true'
            variables['remote_%s_id' % prefix] = host_ids[host]
        data['_meta']['hostvars'][host] = variables
    script = '#! /usr/bin/env python3\n# -*- coding: utf-8 -*-\nprint(%r)\n' % json.dumps(data)
    return script, data


def meta_vars(job_id, job_template, launch_type='workflow', workflow_job_id=None, workflow_job=None,
              inventory='autotls', inventory_id=1, job_template_id=None, schedule=None):
    """The extra variables AWX adds to a job, with both prefixes."""
    values = {'job_id': job_id, 'job_launch_type': launch_type,
              'job_template_id': job_template_id or job_id * 10, 'job_template_name': job_template,
              'inventory_id': inventory_id, 'inventory_name': inventory,
              'project_revision': 'a' * 40, 'project_scm_branch': 'main'}
    if workflow_job_id is not None:
        values.update(workflow_job_id=workflow_job_id, workflow_job_name=workflow_job,
                      workflow_job_launch_type='scheduled' if schedule else 'manual')
        if schedule:
            values.update(parent_job_schedule_id=1, parent_job_schedule_name=schedule)
    return {'%s_%s' % (prefix, key): value for prefix in PREFIXES for key, value in values.items()}


def make_private_data_dir(path, project, inventory, extravars, envvars, credentials=()):
    """A private data dir as AWX prepares one for a job; returns the ``-e @file`` args.

    ``project``: a directory to copy, or ``{name: text}`` files. ``inventory``: a dict
    (written as YAML) or a script's text (written executable, as AWX writes it).
    ``credentials``: one ``{var: value}`` dict per custom credential, each in its own file.
    """
    os.makedirs(os.path.join(path, 'env'))
    os.makedirs(os.path.join(path, 'inventory'))
    if isinstance(project, dict):
        os.makedirs(os.path.join(path, 'project'))
        for name, text in project.items():
            with open(os.path.join(path, 'project', name), 'w', encoding='utf-8') as handle:
                handle.write(text)
    else:
        shutil.copytree(project, os.path.join(path, 'project'))
    script = isinstance(inventory, str)
    files = {
        'inventory/hosts': inventory if script else yaml.safe_dump(inventory, sort_keys=False),
        'env/extravars': yaml.safe_dump(extravars, sort_keys=False),
        'env/envvars': yaml.safe_dump(envvars, sort_keys=False),
        # What AWX puts there for a job: no output of the runner's own, a job timeout.
        'env/settings': yaml.safe_dump({'suppress_ansible_output': True, 'job_timeout': 600,
                                        'pexpect_timeout': 5, 'pexpect_use_poll': True}),
    }
    args = []
    for index, injected in enumerate(credentials):
        name = 'env/credential_extra_vars_%d' % index
        files[name] = yaml.dump(injected, Dumper=_UnsafeDumper, default_flow_style=False)
        args += ['-e', '@' + os.path.join(path, name)]
    for name, text in files.items():
        with open(os.path.join(path, name), 'w', encoding='utf-8') as handle:
            handle.write(text)
        os.chmod(os.path.join(path, name), 0o700 if (script and name == 'inventory/hosts') else 0o600)
    return args


class Job:
    """One ansible-runner run and what it left: status, events, stdout."""

    def __init__(self, runner):
        self.runner = runner
        self.status = runner.status
        self.rc = runner.rc
        self.events = list(runner.events)
        self.stdout = runner.stdout.read()
        self.event_files = ''
        for path in sorted(glob.glob(os.path.join(runner.config.artifact_dir, 'job_events', '*.json'))):
            with open(path, encoding='utf-8') as handle:
                self.event_files += handle.read()

    def results(self, task):
        """The result events of ``task`` (its name without the role prefix)."""
        return [e for e in self.events
                if e['event'] in ('runner_on_ok', 'runner_on_skipped', 'runner_on_failed')
                and e['event_data'].get('task') == task]

    def result(self, task):
        """The last result of ``task`` that ran, else its last (skipped) one.

        Plays share task names (renew.yml imports retire.yml, whose store steps are named
        as issue.yml's and are skipped unless retirement is on): a skipped namesake after
        the step that ran must not hide it.
        """
        found = self.results(task)
        assert found, 'no result for task %r; tasks seen: %s' % (task, sorted(self.tasks()))
        ran = [e for e in found if e['event'] != 'runner_on_skipped']
        return (ran or found)[-1]

    def res(self, task):
        return self.result(task)['event_data']['res']

    def tasks(self):
        return {e['event_data'].get('task') for e in self.events if e['event_data'].get('task')}

    def actions(self):
        """The modules and actions the job ran (task results only)."""
        return {e['event_data'].get('task_action') for e in self.events
                if e['event'].startswith('runner_on_') and e['event_data'].get('task_action')}

    def role_results(self, role):
        return [e for e in self.events if e['event'] == 'runner_on_ok' and e['event_data'].get('role') == role]


def run_job(private_data_dir, cmdline_args, playbook='renew.yml'):
    runner = ansible_runner.run(private_data_dir=private_data_dir, playbook=playbook,
                                ident='job', cmdline=shlex.join(cmdline_args), quiet=True)
    job = Job(runner)
    if job.status != 'successful':
        print(job.stdout)
    return job


def run_jobs_at_once(specs):
    """Start every ``(private_data_dir, cmdline_args, playbook)`` job at the same time, as
    AWX starts the slices of a sliced job; returns their Jobs, in order, once all ended."""
    jobs = [None] * len(specs)
    barrier = threading.Barrier(len(specs))

    def one(index, spec):
        barrier.wait()
        jobs[index] = run_job(*spec)

    threads = [threading.Thread(target=one, args=(i, spec)) for i, spec in enumerate(specs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return jobs
