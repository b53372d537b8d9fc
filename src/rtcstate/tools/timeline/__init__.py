"""Render a recorded history as a self-contained SVG timeline (or an HTML page).

One lane per ICE and DTLS transport and one for each aggregate state, per peer,
coloured by state; hovering a segment shows its state, its span and the cause
of the change that began it. Under them, an RTT lane for each ICE transport with
round-trip samples (`"rtt"` records: the selected pair's `currentRoundTripTime` at
each answered keepalive), where a mark shows each change of the selected pair
(`"pair"` records: the `selectedcandidatepairchange` event).
[`render_causes`][rtcstate.tools.timeline.render_causes] shows the causes as a table,
which the HTML page has under the picture. The input is what `rtcstate demo --json`
prints, or what [`records`][rtcstate.tools.timeline.records] makes from a connection's
`state_history` and `transport_history`.

```sh
rtcstate demo --cut-after 2 --cut-for 4 --json > blip.jsonl
rtcstate timeline blip.jsonl -o blip.html
```

The package is split by concern: `recording.py` makes and reads the records,
`style.py` holds the colours and sizes, `layout.py` turns the records into lanes,
segments and placed labels, `drawing.py` draws the SVG, and `page.py` the HTML page
and its table.
"""

from __future__ import annotations

from .drawing import render_svg
from .page import render_causes, render_html
from .recording import load, pair_record, records
from .style import COLOURS, contrast, text_colour, text_width

__all__ = [
    "COLOURS",
    "contrast",
    "load",
    "pair_record",
    "records",
    "render_causes",
    "render_html",
    "render_svg",
    "text_colour",
    "text_width",
]
