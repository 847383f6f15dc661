"""What a given TensorRT can do with a given model, decided before anything is built.

Versions (from NVIDIA's release notes and the onnx-tensorrt changelog; none of it has run on hardware here):

- TensorRT < 10 is refused (its Python API differs: bindings, ``execute_async_v2``).
- 10.0's ONNX parser has no ``DeformConv`` importer (added in 10.1, where it maps the op to the
  ``ModulatedDeformConv2d`` plugin of ``libnvinfer_plugin``): a model with DCNv2 layers needs >= 10.1; the
  plain-conv neck runs on 10.0. The check is the parser's own ``supports_operator`` answer, per op.
- 10.x: a network is weakly typed unless created with ``STRONGLY_TYPED``; ``BuilderFlag.FP16`` lets the builder
  pick fp16 kernels (deprecated since 10.12, still honoured); explicit int8 (Q/DQ) is built strongly typed.
- 11.x: every network is strongly typed (the creation flag is ignored); ``BuilderFlag.FP16/INT8/BF16/FP8`` and
  the precision-constraint flags are gone. An fp32 ONNX model therefore builds an fp32 engine whatever
  ``precision`` says (fp16 needs a model converted to fp16 first, e.g. ModelOpt AutoCast); the plan says so.
- 12 or later is refused until someone has checked it.

Layer precisions in a strongly typed (int8 Q/DQ) engine: the convolutions whose inputs and weights have Q/DQ
pairs run int8; everything without Q/DQ runs in the ONNX model's types, fp32 (DeformConv/plugin, ConvTranspose,
BatchNormalization, the heads' Sigmoid/Softmax/ReduceL2, the fusion's elementwise ops); TF32 only if allowed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .base import BackendUnavailable, ModelError

MIN_VERSION = (10, 0)
#: majors this backend knows the rules of
KNOWN_MAJORS = (10, 11)
#: first version whose parser imports the op (onnx-tensorrt changelog), for the message when it does not
OP_SINCE = {"DeformConv": (10, 1)}
#: BuilderFlag.FP16 is deprecated from this version on (still honoured in 10.x)
FP16_FLAG_DEPRECATED = (10, 12)
#: major from which every network is strongly typed and precision builder flags are removed
STRONG_TYPING_ONLY = 11

#: TensorRT DataType name -> numpy dtype (what ``trt.nptype`` maps); anything else (BF16, FP8, INT4, FP4, ...)
#: has no numpy equivalent and is refused at the engine's inputs and outputs
TRT_TO_NUMPY = {"FLOAT": np.float32, "HALF": np.float16, "INT8": np.int8, "INT32": np.int32, "INT64": np.int64,
                "BOOL": np.bool_, "UINT8": np.uint8}


def parse_version(text: str) -> tuple[int, int]:
    m = re.match(r"\s*(\d+)\.(\d+)", str(text))
    if not m:
        raise BackendUnavailable(f"cannot read the TensorRT version {text!r}")
    return int(m.group(1)), int(m.group(2))


def check_version(text: str) -> tuple[int, int]:
    v = parse_version(text)
    if v < MIN_VERSION:
        raise BackendUnavailable(f"TensorRT {text} found, this backend needs TensorRT >= "
                                 f"{MIN_VERSION[0]}.{MIN_VERSION[1]}")
    if v[0] not in KNOWN_MAJORS:
        raise BackendUnavailable(f"TensorRT {text} found: this backend knows the rules of TensorRT "
                                 f"{' and '.join(f'{m}.x' for m in KNOWN_MAJORS)} only (untested major version)")
    return v


def unsupported_ops(parser, ops: set[str], version: str) -> list[str]:
    """The model's ops the parser has no importer for, each with why (``OnnxParser.supports_operator``)."""
    missing = []
    for op in sorted(ops):
        if parser.supports_operator(op):
            continue
        since = OP_SINCE.get(op)
        hint = f" (added in TensorRT {since[0]}.{since[1]})" if since and parse_version(version) < since else ""
        missing.append(f"{op}{hint}")
    return missing


@dataclass(frozen=True)
class BuildPlan:
    """How to create the network and configure the builder for one precision on one TensorRT."""
    precision: str            # what the engine will run: fp32 / fp16 / int8
    strongly_typed: bool      # the network's types are the ONNX types (Q/DQ fix the int8 layers)
    creation_flags: tuple[str, ...]   # NetworkDefinitionCreationFlag names to set
    builder_flags: tuple[str, ...]    # BuilderFlag names to set
    cleared_flags: tuple[str, ...]    # BuilderFlag names to clear
    note: str = ""            # why the plan differs from what was asked, or a deprecation

    @property
    def cache_tag(self) -> str:
        return "-".join((self.precision, "strong" if self.strongly_typed else "weak", *self.builder_flags))


def plan_build(trt, version: str, precision: str, has_qdq: bool, tf32: bool) -> BuildPlan:
    """The plan for ``precision`` (fp32/fp16/int8) of a model with or without Q/DQ nodes."""
    v = parse_version(version)
    strong_only = v[0] >= STRONG_TYPING_ONLY or not hasattr(trt.BuilderFlag, "FP16")
    cleared = () if tf32 else ("TF32",)
    if precision == "int8":
        if not has_qdq:
            raise ModelError("precision int8 needs explicit quantization (Q/DQ nodes) in the model; export one "
                             "with tracker-export --int8-qdq, or use fp16/fp32")
        flags = () if strong_only else ("STRONGLY_TYPED",)
        return BuildPlan("int8", True, flags, (), cleared)
    if precision == "fp16" and not strong_only:
        note = (f"BuilderFlag.FP16 is deprecated since TensorRT {FP16_FLAG_DEPRECATED[0]}.{FP16_FLAG_DEPRECATED[1]}"
                " (still honoured)") if v >= FP16_FLAG_DEPRECATED else ""
        return BuildPlan("fp16", False, (), ("FP16",), cleared, note)
    note = ""
    if precision == "fp16":
        note = (f"TensorRT {version} has no FP16 builder flag (networks are strongly typed): building the model's "
                "own types, fp32 (for fp16 convert the ONNX model to fp16 first, e.g. ModelOpt AutoCast)")
    return BuildPlan("fp32", strong_only, (), (), cleared, note)


def creation_flags(trt, plan: BuildPlan) -> int:
    bits = 0
    for name in plan.creation_flags:
        bits |= 1 << int(getattr(trt.NetworkDefinitionCreationFlag, name))
    return bits


def dtype_name(trt_dtype) -> str:
    return getattr(trt_dtype, "name", None) or str(trt_dtype).rsplit(".", 1)[-1]


def numpy_dtype(trt_dtype, tensor: str) -> np.dtype:
    """The numpy dtype for a TensorRT I/O tensor type; refuses what has none (BF16, FP8, INT4, FP4)."""
    name = dtype_name(trt_dtype)
    if name not in TRT_TO_NUMPY:
        raise BackendUnavailable(f"engine tensor {tensor!r} has TensorRT type {name}, which has no numpy "
                                 f"equivalent (supported: {', '.join(TRT_TO_NUMPY)})")
    return np.dtype(TRT_TO_NUMPY[name])
