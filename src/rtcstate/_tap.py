"""The tap on an ICE transport's selected pair: what the liveness driver sees of
it and sends on it.

[`watch`][rtcstate._tap.SelectedPair.watch] sees every datagram the pair's socket
receives from the remote address, before aioice handles it, and tells answers to our
keepalives (authenticated with the session's credentials) from other packets.
[`send_keepalive`][rtcstate._tap.SelectedPair.send_keepalive] sends an ICE binding
request (an RFC 7675 consent check) on that socket as a fire-and-forget datagram;
aioice ignores the answer, which matches none of its own transactions.

The remote's keepalives on this pair are answered here too, by hand, when
aioice would do nothing but answer them (see `_answer`): that is most
of the idle cost of a connection. Anything else goes on to aioice.

Keepalives and answers are built by hand
([`fast`][rtcstate._tap.SelectedPair.fast]) and sent on whatever aioice's
protocol object sends on ([`route`][rtcstate._tap.SelectedPair.route]):

* `"socket"`: a socket of aioice's own (host, server-reflexive and
  peer-reflexive candidates);
* `"turn"`: aioice's TURN allocation (relayed candidates, whichever way
  aioice reaches the TURN server), as ChannelData written at once on a
  bound channel, else through its datagram-transport `sendto`, as aioice
  sends its own STUN there (`_shims.send_datagram`).

On a transport of any other kind (`route` is `None`), keepalives are
aioice's own messages sent through aioice's protocol object, and the
remote's requests are left to aioice.

Nothing here can lose a datagram: an exception inside the tap hands the
datagram to aioice unchanged and reports the error to `on_error`.

A controlling remote may nominate another pair later (libwebrtc sometimes
moves from IPv4 to IPv6 within a second), and aioice then sends on that
one: each keepalive first follows aioice's nominated pair, so liveness is
always judged on the path the data takes.

The STUN is built and read by [`rtcstate._stun`][], the remote's keepalives are
answered by [`rtcstate._responder`][]; every aiortc or aioice internal is reached
through [`rtcstate._shims`][].
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from aiortc import RTCIceTransport

from . import _responder as responder
from . import _shims
from . import _stun as stun

__all__ = ["SelectedPair", "selected_pair"]

# on_packet(now), on_answer(now), on_error(exc)
_Callbacks = tuple[
    Callable[[float], None], Callable[[float], None], Callable[[Exception], None]
]


class SelectedPair:
    """The selected candidate pair of one ICE transport, for the liveness
    driver (see the module's text)."""

    OUTSTANDING = 64
    """keepalives whose answer is still accepted (older ones count as lost)"""

    # Counters for getStats() (rtcstate.stats): plain ints and floats, kept since
    # the tap went on this pair. Per datagram from the remote the tap adds to two
    # ints and the driver stores one float; the rest moves once per keepalive.
    # What is sent is aiortc's DTLS transport's to count (it does).
    __slots__ = (
        "_callbacks",
        "_clock",
        "_connection",
        "_latest",
        "_mac",
        "_outstanding",
        "_pair",
        "_priority",
        "_protocol",
        "_unwatch",
        "bytes_received",
        "current_rtt",
        "last_received",
        "packets_received",
        "remote_addr",
        "requests_received",
        "requests_sent",
        "responses_received",
        "responses_sent",
        "route",
        "total_rtt",
    )

    def __init__(self, transport: RTCIceTransport, pair: Any) -> None:
        self._connection = _shims.connection(transport)
        self._pair = pair
        self._protocol = _shims.pair_protocol(pair)
        self.remote_addr: tuple[str, int] = _shims.pair_remote_addr(pair)
        self.route = _shims.hand_route(self._protocol)
        """how hand-built STUN is sent: "socket", "turn", or `None` (aioice's
        own messages only)"""
        self._callbacks: _Callbacks | None = None
        self._priority = _shims.prflx_priority(_shims.pair_component(pair))
        # transaction id -> the loop's time the keepalive was sent
        self._outstanding: OrderedDict[bytes, float] = OrderedDict()
        self._latest = b""  # the newest keepalive's transaction id
        self._unwatch: Callable[[], None] | None = None
        # the session's local and remote passwords, prepared for HMAC once
        self._mac = stun.Macs()
        try:
            self._clock: Callable[[], float] = asyncio.get_running_loop().time
        except RuntimeError:  # made outside a loop (tests): the loop's clock
            self._clock = time.monotonic
        self._reset()

    def _reset(self) -> None:
        """Counters start again on each pair."""
        self.packets_received = 0
        """datagrams from the remote address, answers to keepalives included"""
        self.bytes_received = 0
        """their bytes"""
        self.last_received: float | None = None
        """the loop's time of the last one"""
        self.requests_sent = 0
        """keepalives (consent checks) sent"""
        self.responses_received = 0
        """answers to keepalives whose round trip was measured: those that
        answer the newest keepalive sent (an answer to an older one proves the
        pair alive, but times whatever held it, such as a frozen remote)"""
        self.current_rtt: float | None = None
        """seconds from the latest measured keepalive's sending to its answer;
        kept, as the last one measured, while no answer comes"""
        self.total_rtt = 0.0
        """the sum of the measured round trips (`responses_received` of them)"""
        self.requests_received = 0
        """the remote's binding requests seen on a hand-built route"""
        self.responses_sent = 0
        """the answers to them built here (aioice answers the others)"""

    @property
    def fast(self) -> bool:
        """Keepalives and answers are built by hand (there is a `route` for them)."""
        return self.route is not None

    @property
    def pair(self) -> Any:
        """aioice's CandidatePair the tap is on."""
        return self._pair

    def watch(
        self,
        on_packet: Callable[[float], None],
        on_answer: Callable[[float], None],
        on_error: Callable[[Exception], None],
    ) -> None:
        """Call `on_answer(now)` for each answer to a keepalive, `on_packet(now)`
        for each other datagram from the remote address, and `on_error(exc)`
        when any of this raises (the datagram then goes on to aioice); `now`
        is the loop's time it arrived, kept as `last_received`."""
        self.unwatch()
        self._callbacks = (on_packet, on_answer, on_error)
        remote = self.remote_addr
        is_answer = self._is_answer
        answer = self._answer if self.fast else _never
        clock = self._clock

        def tap(original: _shims.DatagramReceived) -> _shims.DatagramReceived:
            def datagram_received(data: bytes | str, addr: tuple[Any, ...]) -> None:
                try:
                    if (addr[0], addr[1]) == remote:
                        now = self.last_received = clock()
                        self.packets_received += 1
                        self.bytes_received += len(data)
                        if is_answer(data, now):
                            on_answer(now)
                            return  # aioice would drop it: no transaction of its own
                        on_packet(now)
                        if answer(data):
                            return
                except Exception as exc:  # a bug of ours must not cost the datagram
                    on_error(exc)
                original(data, addr)

            return datagram_received

        self._unwatch = _shims.wrap_datagram_received(self._protocol, tap)

    def unwatch(self) -> None:
        self._callbacks = None
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None

    def _is_answer(self, data: bytes | str, now: float) -> bool:
        """Whether `data`, arrived at `now`, is an authenticated binding
        success response to one of our keepalives."""
        # STUN binding success response: type 0x0101, transaction id at 8:20
        if (
            not isinstance(data, bytes)
            or len(data) < 20
            or data[:2] != stun.BINDING_SUCCESS
        ):
            return False
        transaction_id = data[8:20]
        if transaction_id not in self._outstanding:
            return False
        password = self._connection.remote_password
        if password is None or stun.authenticated(data, password, self._mac) is None:
            return False
        sent = self._outstanding.pop(transaction_id)
        if transaction_id == self._latest:
            # Only the newest keepalive's answer measures the path: after a
            # freeze, a remote answers its backlog at once, and those answers
            # time the freeze, not the path (they still prove it alive).
            rtt = now - sent
            self.current_rtt = rtt
            self.total_rtt += rtt
            self.responses_received += 1
        return True

    def _answer(self, data: bytes | str) -> bool:
        """Answer the remote's keepalive `data` by hand if aioice would do
        nothing but answer it ([`rtcstate._responder.answer`][]), and say so;
        `False` leaves the datagram to aioice."""
        if (
            not isinstance(data, bytes)
            or len(data) < 20
            or data[:2] != stun.BINDING_REQUEST
            or data[4:8] != stun.COOKIE_BYTES
        ):
            return False
        self.requests_received += 1
        if not responder.answer(
            self._connection,
            self._pair,
            self._protocol,
            self.remote_addr,
            self._mac,
            data,
        ):
            return False
        self.responses_sent += 1
        return True

    def _follow_nomination(self) -> None:
        current = _shims.nominated(self._connection, _shims.pair_component(self._pair))
        if current is None or current is self._pair:
            return
        callbacks = self._callbacks
        self.unwatch()
        self._pair = current
        self._protocol = _shims.pair_protocol(current)
        self.remote_addr = _shims.pair_remote_addr(current)
        self.route = _shims.hand_route(self._protocol)
        self._reset()
        if callbacks is not None:
            self.watch(*callbacks)

    def send_keepalive(self) -> bool:
        """Send one binding request on aioice's nominated pair; `False` if
        the socket is gone."""
        self._follow_nomination()
        connection = self._connection
        password = connection.remote_password
        if password is None or _shims.closing(connection):
            return False
        transaction_id = os.urandom(12)
        # An ICE-lite remote never checks, so nominating is ours alone; some
        # answer only requests that carry USE-CANDIDATE (libwebrtc sends it on
        # every keepalive to one).
        nominate = connection.ice_controlling and connection.remote_is_lite
        if self.fast:
            transport = _shims.datagram_transport(self._protocol)
            if transport is None or _shims.transport_closing(transport):
                return False
            _shims.send_datagram(
                transport,
                stun.binding_request(
                    transaction_id,
                    username=f"{connection.remote_username}:"
                    f"{connection.local_username}",
                    priority=self._priority,
                    controlling=connection.ice_controlling,
                    tie_breaker=_shims.tie_breaker(connection),
                    key=self._mac(password),
                    use_candidate=nominate,
                ),
                self.remote_addr,
            )
        else:
            # aioice's own request, sent the way aioice sends its consent checks
            # (minus the transaction: the answer is recognised by the tap).
            request = _shims.aioice_keepalive(
                connection, self._pair, transaction_id, password, nominate
            )
            _shims.send_stun(self._protocol, request, self.remote_addr)
        now = self._clock()
        self._outstanding[transaction_id] = now
        self._latest = transaction_id
        self.requests_sent += 1
        while len(self._outstanding) > self.OUTSTANDING:
            self._outstanding.popitem(last=False)
        return True


def _never(data: bytes | str) -> bool:
    return False


def selected_pair(transport: RTCIceTransport) -> SelectedPair | None:
    """The transport's nominated pair, or `None` while there is none."""
    pair = _shims.nominated_pair(transport)
    if pair is None:
        return None
    return SelectedPair(transport, pair)
