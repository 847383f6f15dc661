"""Small ONNX models (with metadata beside them) for the backend tests, and a fake GPU."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

GPU = ("NVIDIA H100 80GB HBM3", (9, 0))


def fake_gpu():
    return GPU


def write_meta(onnx_path: Path, inputs: dict, outputs: dict) -> Path:
    """A metadata .json beside ``onnx_path`` that load_meta accepts."""
    from tracker.backends.base import META_FORMAT, file_hash
    meta = {"format": META_FORMAT, "inputs": inputs, "outputs": outputs, "input_width": 2, "input_height": 1,
            "class_names": ["person"], "embedding_dim": 1, "version_hash": file_hash(onnx_path)}
    p = onnx_path.with_suffix(".json")
    p.write_text(json.dumps(meta))
    return p


def relu_cast_model(path: Path, out_type: str = "FLOAT", dynamic: bool = False) -> Path:
    """x (1, 2) float -> Relu -> Cast(out_type) -> y; ``dynamic``: the first dimension is symbolic."""
    import onnx
    from onnx import TensorProto, helper
    elem = getattr(TensorProto, out_type)
    nodes = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Cast", ["r"], ["y"], to=elem)]
    dim0 = "N" if dynamic else 1
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [dim0, 2])],
                          [helper.make_tensor_value_info("y", elem, [dim0, 2])])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 19)]), str(path))
    write_meta(path, {"x": [1, 2]}, {"y": [1, 2]})
    return path


def copy_model(src: Path, dst_dir: Path, name: str | None = None) -> Path:
    """``src`` and its metadata copied into ``dst_dir``."""
    dst_dir.mkdir(parents=True, exist_ok=True)
    dst = dst_dir / (name or src.name)
    shutil.copy(src, dst)
    shutil.copy(src.with_suffix(".json"), dst.with_suffix(".json"))
    return dst


def asymmetric_qdq(src: Path, dst: Path, calibration: list[dict]) -> Path:
    """The Q/DQ model the old export wrote (ONNX Runtime's defaults: asymmetric activations, int32 biases)."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter(calibration)

        def get_next(self):
            return next(self.it, None)

    quantize_static(str(src), str(dst), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QInt8, weight_type=QuantType.QInt8, op_types_to_quantize=["Conv"])
    meta = json.loads(src.with_suffix(".json").read_text())
    from tracker.backends.base import file_hash
    meta["version_hash"] = file_hash(dst)
    dst.with_suffix(".json").write_text(json.dumps(meta))
    return dst
