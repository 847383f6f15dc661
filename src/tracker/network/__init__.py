"""Detection network (DLA-34 stems + diffusion fusion + IDAUp/DCNv2 neck + CenterNet heads), training, export,
decoding and the Detector. See docs/network.md."""
