import json

import pytest

from medmonai.bundle import META_SCHEMA_PATH, verify_bundle_metadata
from tests.conftest import REPO

METADATA = sorted((REPO / "bundles").glob("*/configs/metadata.json"))


def test_schema_ships_in_the_package():
    assert META_SCHEMA_PATH.is_file() and json.loads(META_SCHEMA_PATH.read_text(encoding="utf-8"))["required"]


@pytest.mark.parametrize("meta_file", METADATA, ids=lambda p: p.parts[-3])
def test_bundle_metadata_verifies_offline(meta_file, no_network):
    verify_bundle_metadata(meta_file)  # MONAI's verify_metadata with the packaged schema; sockets are blocked


@pytest.mark.parametrize(
    "case",
    [
        {"drop": "network_data_format", "message": "'network_data_format' is a required property"},
        {"drop": "changelog", "message": "'changelog' is a required property"},
        {"drop": "required_packages_version", "message": "'required_packages_version' is a required property"},
    ],
)
def test_incomplete_metadata_fails(tmp_path, no_network, case):
    meta = json.loads(METADATA[0].read_text(encoding="utf-8"))
    del meta[case["drop"]]
    path = tmp_path / "metadata.json"
    path.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=case["message"]):
        verify_bundle_metadata(path)
