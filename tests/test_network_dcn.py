"""DCNv2 in pure torch: equals a plain conv at zero offsets, equals ONNX Runtime's DeformConv, has gradients."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tracker.network.dcn import ModulatedDeformConv2d, deform_conv2d

torch.set_num_threads(1)


def test_zero_offset_unit_mask_is_plain_conv():
    torch.manual_seed(0)
    x = torch.rand(2, 3, 7, 9)
    w = torch.rand(5, 3, 3, 3)
    b = torch.rand(5)
    off = torch.zeros(2, 18, 7, 9)
    mask = torch.ones(2, 9, 7, 9)
    assert torch.allclose(deform_conv2d(x, off, mask, w, b, 1, 1, 1), F.conv2d(x, w, b, 1, 1), atol=1e-5)


def test_integer_offset_shifts_sampling():
    x = torch.arange(25.0).view(1, 1, 5, 5)
    w = torch.zeros(1, 1, 3, 3)
    w[0, 0, 1, 1] = 1.0  # centre tap only
    off = torch.zeros(1, 18, 5, 5)
    off[:, 2 * 4 + 1] = 1.0  # centre tap: dx = +1
    out = deform_conv2d(x, off, None, w, None, 1, 1, 1)
    assert torch.allclose(out[0, 0, :, :4], x[0, 0, :, 1:])
    assert torch.all(out[0, 0, :, 4] == 0)  # sampled outside the image -> zero


def test_onnx_deformconv_matches_torch(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    torch.manual_seed(1)
    m = ModulatedDeformConv2d(4, 6, stride=1).eval()
    torch.nn.init.normal_(m.conv_offset_mask.weight, std=0.7)  # large, fractional offsets; masks away from 1
    torch.nn.init.normal_(m.conv_offset_mask.bias, std=0.5)
    x = torch.rand(2, 4, 9, 11)
    path = tmp_path / "dcn.onnx"
    with torch.no_grad():
        torch.onnx.export(m, (x,), str(path), opset_version=19, dynamo=False, input_names=["x"],
                          output_names=["y"])
        ref = m(x).numpy()
    import onnx
    assert "DeformConv" in [n.op_type for n in onnx.load(str(path)).graph.node]
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x.numpy()})[0]
    assert np.abs(got - ref).max() < 1e-5


def test_function_gradients_match_direct():
    from tracker.network.dcn import DeformConvFunction
    torch.manual_seed(2)
    x = torch.rand(1, 2, 5, 5, requires_grad=True)
    w = torch.rand(3, 2, 3, 3, requires_grad=True)
    off = (torch.rand(1, 18, 5, 5) - 0.5).requires_grad_(True)
    mask = torch.rand(1, 9, 5, 5, requires_grad=True)
    b = torch.zeros(3, requires_grad=True)
    DeformConvFunction.apply(x, w, off, b, mask, 1, 1, 1).sum().backward()
    g1 = [t.grad.clone() for t in (x, w, off, mask)]
    for t in (x, w, off, mask):
        t.grad = None
    deform_conv2d(x, off, mask, w, b, 1, 1, 1).sum().backward()
    for a, t in zip(g1, (x, w, off, mask)):
        assert torch.allclose(a, t.grad, atol=1e-5)
