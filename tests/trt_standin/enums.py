"""TensorRT enums with the real member values (TensorRT 10.x Python API; 11.x removes the precision flags).

pybind11 enums are not ints: ``int(member)`` works, ``member == 0`` is False; modelled by :class:`TrtEnum`.
"""
from __future__ import annotations

import enum

import numpy as np


class TrtEnum(enum.Enum):
    def __int__(self) -> int:
        return self.value

    def __repr__(self) -> str:
        return f"<{type(self).__name__}.{self.name}: {self.value}>"


def _enum(name: str, members: dict[str, int]):
    return TrtEnum(name, members)


Severity = _enum("Severity", {"INTERNAL_ERROR": 0, "ERROR": 1, "WARNING": 2, "INFO": 3, "VERBOSE": 4})
DataType = _enum("DataType", {"FLOAT": 0, "HALF": 1, "INT8": 2, "INT32": 3, "BOOL": 4, "UINT8": 5, "FP8": 6,
                              "BF16": 7, "INT64": 8, "INT4": 9, "FP4": 10})
TensorIOMode = _enum("TensorIOMode", {"NONE": 0, "INPUT": 1, "OUTPUT": 2})
MemoryPoolType = _enum("MemoryPoolType", {"WORKSPACE": 0, "DLA_MANAGED_SRAM": 1, "DLA_LOCAL_DRAM": 2,
                                          "DLA_GLOBAL_DRAM": 3, "TACTIC_DRAM": 4, "TACTIC_SHARED_MEMORY": 5})

#: nvinfer1::BuilderFlag (TensorRT 10.x values)
BUILDER_FLAGS_10 = {"FP16": 0, "INT8": 1, "DEBUG": 2, "GPU_FALLBACK": 3, "REFIT": 4, "DISABLE_TIMING_CACHE": 5,
                    "TF32": 6, "SPARSE_WEIGHTS": 7, "SAFETY_SCOPE": 8, "OBEY_PRECISION_CONSTRAINTS": 9,
                    "PREFER_PRECISION_CONSTRAINTS": 10, "DIRECT_IO": 11, "REJECT_EMPTY_ALGORITHMS": 12,
                    "VERSION_COMPATIBLE": 13, "EXCLUDE_LEAN_RUNTIME": 14, "FP8": 15,
                    "ERROR_ON_TIMING_CACHE_MISS": 16, "BF16": 17, "DISABLE_COMPILATION_CACHE": 18,
                    "STRIP_PLAN": 19, "REFIT_IDENTICAL": 20, "WEIGHT_STREAMING": 21, "INT4": 22}
#: removed in TensorRT 11 (docs: "Removed Python APIs and Replacements", 10.x -> 11.x migration guide)
REMOVED_IN_11 = ("FP16", "INT8", "FP8", "BF16", "INT4", "OBEY_PRECISION_CONSTRAINTS",
                 "PREFER_PRECISION_CONSTRAINTS", "DIRECT_IO")
#: precision flags a strongly typed network does not allow (10.x)
PRECISION_FLAGS = ("FP16", "INT8", "FP8", "BF16", "INT4")


def builder_flag_enum(major: int):
    members = dict(BUILDER_FLAGS_10)
    if major >= 11:  # the remaining members keep their 10.x values here (an assumption; names are what matter)
        for k in REMOVED_IN_11:
            members.pop(k)
    return _enum("BuilderFlag", members)


def creation_flag_enum(major: int):
    """10.x: EXPLICIT_BATCH = 0 (deprecated, ignored), STRONGLY_TYPED = 1. 11.x: STRONGLY_TYPED = 0, deprecated
    and ignored (every network is strongly typed)."""
    if major >= 11:
        return _enum("NetworkDefinitionCreationFlag", {"STRONGLY_TYPED": 0})
    return _enum("NetworkDefinitionCreationFlag", {"EXPLICIT_BATCH": 0, "STRONGLY_TYPED": 1})


#: ONNX TensorProto elem_type -> TensorRT DataType name
ONNX_TO_TRT = {1: "FLOAT", 10: "HALF", 3: "INT8", 6: "INT32", 7: "INT64", 9: "BOOL", 2: "UINT8", 16: "BF16"}
#: what trt.nptype maps (BF16 and the 4/8-bit float types have no numpy type)
NPTYPE = {"FLOAT": np.float32, "HALF": np.float16, "INT8": np.int8, "INT32": np.int32, "INT64": np.int64,
          "BOOL": np.bool_, "UINT8": np.uint8}


def nptype(dtype) -> type:
    if dtype.name not in NPTYPE:
        raise TypeError(f"Could not resolve TensorRT datatype to an equivalent numpy datatype: {dtype}")
    return NPTYPE[dtype.name]
