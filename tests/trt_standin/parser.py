"""Stand-in ``trt.OnnxParser`` and the network it fills, as strict as onnx-tensorrt where this project cares:

- ops without an importer fail (``No importer registered for op``); ``DeformConv`` has one from 10.1 on and
  needs the ``ModulatedDeformConv2d`` plugin, i.e. ``init_libnvinfer_plugins`` called first;
- QuantizeLinear/DequantizeLinear: zero points must be int8 zeros, DequantizeLinear of int32/uint8 data (a
  quantized bias) is refused, scales must be positive (messages after onnx-tensorrt's importers);
- graph inputs with symbolic dimensions become -1 (dynamic) dimensions.
"""
from __future__ import annotations

import numpy as np

#: ops with a built-in importer in every 10.x parser (a subset: what this project's models use, and more)
SUPPORTED_OPS = frozenset({
    "Add", "AveragePool", "BatchNormalization", "Cast", "Clip", "Concat", "Constant", "ConstantOfShape", "Conv",
    "ConvTranspose", "Cos", "DequantizeLinear", "Div", "Equal", "Exp", "Expand", "Flatten", "Gather", "Gemm",
    "GlobalAveragePool", "Greater", "GreaterOrEqual", "Identity", "LeakyRelu", "Less", "Log", "MatMul",
    "MaxPool", "Mul", "Neg", "Pad", "Pow", "QuantizeLinear", "ReduceL2", "ReduceMax", "ReduceMean", "ReduceSum",
    "Relu", "Reshape", "Resize", "Shape", "Sigmoid", "Sin", "Slice", "Softmax", "Split", "Sqrt", "Squeeze", "Sub",
    "Tanh", "Transpose", "Unsqueeze", "Where"})
#: ops whose importer appeared later, and the plugin they need
LATER_OPS = {"DeformConv": ((10, 1), "ModulatedDeformConv2d")}


class Dims(tuple):
    """``trt.Dims``: iterable, indexable, ``len``; -1 for a dynamic dimension."""


class ITensor:
    def __init__(self, name: str, shape, dtype):
        self.name, self.shape, self.dtype = name, Dims(shape), dtype


class INetworkDefinition:
    def __init__(self, trt, flags: int, strongly_typed: bool):
        self._trt, self.flags, self.strongly_typed = trt, flags, strongly_typed
        self.onnx_bytes: bytes | None = None
        self.inputs: list[ITensor] = []
        self.outputs: list[ITensor] = []
        self.ops: set[str] = set()

    def get_flag(self, flag) -> bool:
        if flag.name == "STRONGLY_TYPED":
            return self.strongly_typed
        return bool(self.flags & (1 << int(flag)))

    @property
    def num_inputs(self) -> int:
        return len(self.inputs)

    @property
    def num_outputs(self) -> int:
        return len(self.outputs)

    @property
    def num_layers(self) -> int:
        return len(self.ops)

    def get_input(self, i: int) -> ITensor:
        return self.inputs[i]

    def get_output(self, i: int) -> ITensor:
        return self.outputs[i]


class ParserError:
    def __init__(self, node: int, op: str, desc: str):
        self._node, self._op, self._desc = node, op, desc

    def desc(self) -> str:
        return self._desc

    def node(self) -> int:
        return self._node

    def code(self) -> int:
        return 8  # ErrorCode.UNSUPPORTED_NODE

    def __str__(self) -> str:
        return f"In node {self._node} with name: and operator: {self._op} (...): UNSUPPORTED_NODE: {self._desc}"


def _tensor_info(trt, vi) -> ITensor:
    from .enums import ONNX_TO_TRT
    t = vi.type.tensor_type
    shape = [d.dim_value if d.HasField("dim_value") else -1 for d in t.shape.dim]
    return ITensor(vi.name, shape, getattr(trt.DataType, ONNX_TO_TRT.get(t.elem_type, "FLOAT")))


class OnnxParser:
    def __init__(self, network: INetworkDefinition, logger):
        trt = network._trt
        trt._check_logger(logger)
        self._trt, self.network, self.logger = trt, network, logger
        self.errors: list[ParserError] = []

    @property
    def num_errors(self) -> int:
        return len(self.errors)

    def get_error(self, i: int) -> ParserError:
        return self.errors[i]

    def clear_errors(self) -> None:
        self.errors = []

    def supports_operator(self, op_name: str) -> bool:
        later = LATER_OPS.get(op_name)
        return op_name in SUPPORTED_OPS or (later is not None and self._trt._version >= later[0])

    def parse(self, model: bytes, path: str | None = None) -> bool:
        import onnx
        if not isinstance(model, (bytes, bytearray, memoryview)):
            raise TypeError(f"parse(): incompatible function arguments: {type(model).__name__}")
        try:
            m = onnx.load_from_string(bytes(model))
        except Exception as e:  # noqa: BLE001
            self.errors.append(ParserError(-1, "", f"Failed to parse ONNX model: {e}"))
            return False
        inits = {i.name: i for i in m.graph.initializer}
        for k, node in enumerate(m.graph.node):
            why = self._node_error(node, inits)
            if why:
                self.errors.append(ParserError(k, node.op_type, why))
                return False
            self.network.ops.add(node.op_type)
        init_names = set(inits)
        self.network.inputs = [_tensor_info(self._trt, vi) for vi in m.graph.input if vi.name not in init_names]
        self.network.outputs = [_tensor_info(self._trt, vi) for vi in m.graph.output]
        self.network.onnx_bytes = bytes(model)
        return True

    def _node_error(self, node, inits) -> str:
        op = node.op_type
        if not self.supports_operator(op):
            return f"No importer registered for op: {op}. Attempting to import as plugin. Plugin not found"
        if op in LATER_OPS and not self._trt._plugins_initialised:
            plugin = LATER_OPS[op][1]
            return (f"Plugin not found, are the plugin name, version, and namespace correct? getPluginCreator "
                    f"could not find plugin: {plugin} version: 2 (call init_libnvinfer_plugins first)")
        if op in ("QuantizeLinear", "DequantizeLinear"):
            return _qdq_error(node, inits)
        return ""


def _qdq_error(node, inits) -> str:
    from onnx import TensorProto, numpy_helper
    if len(node.input) < 2 or not node.input[1]:
        return "This version of TensorRT requires at least 2 inputs for the QuantizeLinear/DequantizeLinear operator."
    scale = inits.get(node.input[1])
    if scale is not None and not np.all(numpy_helper.to_array(scale) > 0):
        return "Scale coefficients must all be positive"
    x = inits.get(node.input[0])
    if node.op_type == "DequantizeLinear" and x is not None and x.data_type != TensorProto.INT8:
        return ("TensorRT only allows FP8, INT8, INT4, and FP4 quantization. The specified quantization type is "
                f"{TensorProto.DataType.Name(x.data_type)}.")
    zp = inits.get(node.input[2]) if len(node.input) > 2 and node.input[2] else None
    if zp is not None and numpy_helper.to_array(zp).any():
        return ("Non-zero zero point is not supported. Please set kENABLE_UINT8_AND_ASYMMETRIC_QUANTIZATION_DLA"
                "to enable asymmetric quantization if it is on DLA.")
    return ""
