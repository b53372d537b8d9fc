"""ICE restart for one aiortc ICE transport (RFC 8445 section 9; webrtc-pc
`restartIce()`), which aiortc 1.16 lacks.

Theory of operation
-------------------
aiortc's `RTCIceTransport` starts once, on the one aioice `Connection` its gatherer
made, and the DTLS transport above reads and writes through the transport's `_recv` /
`_send`. A restart here keeps the ICE transport object, the DTLS transport and
everything over it, and replaces the aioice `Connection` under them (a generation):

1. [`IceRestart.begin`][rtcstate._restart.IceRestart.begin] makes a fresh `Connection`
   (new credentials, configured as the old one) and installs it in the transport and
   its gatherer: the next description carries its credentials, aiortc's next
   `setLocalDescription` gathers its candidates, and remote candidates go to it.
   The old `Connection` keeps carrying the data meanwhile (RFC 8445 9: media keeps
   flowing on the previous pair until the new one is selected);
2. once the new `Connection` has its candidates and the remote's credentials (from the
   remote offer, or the answer to ours), its checks run (`connect()`);
3. when they succeed, the DTLS transport's datagrams go through the new `Connection`,
   aiortc's monitor follows it and aiortc's state reads `completed`. If they fail
   while the old pair still works, the old `Connection` is put back; otherwise the
   restart has failed, and the transport with it;
4. a success on this side says nothing of the remote's: its own checks may still
   fail (a one-way path, candidates it cannot reach), and it then goes back to the
   old pair. So the new pair is *unproven* until the remote shows it is there: the
   old `Connection` stays open, and every datagram goes out on both pairs (DTLS and
   SRTP drop the duplicates by their replay windows). The first datagram of the
   remote's on the new pair proves it: the old `Connection` is closed (its sockets
   released). If liveness finds the new pair silent first, the remote is not
   there: the old `Connection` is put back, with no state change, and the restart
   is abandoned. A new pair whose keepalives are still answered after
   `deadline` seconds (the remote's checks have ended by then) is taken as proven.

Both `Connection`s deliver what they receive to one queue, the first one's, which the
DTLS transport's reader waits on; a retired `Connection` gets a queue of its own before
it closes, so its closing never wakes that reader with an error. The DTLS association
is never renegotiated: its datagrams simply take the new path.

[`IceRestart.suspend`][rtcstate._restart.IceRestart.suspend] is what consent expiry
(RFC 7675) does: nothing more is sent to the remote (the `Connection` closes, aiortc
reads `failed`), while the DTLS and SCTP associations stay, so that a restart can
resume them, as in a browser, where a failed ICE transport keeps its DTLS transport.

Every aiortc and aioice internal this touches is in [`rtcstate._shims`][].
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Protocol

from aiortc import RTCIceTransport

from . import _shims
from ._datapath import Datapath, GathererWake
from ._guards import guard_connection
from ._options import Loopback
from ._remote import RemoteIce, keeps_credentials
from ._restart_state import Ending, RestartState

__all__ = ["IceRestart", "RestartOwner"]

logger = logging.getLogger("rtcstate")


class RestartOwner(Protocol):
    """What an [`IceRestart`][rtcstate._restart.IceRestart] reports to."""

    def restart_changed(self, transport: RTCIceTransport) -> None:
        """A restart began, succeeded or failed: step the states."""

    def keep(self, task: asyncio.Future[Any]) -> None:
        """Keep a task referenced until it is done."""


class IceRestart:
    """The restarts of one ICE transport: the I/O of
    [`RestartState`][rtcstate._restart_state.RestartState]'s decisions.

    :param transport: aiortc's ICE transport.
    :param loopback: for the guards put on each new `Connection`.
    :param owner: told when a restart began, succeeded or failed.
    :param deadline: seconds a restart's checks may run before it fails
        (liveness's `failed_timeout`), whatever the state reads meanwhile.
    """

    __slots__ = (
        "_deadline",
        "_loopback",
        "_owner",
        "_path",
        "_pending",
        "_remote",
        "_task",
        "_transport",
        "_wake",
        "state",
    )

    def __init__(
        self,
        transport: RTCIceTransport,
        loopback: Loopback,
        owner: RestartOwner,
        deadline: float,
    ) -> None:
        self._transport = transport
        self._deadline = deadline
        self._loopback = loopback
        self._owner = owner
        self.state = RestartState()
        """the phases and decisions"""
        # the DTLS transport's datagrams, once rtcstate carries them
        self._path: Datapath | None = None
        self._pending: Any = None  # the new Connection while it checks
        self._remote: RemoteIce | None = None  # the remote's, for the pending one
        self._task: asyncio.Task[None] | None = None
        # wakes the checks when the gatherer or the answer brings what they wait for
        self._wake = GathererWake(transport)

    def begin(self, controlling: bool, reason: str, remote: RemoteIce | None) -> None:
        """Start a restart: new credentials now (the next description carries
        them), new candidates at aiortc's next gathering, then the checks once
        the remote's credentials are known (`remote`, or
        [`remote_known`][rtcstate._restart.IceRestart.remote_known]).

        :param controlling: the ICE role for the new checks (the restart's
            offerer controls).
        :param reason: the cause recorded, such as `ICE restart (restartIce())`.
        """
        transport = self._transport
        _shims.check_restart(transport)
        self._drop_pending()
        self._proven()  # a new restart starts from the pair in use
        path = self._carry()
        new = _shims.fresh_connection(_shims.connection(transport), controlling)
        _shims.set_data_queue(new, path.queue)
        _shims.install_connection(transport, new)
        _shims.set_in_use(transport, path.active)
        guard_connection(transport, self._loopback)
        self._pending = new
        self._remote = remote
        self._task = asyncio.ensure_future(self._run(new, self._wake.renew()))
        self._owner.keep(self._task)
        self.state.begin(reason, remote is not None)
        self._owner.restart_changed(transport)

    def remote_known(self, remote: RemoteIce) -> None:
        """The remote's answer to our restart offer: its new credentials (its
        candidates came through aiortc, to the new `Connection`). An answer that
        keeps the remote's old credentials comes from a peer that cannot
        restart (aiortc 1.16): the restart is abandoned, and the old pair goes on."""
        if self._pending is None:
            return
        active = None if self._path is None else self._path.active
        keeps_old = (
            active is not None
            and _shims.remote_parameters(active) == remote.credentials
        )
        ending = self.state.answered(keeps_old, self._old_works())
        if ending is Ending.CHECK:
            if self._remote is None:
                self._remote = RemoteIce(
                    remote.username, remote.password, remote.ice_lite
                )
                self._wake.poke()
            return
        self._end(ending)

    def expects(self, remote: RemoteIce) -> bool:
        """Whether `remote` has the credentials this transport already uses (or
        awaits): a description without an ICE restart."""
        if self._pending is not None:
            known = self._remote
            return known is None or known.credentials == remote.credentials
        return keeps_credentials(_shims.connection(self._transport), remote)

    def suspend(self) -> None:
        """Consent expired (RFC 7675): stop sending to the remote. The
        `Connection`s close (aiortc then reads `failed`); DTLS and SCTP stay for
        a restart. A restart under way fails with it."""
        path = self._carry()
        self._proven()
        active, path.active = path.active, None
        self._drop_pending()
        current = _shims.connection(self._transport)
        for conn in (current, active):
            if conn is not None and not _shims.closing(conn):
                self._retire(conn)
        if self.state.consent_expired():
            self._owner.restart_changed(self._transport)

    def close(self) -> None:
        """The connection closes: stop the restart under way. aiortc's close()
        closes the transport's current `Connection`; the others are closed here."""
        current = _shims.connection(self._transport)
        _shims.set_in_use(self._transport, None)
        if self._task is not None:
            self._task.cancel()
            self._task = None
        path = self._path
        kept = () if path is None else (path.active, path.stop_proving())
        for conn in (*kept, self._pending):
            if conn is not None and conn is not current:
                self._retire(conn)
        self._pending = None
        self._wake.close()

    # --- the datagrams ------------------------------------------------------------

    def _carry(self) -> Datapath:
        """From now on the DTLS transport reads the shared queue and writes to the
        active `Connection`, through rtcstate."""
        if self._path is None:
            self._path = Datapath(self._transport)
        return self._path

    def _old_works(self) -> bool:
        active = None if self._path is None else self._path.active
        return active is not None and not _shims.closing(active)

    def fall_back(self, reason: str) -> bool:
        """Liveness found the new pair silent (`reason`): if it is unproven,
        the remote stayed on the old pair (its own checks failed), so go back
        to it, with no state change, and abandon the restart; whether it did."""
        path = self._path
        if path is None or path.previous is None or not self.state.silent(reason):
            return False
        previous = path.stop_proving()
        new, path.active = path.active, previous
        _shims.reinstall_connection(self._transport, previous)
        _shims.monitor_connections(self._transport)
        if new is not None:
            self._retire(new)
        self._owner.restart_changed(self._transport)
        return True

    def _proven(self) -> None:
        """The remote is on the new pair (or a new restart starts from it):
        close the old `Connection`."""
        path = self._path
        if path is None or not self.state.proven():
            return
        previous = path.stop_proving()
        if previous is not None:
            self._retire(previous)

    # --- the checks ---------------------------------------------------------------

    async def _run(self, new: Any, wake: asyncio.Event) -> None:
        remote = self._remote
        ended = remote is not None and await _add_candidates(new, remote)
        if ended and self._pending is new:
            _shims.set_remote_end_of_candidates(self._transport)
        while not (_shims.gathered(new) and self._remote is not None):
            await wake.wait()
            wake.clear()
            if self._pending is not new:
                return
        remote = self._remote
        assert remote is not None
        _shims.set_remote_parameters(
            new, remote.username, remote.password, remote.ice_lite
        )
        failure = await _connect(new, self._deadline)
        if self._pending is not new:
            return
        if failure is None:
            self._succeeded(new)
        else:
            detail = f"ICE restart failed: {failure}"
            self._end(self.state.abandoned(detail, self._old_works()))

    def _succeeded(self, new: Any) -> None:
        path = self._carry()
        _shims.set_in_use(self._transport, None)
        old, path.active = path.active, new
        self._pending = None
        self._task = None
        pair = _describe(_shims.nominated(new, 1))
        old_works = old is not None and not _shims.closing(old)
        if self.state.succeeded(pair, old_works) is Ending.KEEP_OLD:
            # unproven until the remote sends on it (see the module's text)
            path.prove(old, self._deadline, self._proven)
        elif old is not None:
            self._retire(old)
        _shims.monitor_connections(self._transport)
        # aiortc's own state (and so its RTCPeerConnection's) follows too; it
        # fires "statechange" only if it was not "completed" already
        _shims.set_native_state(self._transport, "completed")
        self._owner.restart_changed(self._transport)

    def _end(self, ending: Ending) -> None:
        """The restart ended without a new pair: put the old `Connection` back
        if it still carries the data (liveness judges it, as before the
        restart), and drop the new one."""
        path = self._path
        if ending is Ending.PUT_BACK_OLD and path is not None:
            _shims.reinstall_connection(self._transport, path.active)
        self._drop_pending()
        self._owner.restart_changed(self._transport)

    def _drop_pending(self) -> None:
        _shims.set_in_use(self._transport, None)
        pending, self._pending = self._pending, None
        if self._task is not None:
            self._task.cancel()
            self._task = None
        if pending is not None:
            self._retire(pending)

    def _retire(self, conn: Any) -> None:
        """Close a `Connection` rtcstate no longer uses, without its closing
        reaching the DTLS transport's reader."""
        path = self._path
        if path is not None and _shims.data_queue(conn) is path.queue:
            _shims.set_data_queue(conn, asyncio.Queue())
        self._owner.keep(asyncio.ensure_future(conn.close()))


async def _add_candidates(new: Any, remote: RemoteIce) -> bool:
    """Give the new `Connection` the candidates of the remote's offer; whether
    its end-of-candidates was given too."""
    for candidate in remote.candidates:
        try:
            await new.add_remote_candidate(candidate)
        except ValueError:  # after end-of-candidates: aiortc added them
            return False
    if not remote.end_of_candidates:
        return False
    with contextlib.suppress(ValueError):
        await new.add_remote_candidate(None)
    return True


async def _connect(new: Any, deadline: float) -> str | None:
    """Run the new `Connection`'s checks; what went wrong, or `None`. Bounded
    by `deadline` here, not by the state's deadline: a restart begun while
    connected never reads checking."""
    try:
        await asyncio.wait_for(new.connect(), deadline)
    except TimeoutError:
        return f"no working candidate pair after {deadline:g} s of checks"
    except ConnectionError as exc:
        return str(exc)
    except Exception as exc:  # a bug of aioice's must not wedge the restart
        return f"{type(exc).__name__}: {exc}"
    return None


def _describe(pair: Any) -> str:
    if pair is None:
        return "(none)"
    local, remote = _shims.pair_candidates(pair)
    ltype, lhost, lport, _ = _shims.candidate_fields(local)
    rtype, rhost, rport, _ = _shims.candidate_fields(remote)
    return f"{ltype} {lhost}:{lport} -> {rtype} {rhost}:{rport}"
