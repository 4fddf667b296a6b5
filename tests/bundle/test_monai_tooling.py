"""Every bundle passes MONAI's own bundle tooling, offline: verify_net_in_out and ckpt_export (TorchScript)."""

from __future__ import annotations

import json

import pytest
import torch
from monai.bundle import ConfigParser, ckpt_export, verify_net_in_out

from tests.conftest import REPO

BUNDLES = sorted(p.parent for p in (REPO / "bundles").glob("*/configs/metadata.json"))


def parser_of(configs):
    parser = ConfigParser()
    parser.read_config(str(configs / "train.yaml"))
    parser.read_meta(str(configs / "metadata.json"))
    return parser


@pytest.mark.parametrize("configs", BUNDLES, ids=lambda p: p.parent.name)
def test_network_def_returns_the_tensor_the_metadata_declares(configs, no_network):
    verify_net_in_out(
        net_id="network_def",
        meta_file=str(configs / "metadata.json"),
        config_file=str(configs / "train.yaml"),
        device="cpu",
    )  # raises on a channel or dtype mismatch, or a dict output
    pred = json.loads((configs / "metadata.json").read_text(encoding="utf-8"))["network_data_format"]["outputs"]["pred"]
    parser = parser_of(configs)
    shape = parser.get("_meta_#network_data_format#inputs#image#spatial_shape")
    out = parser.get_parsed_content("network_def").eval()(torch.rand(2, 1, *shape))
    assert isinstance(out, torch.Tensor) and out.shape == (2, pred["num_channels"], *shape)


@pytest.mark.parametrize("configs", BUNDLES, ids=lambda p: p.parent.name)
def test_ckpt_export_writes_torchscript_that_reproduces_the_trained_weights(configs, tmp_path, no_network):
    torch.manual_seed(0)
    trained = parser_of(configs).get_parsed_content("model_def")  # what training saves as model.pt
    torch.save(trained.state_dict(), tmp_path / "model.pt")
    exported = tmp_path / "model.ts"
    ckpt_export(
        net_id="network_def",
        filepath=str(exported),
        ckpt_file=str(tmp_path / "model.pt"),
        meta_file=str(configs / "metadata.json"),
        config_file=str(configs / "train.yaml"),
        use_trace=True,
    )
    scripted = torch.jit.load(str(exported))
    parser = parser_of(configs)
    network = parser.get_parsed_content("network_def").eval()
    network.load_state_dict(torch.load(tmp_path / "model.pt", weights_only=True))
    x = torch.rand(1, 1, *parser.get("_meta_#network_data_format#inputs#image#spatial_shape"))
    with torch.no_grad():
        expected = network(x)
    assert torch.allclose(scripted(x), expected, atol=1e-5)
    assert not torch.allclose(expected, parser_of(configs).get_parsed_content("network_def").eval()(x), atol=1e-3)
