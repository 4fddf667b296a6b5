"""Every bundle passes MONAI's own bundle tooling, offline: verify_net_in_out and ckpt_export (TorchScript)."""

from __future__ import annotations

import pytest
import torch
from monai.bundle import ConfigParser, ckpt_export, verify_net_in_out

from tests.conftest import REPO

BUNDLES = sorted(p.parent for p in (REPO / "bundles").glob("*/configs/metadata.json"))


def example_input(parser, batch):
    """A batch the metadata declares: ``num_channels`` channels (a generator: latent values) of ``spatial_shape``."""
    image = parser.get("_meta_#network_data_format#inputs#image")
    return torch.rand(batch, image["num_channels"], *image["spatial_shape"])


def output_shape(parser, batch):
    pred = parser.get("_meta_#network_data_format#outputs#pred")
    if pred["type"] == "latent" and not pred["spatial_shape"]:  # an embedding per image
        return (batch, pred["num_channels"])
    spatial = pred["spatial_shape"] or parser.get("_meta_#network_data_format#inputs#image#spatial_shape")
    return (batch, pred["num_channels"], *spatial)


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
    parser = parser_of(configs)
    out = parser.get_parsed_content("network_def").eval()(example_input(parser, 2))
    assert isinstance(out, torch.Tensor) and out.shape == output_shape(parser, 2)


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
    x = example_input(parser, 1)
    with torch.no_grad():
        expected = network(x)
    assert torch.allclose(scripted(x), expected, atol=1e-5)
    assert not torch.allclose(expected, parser_of(configs).get_parsed_content("network_def").eval()(x), atol=1e-3)
