# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One place for AWS access: shared options, credentials, client, retry policy, errors.

Documentation for the options lives in ``plugins/doc_fragments/aws.py``; keep the two
in step (``ansible-test sanity`` validate-modules compares them).
"""

from __future__ import annotations

import importlib.util
import traceback

from ansible_collections.autotls.acme.plugins.module_utils._common.errors import (
    ConfigurationError,
    DnsProviderError,
)
from ansible_collections.autotls.acme.plugins.module_utils._common.ranges import POSITIVE, check_range

try:
    from botocore.exceptions import BotoCoreError, ClientError, WaiterError
except ImportError:
    HAS_BOTO3 = False
    BOTO3_IMPORT_ERROR = traceback.format_exc()

    class BotoCoreError(Exception):  # type: ignore[no-redef]
        """Stand-in so ``except`` clauses still work when botocore is missing."""

    class ClientError(Exception):  # type: ignore[no-redef]
        """Stand-in so ``except`` clauses still work when botocore is missing."""

    class WaiterError(Exception):  # type: ignore[no-redef]
        """Stand-in so ``except`` clauses still work when botocore is missing."""
else:
    # boto3 itself (a good part of the module's import time) is loaded when the first
    # client is made (_boto3()): a run that never calls AWS never pays for it. Whether it
    # is installed is known now, before anything is written.
    HAS_BOTO3 = importlib.util.find_spec('boto3') is not None
    BOTO3_IMPORT_ERROR = None if HAS_BOTO3 else 'ModuleNotFoundError: No module named boto3'

# WaiterError is imported for route53.py, so that it too works without botocore.
__all__ = [
    'BOTO3_IMPORT_ERROR', 'BotoCoreError', 'ClientError', 'HAS_BOTO3', 'WaiterError',
    'aws_argument_spec', 'aws_error_code', 'aws_error_text', 'aws_failure',
    'aws_required_together', 'aws_session', 'route53_client',
]

DEFAULT_SESSION_NAME = 'autotls-acme'
# Route53 is a global service: its signing region is us-east-1 in the aws partition.
_GLOBAL_REGION = 'us-east-1'


def aws_argument_spec():
    """Options every Route53-using module shares (documented by the ``autotls.acme.aws`` fragment)."""
    return dict(
        aws_profile=dict(type='str'),
        aws_region=dict(type='str'),
        aws_access_key=dict(type='str', no_log=True),
        aws_secret_key=dict(type='str', no_log=True),
        aws_session_token=dict(type='str', no_log=True),
        aws_assume_role_arn=dict(type='str'),
        aws_assume_role_session_name=dict(type='str', default=DEFAULT_SESSION_NAME),
        aws_assume_role_external_id=dict(type='str', no_log=True),
        aws_endpoint_url=dict(type='str'),
    )


def aws_required_together():
    """Pass as ``required_together`` next to :func:`aws_argument_spec`."""
    return [['aws_access_key', 'aws_secret_key']]


def aws_error_text(exc):
    """``"<Code>: <Message>"`` for a ClientError, the plain text for anything else."""
    response = getattr(exc, 'response', None)
    if isinstance(response, dict):
        error = response.get('Error') or {}
        code = error.get('Code')
        message = error.get('Message') or error.get('message') or ''
        if code:
            return '%s: %s' % (code, message) if message else code
    return str(exc)


def aws_error_code(exc):
    response = getattr(exc, 'response', None)
    if isinstance(response, dict):
        return (response.get('Error') or {}).get('Code')
    return None


def aws_failure(action, exc, **details):
    """A :class:`DnsProviderError` reading ``Failed to <action>: <AWS error>``.

    ``action`` is "<verb> <noun>", for example ``"list hosted zones"``.
    """
    code = aws_error_code(exc)
    if code:
        details.setdefault('aws_error_code', code)
    request_id = (getattr(exc, 'response', None) or {}).get('ResponseMetadata', {}).get('RequestId')
    if request_id:
        details.setdefault('aws_request_id', request_id)
    msg = 'Failed to %s: %s' % (action, aws_error_text(exc))
    if exc.__class__.__name__ in ('NoCredentialsError', 'PartialCredentialsError'):
        msg += ('. Set aws_access_key and aws_secret_key, aws_profile, the AWS_* environment '
                'variables, or run where an instance role is available')
    return DnsProviderError(msg, **details)


def _boto3():
    """The boto3 package, imported on first use."""
    try:
        import boto3  # pylint: disable=import-outside-toplevel
    except ImportError:
        raise ConfigurationError('boto3 and botocore are required for Route53 access',
                                 exception=traceback.format_exc())
    return boto3


def _client_config(retry_mode, max_attempts, connect_timeout, read_timeout):
    if retry_mode not in ('standard', 'adaptive'):
        raise ConfigurationError("retry_mode must be 'standard' or 'adaptive', not %r" % (retry_mode,))
    check_range('max_attempts', max_attempts, *POSITIVE)
    check_range('connect_timeout', connect_timeout, 0.1, None, 'seconds')
    check_range('read_timeout', read_timeout, 0.1, None, 'seconds')
    from botocore.config import Config  # pylint: disable=import-outside-toplevel
    return Config(
        retries={'mode': retry_mode, 'max_attempts': int(max_attempts)},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        user_agent_extra='autotls.acme',
    )


def aws_session(options, retry_mode='standard', max_attempts=10, connect_timeout=10, read_timeout=30):
    """A boto3 session for ``options`` (a module's ``params``).

    Credentials, first match wins: explicit ``aws_access_key``/``aws_secret_key`` (with
    ``aws_session_token``), then ``aws_profile``, then boto3's own chain (environment,
    shared files, container or instance role). With ``aws_assume_role_arn`` the role is
    assumed through STS (at ``aws_endpoint_url`` when one is set) and the session uses
    the temporary credentials.
    """
    if not HAS_BOTO3:
        raise ConfigurationError('boto3 and botocore are required for Route53 access',
                                 exception=BOTO3_IMPORT_ERROR)
    access_key = options.get('aws_access_key')
    secret_key = options.get('aws_secret_key')
    if bool(access_key) != bool(secret_key):
        raise ConfigurationError('aws_access_key and aws_secret_key must be given together')
    region = options.get('aws_region')
    kwargs = {}
    if region:
        kwargs['region_name'] = region
    if access_key:
        kwargs.update(aws_access_key_id=access_key, aws_secret_access_key=secret_key)
        if options.get('aws_session_token'):
            kwargs['aws_session_token'] = options['aws_session_token']
    elif options.get('aws_profile'):
        kwargs['profile_name'] = options['aws_profile']
    boto3 = _boto3()
    try:
        session = boto3.Session(**kwargs)
    except BotoCoreError as exc:
        # ProfileNotFound and friends: the user has to change an option.
        raise ConfigurationError('Failed to create AWS session: %s' % aws_error_text(exc))

    role_arn = options.get('aws_assume_role_arn')
    if not role_arn:
        return session
    assume = dict(RoleArn=role_arn,
                  RoleSessionName=options.get('aws_assume_role_session_name') or DEFAULT_SESSION_NAME)
    if options.get('aws_assume_role_external_id'):
        assume['ExternalId'] = options['aws_assume_role_external_id']
    sts = session.client(
        'sts',
        region_name=region or session.region_name or _GLOBAL_REGION,
        endpoint_url=options.get('aws_endpoint_url') or None,
        config=_client_config(retry_mode, max_attempts, connect_timeout, read_timeout),
    )
    try:
        creds = sts.assume_role(**assume)['Credentials']
    except (BotoCoreError, ClientError) as exc:
        raise aws_failure('assume role %s' % role_arn, exc, role_arn=role_arn)
    return boto3.Session(
        aws_access_key_id=creds['AccessKeyId'],
        aws_secret_access_key=creds['SecretAccessKey'],
        aws_session_token=creds['SessionToken'],
        region_name=region or session.region_name,
    )


def route53_client(options, retry_mode='standard', max_attempts=10, connect_timeout=10, read_timeout=30):
    """A Route53 client for ``options`` with botocore's own retry mode and timeouts.

    ``retry_mode`` is ``standard`` or ``adaptive`` (client-side rate limiting, good when
    many certificates share one account's 5 requests/s Route53 quota).
    """
    session = aws_session(options, retry_mode, max_attempts, connect_timeout, read_timeout)
    return session.client(
        'route53',
        region_name=options.get('aws_region') or session.region_name or _GLOBAL_REGION,
        endpoint_url=options.get('aws_endpoint_url') or None,
        config=_client_config(retry_mode, max_attempts, connect_timeout, read_timeout),
    )
