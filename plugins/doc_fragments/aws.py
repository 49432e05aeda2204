# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # Options of plugins/module_utils/_common/aws.py aws_argument_spec(); keep both in step.
    DOCUMENTATION = r'''
options:
  aws_profile:
    description:
      - Named profile from the shared AWS configuration and credentials files.
      - Ignored when O(aws_access_key) and O(aws_secret_key) are set.
      - When neither keys nor a profile are given, boto3's own credential chain is used
        (E(AWS_ACCESS_KEY_ID) and friends, E(AWS_PROFILE), container or instance role).
    type: str
  aws_region:
    description:
      - AWS region for the session and for STS when O(aws_assume_role_arn) is set.
      - Route53 itself is global; it is signed for C(us-east-1) when no region is known.
    type: str
  aws_access_key:
    description:
      - AWS access key ID. Takes precedence over O(aws_profile) and the environment.
      - Must be given together with O(aws_secret_key).
    type: str
  aws_secret_key:
    description:
      - AWS secret access key belonging to O(aws_access_key).
    type: str
  aws_session_token:
    description:
      - Session token for temporary credentials given in O(aws_access_key) and
        O(aws_secret_key).
    type: str
  aws_assume_role_arn:
    description:
      - ARN of an IAM role to assume through STS before calling Route53, for example a
        role in the account that owns the hosted zones.
      - STS is called through O(aws_endpoint_url) when that is set.
    type: str
  aws_assume_role_session_name:
    description:
      - Session name for the assumed role; it shows in CloudTrail.
    type: str
    default: autotls-acme
  aws_assume_role_external_id:
    description:
      - External ID the role's trust policy requires, if any.
    type: str
  aws_endpoint_url:
    description:
      - Endpoint URL for Route53 (and STS), for example a local test server.
      - When unset, botocore's own settings apply, including E(AWS_ENDPOINT_URL) and
        E(AWS_ENDPOINT_URL_ROUTE53).
    type: str
requirements:
  - boto3 >= 1.28.0
  - botocore >= 1.31.0
notes:
  - AWS calls are retried by botocore's C(standard) retry mode (throttling, transient
    errors, C(PriorRequestNotComplete)) with bounded attempts and connect/read timeouts.
'''

    # Modules of the aws action group document it with this fragment as well, so that
    # module_defaults: {group/autotls.acme.aws: ...} is listed on their pages.
    ACTIONGROUP_AWS = r'''
attributes:
  action_group:
    description: Use C(group/autotls.acme.aws) in C(module_defaults) to set AWS access options once for every module of the group.
    support: full
    membership:
      - autotls.acme.aws
'''
