# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The YAML examples of the documentation, and what each of them must agree with.

Examples come from README.md, docs/*.md, roles/*/README.md (fenced ``yaml``/``yml``
blocks) and from the modules' EXAMPLES. Each has an identity, ``<file>#<heading>[n]``
(or ``<module file>:EXAMPLES``), so a failure names the doc to fix.

A block that is deliberately incomplete says so right before its fence, on its own line:
``<!-- not-a-test: <reason> -->``. Keep that rare.

Checks, by the shape of the example:
- tasks (a list of dicts with a module key): every ``autotls.acme.*`` task's arguments
  against that module's own argument spec (as its ``main()`` builds it);
- plays: their roles (and ``include_role``/``import_role`` tasks) against the roles'
  ``meta/argument_specs.yml`` entry points, their tasks as above;
- variables (a dict, as in group_vars/host_vars or AWX variables): every ``autotls_*``
  variable must be one the collection reads (a role argument spec or a playbook), its
  value must fit the role argument spec, and every declared certificate must pass the
  model of a declared certificate;
- inventories (``all: {children: ...}``): loaded by Ansible's own inventory parser.

Values that are Jinja templates are taken as "some value of the right type": only
literal values are checked against types and choices.
"""

from __future__ import annotations

import ast
import glob
import importlib
import os
import re
from dataclasses import dataclass, field

import yaml

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/testbed/..
COLLECTION = 'autotls.acme.'
NOT_A_TEST = re.compile(r'<!--\s*not-a-test:\s*(?P<reason>.*?)\s*-->')
FENCE = re.compile(r'^(?P<indent>\s*)```(?P<lang>[\w+-]*)\s*$')
TEMPLATE = re.compile(r'{{.*}}|{%.*%}', re.S)
DOC_GLOBS = ('README.md', 'docs/*.md', 'roles/*/README.md')

# Task keywords (not module names). Anything else in a task is its module.
TASK_KEYWORDS = {
    'name', 'action', 'args', 'any_errors_fatal', 'async', 'become', 'become_exe', 'become_flags',
    'become_method', 'become_user', 'changed_when', 'check_mode', 'collections', 'connection',
    'debugger', 'delay', 'delegate_facts', 'delegate_to', 'diff', 'environment', 'failed_when',
    'ignore_errors', 'ignore_unreachable', 'local_action', 'loop', 'loop_control', 'module_defaults',
    'no_log', 'notify', 'poll', 'port', 'register', 'remote_user', 'retries', 'run_once', 'tags',
    'throttle', 'timeout', 'until', 'vars', 'when', 'listen',
}
BLOCK_KEYS = ('block', 'rescue', 'always')
# Modules with an action plugin of the same name: what the plugin adds to the user's
# arguments before the module sees them.
ACTION_PLUGIN_ARGS = {
    # plugins/action/cert_files.py packs src_dir into one upload and passes its path as staged.
    'cert_files': lambda args: dict({k: v for k, v in args.items() if k != 'src_dir'}, staged='/tmp/staged.tar')
    if args.get('step') == 'install' and args.get('src_dir') else args,
}
ROLE_TASKS = ('ansible.builtin.include_role', 'ansible.builtin.import_role', 'include_role', 'import_role')


@dataclass
class Example:
    ident: str
    text: str
    skip_reason: str | None = None
    line: int = 0

    def load(self):
        return yaml.safe_load(self.text)


def _slug(heading):
    return re.sub(r'[^a-z0-9]+', '-', heading.lower()).strip('-') or 'top'


def markdown_examples(path):
    rel = os.path.relpath(path, REPO_ROOT)
    with open(path, encoding='utf-8') as handle:
        lines = handle.read().splitlines()
    heading, count, examples = 'top', {}, []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith('#'):
            heading = _slug(line.lstrip('#'))
        match = FENCE.match(line)
        if not match:
            i += 1
            continue
        indent, lang = match.group('indent'), match.group('lang')
        start = i
        i += 1
        body = []
        while i < len(lines) and not (lines[i].strip() == '```'):
            body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i])
            i += 1
        i += 1
        if lang not in ('yaml', 'yml'):
            continue
        previous = next((lines[j] for j in range(start - 1, -1, -1) if lines[j].strip()), '')
        marker = NOT_A_TEST.search(previous)
        count[heading] = count.get(heading, 0) + 1
        examples.append(Example('%s#%s[%d]' % (rel, heading, count[heading]), '\n'.join(body) + '\n',
                                marker.group('reason') if marker else None, start + 1))
    return examples


def module_examples():
    examples = []
    for path in sorted(glob.glob(os.path.join(REPO_ROOT, 'plugins', 'modules', '*.py'))):
        tree = ast.parse(open(path, encoding='utf-8').read())
        for node in tree.body:
            if isinstance(node, ast.Assign) and getattr(node.targets[0], 'id', None) == 'EXAMPLES':
                examples.append(Example('%s:EXAMPLES' % os.path.relpath(path, REPO_ROOT), node.value.value,
                                        line=node.lineno))
    return examples


def all_examples():
    examples = []
    for pattern in DOC_GLOBS:
        for path in sorted(glob.glob(os.path.join(REPO_ROOT, pattern))):
            examples.extend(markdown_examples(path))
    return examples + module_examples()


# ---- what the examples are checked against ------------------------------------------------

class _Captured(Exception):
    pass


def module_argspec(name):
    """kwargs of the AnsibleModule(...) call of plugins/modules/<name>.py's main()."""
    mod = importlib.import_module('ansible_collections.autotls.acme.plugins.modules.' + name)
    captured = {}

    def fake(*args, **kwargs):
        captured.update(kwargs)
        if args:
            captured['argument_spec'] = args[0]
        raise _Captured()

    # The class itself, wherever main() reaches it from (its own import, or a shared helper).
    from ansible.module_utils import basic
    original = basic.AnsibleModule.__init__
    basic.AnsibleModule.__init__ = lambda self, *args, **kwargs: fake(*args, **kwargs)
    try:
        mod.main()
    except _Captured:
        pass
    finally:
        basic.AnsibleModule.__init__ = original
    if 'argument_spec' not in captured:
        raise AssertionError('module %s built no AnsibleModule' % name)
    return captured


def action_groups():
    """{'autotls.acme.<group>': [module, ...]} from meta/runtime.yml."""
    with open(os.path.join(REPO_ROOT, 'meta', 'runtime.yml'), encoding='utf-8') as handle:
        runtime = yaml.safe_load(handle) or {}
    return {COLLECTION + group: [m for m in members if isinstance(m, str)]
            for group, members in (runtime.get('action_groups') or {}).items()}


def role_specs():
    """{role: {entry point: options}} from roles/*/meta/argument_specs.yml."""
    specs = {}
    for path in glob.glob(os.path.join(REPO_ROOT, 'roles', '*', 'meta', 'argument_specs.yml')):
        role = path.split(os.sep)[-3]
        data = yaml.safe_load(open(path, encoding='utf-8'))['argument_specs']
        specs[role] = {entry: value.get('options', {}) for entry, value in data.items()}
    return specs


def playbook_variables():
    """autotls_* names the playbooks read (beyond the roles' argument specs)."""
    names = set()
    for path in glob.glob(os.path.join(REPO_ROOT, 'playbooks', '**', '*.yml'), recursive=True):
        names.update(re.findall(r'\bautotls_[a-z0-9_]+', open(path, encoding='utf-8').read()))
    return names


def dict_variable_keys():
    """{autotls_x: keys the roles and playbooks read from it} for dict variables read key by
    key (``autotls_store.bucket``, also through an internal alias such as ``__renew_store``)."""
    texts = []
    for pattern in ('roles/**/*.yml', 'roles/**/*.j2', 'playbooks/**/*.yml', 'playbooks/**/*.j2'):
        for path in glob.glob(os.path.join(REPO_ROOT, pattern), recursive=True):
            texts.append(open(path, encoding='utf-8').read())
    aliases = {}
    for text in texts:
        aliases.update(re.findall(r'^\s*(__\w+):\s*["\']?{{\s*\(?\s*(autotls_\w+)', text, re.M))
    reads = {}
    for text in texts:
        for name, key in re.findall(r'\b((?:autotls|__)\w+)\)?\s*(?:\|\s*default\([^)]*\)\)?)?\s*\.(\w+)', text):
            name = aliases.get(name, name)
            if name.startswith('autotls_'):
                reads.setdefault(name, set()).add(key)
    return reads


# Variables handed whole to a module option: (module, option path).
MODULE_OPTION_OF = {
    'autotls_renew_before': ('certificate', ('renew_before',)),
    'autotls_notify.email': ('notify', ('email',)),
}


def _renewal_policy(value):
    from ansible_collections.autotls.acme.plugins.module_utils._acme.renewal import RenewalPolicy
    RenewalPolicy.from_option(value)


def _issuers(value):
    """autotls_issuers through the model of an issuer; templated values stand for themselves (left out)."""
    from ansible_collections.autotls.acme.plugins.module_utils._model.issuers import validate_issuers
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode('ascii')
    stand_in = {'account_key_content': key, 'terms_agreed': True, 'fingerprint': '0' * 64,
                'directory': 'https://templated.example/dir', 'ca_url': 'https://templated.example'}
    if isinstance(value, list):
        value = [{k: stand_in.get(k, 'templated') if isinstance(v, str) and TEMPLATE.search(v) else v
                  for k, v in entry.items()} if isinstance(entry, dict) else entry for entry in value]
    validate_issuers(value)


def _metrics_settings(value):
    from ansible_collections.autotls.acme.plugins.module_utils._metrics.settings import metrics_settings
    metrics_settings(value)


def _servers(value):
    """The model's check of autotls_servers (kinds, settings, names)."""
    from ansible_collections.autotls.acme.plugins.module_utils._model.servers import validate_servers
    return validate_servers(value)


# Variables whose values the collection's own code checks beyond their argument spec.
VALUE_CHECKS = {'autotls_renew_before': _renewal_policy, 'autotls_metrics': _metrics_settings,
                'autotls_servers': _servers, 'autotls_issuers': _issuers}
# Dict variables whose keys that check covers whole (a filter reads them, not the playbooks key by key).
KEYS_CHECKED_WHOLE = {'autotls_metrics'}


def certificate_validator():
    """The model's validation of one declared certificate: (entry, where) -> raises on error."""
    from ansible_collections.autotls.acme.plugins.module_utils._model.certificate import (
        validate_declared_certificate,
    )
    return validate_declared_certificate


# ---- checks --------------------------------------------------------------------------------

@dataclass
class Checker:
    role_specs: dict = field(default_factory=role_specs)
    playbook_vars: set = field(default_factory=playbook_variables)
    dict_keys: dict = field(default_factory=dict_variable_keys)
    problems: list = field(default_factory=list)
    checked: int = 0
    _modules: dict = field(default_factory=dict)
    # module_defaults of the play whose tasks are being checked.
    _defaults: dict = field(default_factory=dict)

    def problem(self, where, message):
        self.problems.append('%s: %s' % (where, message))

    # values ---------------------------------------------------------------
    def _untemplate(self, value, spec):
        """A literal stand-in, of the option's type, for a templated value."""
        if isinstance(value, str) and TEMPLATE.search(value):
            kind = spec.get('type', 'str')
            if spec.get('choices'):
                return spec['choices'][0]
            return {'int': 1, 'float': 1.0, 'bool': True, 'list': [], 'dict': {}}.get(kind, value)
        if isinstance(value, dict) and spec.get('options'):
            return {k: self._untemplate(v, spec['options'].get(k, {})) for k, v in value.items()}
        if isinstance(value, list) and spec.get('options'):
            return [self._untemplate(v, {'options': spec['options']}) if isinstance(v, dict) else v for v in value]
        return value

    def validate(self, where, spec, params, extra=None):
        from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
        params = {k: self._untemplate(v, spec.get(k, {})) for k, v in params.items()}
        kwargs = {k: v for k, v in (extra or {}).items()
                  if k in ('mutually_exclusive', 'required_together', 'required_one_of', 'required_if', 'required_by')}
        result = ArgumentSpecValidator(spec, **kwargs).validate(params)
        for error in result.error_messages:
            self.problem(where, error)
        self.checked += 1

    # tasks and plays ------------------------------------------------------
    def module_spec(self, name):
        if name not in self._modules:
            self._modules[name] = module_argspec(name)
        return self._modules[name]

    def task(self, where, task):
        if not isinstance(task, dict):
            self.problem(where, 'a task must be a mapping, got %r' % (task,))
            return
        for key in BLOCK_KEYS:
            for sub in task.get(key) or []:
                self.task(where, sub)
        if any(key in task for key in BLOCK_KEYS):
            return
        modules = [k for k in task if k not in TASK_KEYWORDS]
        if len(modules) != 1:
            self.problem(where, 'task %r names %d modules: %s' % (task.get('name'), len(modules), modules))
            return
        module, args = modules[0], task[modules[0]]
        label = '%s (task %r)' % (where, task.get('name', module))
        if module in ROLE_TASKS:
            self.role(label, args.get('name', ''), args.get('tasks_from', 'main'), task.get('vars') or {})
        elif module.startswith(COLLECTION):
            name = module[len(COLLECTION):]
            if not os.path.exists(os.path.join(REPO_ROOT, 'plugins', 'modules', name + '.py')):
                self.problem(label, 'no module %s in the collection' % module)
                return
            spec = self.module_spec(name)
            args = dict(self.module_defaults(module, task.get('module_defaults')), **(args or {}))
            args = ACTION_PLUGIN_ARGS.get(name, lambda a: a)(args)
            self.validate(label, spec['argument_spec'], args, spec)

    def module_defaults(self, module, task_defaults=None):
        """The options module_defaults give ``module``: its own entry, or its action groups'
        (meta/runtime.yml), as Ansible merges them; the task's own defaults win."""
        groups = action_groups()
        merged = {}
        for defaults in (self._defaults, task_defaults or {}):
            for key, values in defaults.items():
                group = key[len('group/'):] if key.startswith('group/') else None
                if key == module or (group and module[len(COLLECTION):] in groups.get(group, ())):
                    merged.update(values or {})
        return merged

    def role(self, where, name, entry, variables):
        if not name.startswith(COLLECTION):
            return
        role = name[len(COLLECTION):]
        specs = self.role_specs.get(role)
        if specs is None:
            if os.path.isdir(os.path.join(REPO_ROOT, 'roles', role)):
                self.problem(where, 'role %s has no meta/argument_specs.yml: nothing checks its variables' % name)
            else:
                self.problem(where, 'no role %s in the collection' % name)
            return
        if entry not in specs:
            self.problem(where, 'role %s has no entry point %r in meta/argument_specs.yml, so nothing checks its '
                                'variables (tasks_from takes the entry point name, e.g. acme, not acme.yml)'
                         % (name, entry))
            return
        # Required role variables usually come from the inventory, not from the play.
        optional = {k: dict(v, required=False) for k, v in specs[entry].items()}
        self.validate('%s (role %s, entry point %s)' % (where, name, entry), optional, variables)
        self.variables(where, variables)

    def play(self, where, play):
        if 'ansible.builtin.import_playbook' in play or 'import_playbook' in play:
            target = play.get('ansible.builtin.import_playbook') or play.get('import_playbook')
            if target.startswith(COLLECTION):
                path = os.path.join(REPO_ROOT, 'playbooks', target[len(COLLECTION):] + '.yml')
                if not os.path.exists(path):
                    self.problem(where, 'no playbook %s in the collection' % target)
            self.checked += 1
            return
        self.variables(where, play.get('vars') or {})
        for role in play.get('roles') or []:
            if isinstance(role, str):
                role = {'role': role}
            params = {k: v for k, v in role.items() if k not in ('role', 'name', 'tasks_from', 'vars', 'when', 'tags')}
            self.role(where, role.get('role') or role.get('name', ''), role.get('tasks_from', 'main'),
                      dict(role.get('vars') or {}, **params))
        self._defaults = play.get('module_defaults') or {}
        try:
            for key in ('pre_tasks', 'tasks', 'post_tasks', 'handlers'):
                for task in play.get(key) or []:
                    self.task(where, task)
        finally:
            self._defaults = {}

    # variables ------------------------------------------------------------
    def variable_spec(self, name):
        for role in sorted(self.role_specs):
            for entry, options in sorted(self.role_specs[role].items()):
                if name in options:
                    return options[name]
        return None

    def variables(self, where, variables):
        validate_certificate = certificate_validator()
        for name, value in variables.items():
            if not name.startswith('autotls_'):
                continue
            spec = self.variable_spec(name)
            if spec is None:
                if name not in self.playbook_vars:
                    self.problem(where, 'variable %s is read by no role and no playbook of the collection' % name)
                self.dict_variable(where, name, value)
                if name in VALUE_CHECKS and not (isinstance(value, str) and TEMPLATE.search(value)):
                    try:
                        VALUE_CHECKS[name](value)
                    except Exception as exc:  # the collection's own error type, whatever it is
                        self.problem(where, '%s: %s' % (name, exc))
                    self.checked += 1
                continue
            self.validate(where, {name: spec}, {name: value})
            self.dict_variable(where, name, value)
            if name in VALUE_CHECKS and not (isinstance(value, str) and TEMPLATE.search(value)):
                try:
                    VALUE_CHECKS[name](value)
                except Exception as exc:  # the collection's own error type, whatever it is
                    self.problem(where, '%s: %s' % (name, exc))
            if name in ('autotls_certificates', 'autotls_host_certificates') and isinstance(value, list):
                for entry in value:
                    label = '%s %s %r' % (where, name, entry.get('name') if isinstance(entry, dict) else entry)
                    try:
                        validate_certificate(entry, label)
                    except Exception as exc:  # the model's error type, whatever it is
                        self.problem(label, str(exc))

    def dict_variable(self, where, name, value):
        """Keys of a dict variable must be read by something; some go whole to a module option."""
        if not isinstance(value, dict):
            return
        known = self.dict_keys.get(name)
        if known is not None and name not in KEYS_CHECKED_WHOLE:
            unknown = sorted(set(value) - known)
            if unknown:
                self.problem(where, '%s: no role or playbook reads %s (they read %s)'
                             % (name, ', '.join(unknown), ', '.join(sorted(known))))
        for path, (module, option) in MODULE_OPTION_OF.items():
            variable, key = (path.split('.', 1) + [''])[:2]
            if variable != name or (key and key not in value):
                continue
            spec = self.module_spec(module)['argument_spec']
            for part in option[:-1]:
                spec = spec[part]['options']
            self.validate('%s %s (as %s of %s)' % (where, path, option[-1], module),
                          {option[-1]: spec[option[-1]]}, {option[-1]: value[key] if key else value})

    def inventory(self, where, data, tmp_path):
        from ansible.inventory.manager import InventoryManager
        from ansible.parsing.dataloader import DataLoader
        path = os.path.join(str(tmp_path), 'hosts.yml')
        with open(path, 'w', encoding='utf-8') as handle:
            yaml.safe_dump(data, handle)
        manager = InventoryManager(loader=DataLoader(), sources=[path])
        if not manager.get_hosts():
            self.problem(where, 'the inventory has no hosts')
        for host in manager.get_hosts():
            self.variables('%s host %s' % (where, host.name), host.get_vars())
        self.checked += 1

    def example(self, example, tmp_path):
        try:
            data = example.load()
        except yaml.YAMLError as exc:
            self.problem(example.ident, 'not valid YAML: %s' % exc)
            return
        if isinstance(data, list):
            for item in data:
                if isinstance(item, dict) and ('hosts' in item or 'import_playbook' in item
                                               or 'ansible.builtin.import_playbook' in item):
                    self.play(example.ident, item)
                else:
                    self.task(example.ident, item)
        elif isinstance(data, dict) and isinstance(data.get('all'), dict) and (
                'children' in data['all'] or 'hosts' in data['all']):
            self.inventory(example.ident, data, tmp_path)
        elif isinstance(data, dict):
            if not any(k.startswith('autotls_') for k in data):
                self.problem(example.ident, 'a mapping without autotls_* variables: not an example of this collection')
            self.variables(example.ident, data)
        else:
            self.problem(example.ident, 'neither tasks, plays, an inventory nor variables: %r' % (data,))


# ---- a guide's inventory, as files --------------------------------------------------------

INVENTORY_FILE = re.compile(r'^#\s*((?:group_vars|host_vars)/[\w.-]+\.ya?ml|hosts\.ya?ml)\b')


def guide_inventory(relpath, section=None):
    """{inventory file: its variables} from a guide's YAML blocks.

    A block (or a part of one) belongs to the file its ``# <file>`` comment line names
    (``# hosts.yml``, ``# group_vars/all.yml``, ``# host_vars/app1.yml: ...``); one block may
    hold several files, and a later block may add variables to a file. Blocks without such a
    line are not part of the inventory. ``section`` (a heading's text): only the blocks under
    that heading, for a guide whose sections each show an inventory of their own.
    """
    files = {}
    wanted = _slug(section) if section else None
    for example in markdown_examples(os.path.join(REPO_ROOT, relpath)):
        if wanted and example.ident.split('#', 1)[1].rsplit('[', 1)[0] != wanted:
            continue
        current, parts = None, {}
        for line in example.text.splitlines():
            match = INVENTORY_FILE.match(line)
            if match:
                current = match.group(1)
                parts.setdefault(current, [])
            elif current is not None:
                parts[current].append(line)
        for name, lines in parts.items():
            data = yaml.safe_load('\n'.join(lines)) or {}
            if name not in files:
                files[name] = data
                continue
            # A later block adds to the file, as an operator following the guide would; it
            # may not give a variable of the file another value.
            clash = sorted(k for k in data if k in files[name] and files[name][k] != data[k])
            if not isinstance(data, dict) or not isinstance(files[name], dict) or clash:
                raise AssertionError('%s declares %s twice, with other values for %s' % (relpath, name, clash))
            files[name].update(data)
    return files
