"""What rtcstate's tests share, imported as ``tests.support.<module>``.

- ``peers``: the peers' configuration, an event recorder, tasks left behind;
- ``sdp``: SDP rewrites (no candidates, wrong fingerprints or ICE password);
- ``libwebrtc``: libwebrtc (PyPI ``wrtc``) as a peer ``negotiate()`` can drive;
- ``browser``: headless chromium and the browser example's application;
- ``scenarios``: the differential conformance runs (tests/test_conformance.py);
- ``targets``: the path matrix's figures (tests/test_turn.py, test_ipv6.py);
- ``turn``: a coturn TURN server on 127.0.0.1;
- ``netns``: network namespaces and veth pairs;
- ``inside``: the one place tests read a connection's tracker (its readout, its feed).

Three are scripts run in a namespace of their own, as
``python -m tests.support.<name>`` from the repository's root (see
:data:`tests.support.ROOT`): ``ipv6_peers`` and ``ipv6_wrtc_peer``
(tests/test_ipv6.py), and ``mdns_browser`` (tests/test_mdns.py).

The fixtures are in tests/conftest.py.
"""

from __future__ import annotations

from pathlib import Path

#: the repository's root: the working directory of the scripts above
ROOT = Path(__file__).resolve().parents[2]
