"""rtcstate's command-line tools, apart from the library core: the `rtcstate` command
([`cli`][rtcstate.tools.cli]), the two-peer demo ([`demo`][rtcstate.tools.demo]) and the
timeline renderer ([`timeline`][rtcstate.tools.timeline]). The library never imports
them."""
