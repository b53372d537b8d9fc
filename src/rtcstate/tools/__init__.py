"""rtcstate's command-line tools, apart from the library core: the ``rtcstate``
command (:mod:`.cli`), the two-peer demo (:mod:`.demo`) and the timeline
renderer (:mod:`.timeline`). The library never imports them."""
