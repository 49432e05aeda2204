# -*- coding: utf-8 -*-
# Copyright (c) 2026 autotls.acme contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""SIGTERM treated like Ctrl-C, so that ``finally`` blocks clean up after both.

An AWX job that times out, or a container that is stopped, gets SIGTERM. Python's default
is to die on the spot, leaving challenge records behind. Inside
:func:`terminate_as_interrupt` SIGTERM raises :class:`Terminated` (a
``KeyboardInterrupt``) in the main thread instead, so the code that already removes its
TXT values after Ctrl-C does so after SIGTERM too.
"""

from __future__ import annotations

import contextlib
import signal
import threading


class Terminated(KeyboardInterrupt):
    """The process was asked to stop (SIGTERM) while a cleanup-guarded step ran."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum
        try:
            self.signal_name = signal.Signals(signum).name
        except ValueError:
            self.signal_name = 'signal %d' % signum

    def __str__(self):
        return 'stopped by %s' % self.signal_name


@contextlib.contextmanager
def terminate_as_interrupt(signals=(signal.SIGTERM,)):
    """Within the block, the first of ``signals`` raises :class:`Terminated`.

    Further signals while the cleanup runs are ignored (a second SIGTERM must not cut the
    cleanup short). The previous handlers are put back when the block ends. Outside the
    main thread (where Python cannot handle signals) this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    state = {'raised': False}

    def handler(signum, _frame):
        if state['raised']:
            return
        state['raised'] = True
        raise Terminated(signum)

    previous = {}
    try:
        for signum in signals:
            previous[signum] = signal.signal(signum, handler)
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old if old is not None else signal.SIG_DFL)
