# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Publishing check.yml's HTML report to the S3 store, with a presigned link to it.

In AWX the report would vanish with the job's container. It goes to the store's bucket
under ``<prefix>report/``: once dated (``check-<UTC time>.html``, what the link points
to, so an old message keeps showing its own run) and once as ``latest.html``. Uploads use
the store's server-side encryption; the bucket stays private, the presigned GET link is
what people open (valid for ``expires`` seconds, at most 7 days, SigV4's limit).
"""

from __future__ import annotations

import datetime

from ansible_collections.autotls.acme.plugins.module_utils._common.aws import BotoCoreError, ClientError
from ansible_collections.autotls.acme.plugins.module_utils._common.errors import ConfigurationError
from ansible_collections.autotls.acme.plugins.module_utils._store.store import S3Store, StoreError

REPORT_DIR = 'report/'
LATEST = 'latest.html'
MAX_EXPIRES = 7 * 24 * 3600
CONTENT_TYPE = 'text/html; charset=utf-8'


def check_expires(expires):
    try:
        value = int(expires)
    except (TypeError, ValueError):
        value = None
    if value is None or not 60 <= value <= MAX_EXPIRES:
        raise ConfigurationError('expires must be a number of seconds from 60 to %d (7 days, the longest a '
                                 'presigned link may live), got %r' % (MAX_EXPIRES, expires))
    return value


def publish_report(store, data, expires=MAX_EXPIRES, now=None, check_mode=False):
    """Upload ``data`` (bytes) to ``store`` (an :class:`S3Store`); returns the keys and the presigned link."""
    expires = check_expires(expires)
    now = now or datetime.datetime.now(datetime.timezone.utc)
    dated = REPORT_DIR + now.strftime('check-%Y%m%dT%H%M%SZ.html')
    latest = REPORT_DIR + LATEST
    result = dict(key=store.key(dated), latest_key=store.key(latest), url=None,
                  expires_at=(now + datetime.timedelta(seconds=expires)).strftime('%Y-%m-%dT%H:%M:%SZ'))
    if check_mode:
        return result
    for relpath in (dated, latest):
        kwargs = dict(Bucket=store.bucket, Key=store.key(relpath), Body=data, ContentType=CONTENT_TYPE,
                      ServerSideEncryption=store.sse)
        if store.kms_key_id:
            kwargs['SSEKMSKeyId'] = store.kms_key_id
        try:
            store.client.put_object(**kwargs)
        except (BotoCoreError, ClientError) as exc:
            raise store._failure('upload the report to', relpath, exc)  # pylint: disable=protected-access
    try:
        result['url'] = store.client.generate_presigned_url(
            'get_object', Params=dict(Bucket=store.bucket, Key=store.key(dated)), ExpiresIn=expires)
    except (BotoCoreError, ClientError) as exc:
        raise StoreError('Failed to make a presigned link to %s: %s' % (store.url(dated), exc))
    return result


__all__ = ['S3Store', 'publish_report', 'check_expires']
