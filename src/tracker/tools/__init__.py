"""Harnesses on top of the node suite (not nodes themselves): replaying bags through the nodes over DDS
(``replay``), tracker-eval with the node suite as replayer (``evaluate``), the demo job (``demo``) and the
effective-configuration printer (``config``).

Tools may import every other package; no package of the product imports ``tracker.tools``."""
