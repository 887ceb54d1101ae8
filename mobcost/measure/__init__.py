"""The measurement machinery every runtime shares, and which imports none of them: what a runtime is to
mobcost (:mod:`.runtime`, a protocol), the round schedule of microbenchmarks and networks (:mod:`.schedule`),
the microbenchmarks' one-layer graphs (:mod:`.micro`), the fit of a profile to their times (:mod:`.fit`),
timing networks whole and per layer (:mod:`.timing`), the measurement cache (:mod:`.cache`) and the profile
files (:mod:`.profiles`). The runtimes themselves live in :mod:`mobcost.runtimes`, one module each.
"""
