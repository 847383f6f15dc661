"""Detection network (DLA-34 stems + diffusion fusion + IDAUp/DCNv2 neck + CenterNet heads), training, export,
decoding and the Detector. See docs/network.md.

Inference is torch-free: ``factory.make_detector`` -> ``detector.Detector`` (``inputs``, ``preprocess``,
``decode``, ``info``, ``spec``, ``calibration``) reads the model's facts from its metadata JSON. Training and export (``model``,
``train``, ``export``, ...) need torch."""
