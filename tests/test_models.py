"""The model zoo: registry keys, reference parameter counts, the Features contract, checkpoint loading.

Fast and CPU-only: every model runs one forward pass on a tiny batch; nothing is downloaded.
"""
from __future__ import annotations

import pytest
import torch
from torch import nn
from torchvision import models as tvm

from rlkd.errors import RLKDError
from rlkd.models import MODELS, Features, ZooModel, build_model, load_teacher

CIFAR_KEYS = [
    "resnet8", "resnet14", "resnet20", "resnet32", "resnet44", "resnet56", "resnet110", "resnet8x4", "resnet32x4",
    "wrn_16_1", "wrn_16_2", "wrn_40_1", "wrn_40_2",
    "vgg8", "vgg11", "vgg13", "vgg16", "vgg19",
    "MobileNetV2", "ShuffleV1", "ShuffleV2", "ResNet50", "ResNet18",
]
IMAGENET_KEYS = ["imagenet_resnet18", "imagenet_resnet34", "imagenet_resnet50", "imagenet_mobilenet_v2"]
TINY_KEYS = ["digits_cnn_t", "digits_cnn_s"]

# Parameters with num_classes=100. Every number is what the published RepDistiller (HobbitLong/RepDistiller
# models/*.py @ eedab9d) / mdistiller (megvii-research/mdistiller mdistiller/models/cifar/*.py @ e8c5bb3)
# definitions give: checked by building a transcription of that code and comparing every state-dict key and
# shape with these models. Where a published figure exists it is quoted (rounded to 0.01 M):
#   [T] shared/data/teachers/README.md (resnet56 "0.86 M", chenyaofo/pytorch-cifar-models README);
#   [C] chenyaofo/pytorch-cifar-models README, CIFAR-100 table (same ResNet layout): resnet20 0.28 M,
#       resnet32 0.47 M, resnet44 0.67 M, resnet56 0.86 M.
CIFAR_PARAMS = {
    "resnet8": 83_892,
    "resnet14": 181_108,
    "resnet20": 278_324,  # [C] 0.28 M
    "resnet32": 472_756,  # [C] 0.47 M
    "resnet44": 667_188,  # [C] 0.67 M
    "resnet56": 861_620,  # [T][C] 0.86 M; the shipped teacher loads strictly into it
    "resnet110": 1_736_564,
    "resnet8x4": 1_233_540,
    "resnet32x4": 7_433_860,
    "wrn_16_1": 180_916,
    "wrn_16_2": 703_284,
    "wrn_40_1": 569_780,
    "wrn_40_2": 2_255_156,
    "vgg8": 3_965_028,
    "vgg11": 9_277_284,
    "vgg13": 9_462_180,
    "vgg16": 14_774_436,
    "vgg19": 20_086_692,
    "MobileNetV2": 812_836,  # mobile_half: T=6, width 0.5
    "ShuffleV1": 949_258,
    "ShuffleV2": 1_355_528,
    "ResNet50": 23_705_252,
    "ResNet18": 11_220_132,
}

# torchvision's documented parameter counts for the ImageNet weights (1000 classes), e.g. ResNet18_Weights.
IMAGENET_PARAMS_1000 = {
    "imagenet_resnet18": 11_689_512,
    "imagenet_resnet34": 21_797_672,
    "imagenet_resnet50": 25_557_032,
    "imagenet_mobilenet_v2": 3_504_872,
}

# (channels, height) of every Features.stages entry on a 32x32 input: the zoo's feature taps.
_THIN = [(16, 32), (16, 32), (32, 16), (64, 8)]
_X4 = [(32, 32), (64, 32), (128, 16), (256, 8)]
_VGG = [(64, 32), (128, 16), (256, 8), (512, 4), (512, 4)]
CIFAR_STAGES = {
    **{k: _THIN for k in ["resnet8", "resnet14", "resnet20", "resnet32", "resnet44", "resnet56", "resnet110"]},
    "resnet8x4": _X4, "resnet32x4": _X4,
    "wrn_16_1": _THIN, "wrn_40_1": _THIN,
    "wrn_16_2": [(16, 32), (32, 32), (64, 16), (128, 8)], "wrn_40_2": [(16, 32), (32, 32), (64, 16), (128, 8)],
    **{k: _VGG for k in ["vgg8", "vgg11", "vgg13", "vgg16", "vgg19"]},
    "MobileNetV2": [(16, 16), (12, 16), (16, 8), (48, 4), (160, 2)],
    "ShuffleV1": [(24, 32), (240, 16), (480, 8), (960, 4)],
    "ShuffleV2": [(24, 32), (116, 16), (232, 8), (464, 4)],
    "ResNet50": [(64, 32), (256, 32), (512, 16), (1024, 8), (2048, 4)],
    "ResNet18": [(64, 32), (64, 32), (128, 16), (256, 8), (512, 4)],
}


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_registry_holds_exactly_the_expected_keys() -> None:
    assert MODELS.names() == sorted(CIFAR_KEYS + IMAGENET_KEYS + TINY_KEYS)


@pytest.mark.parametrize("name", CIFAR_KEYS)
def test_cifar_parameter_count_matches_reference_zoo(name: str) -> None:
    assert n_params(build_model(name, num_classes=100)) == CIFAR_PARAMS[name]


@pytest.mark.parametrize("name", IMAGENET_KEYS)
def test_imagenet_parameter_count_matches_torchvision(name: str) -> None:
    assert n_params(build_model(name, num_classes=1000)) == IMAGENET_PARAMS_1000[name]


def test_tiny_models_are_in_their_size_bands() -> None:
    assert 50_000 <= n_params(build_model("digits_cnn_t", num_classes=10)) <= 100_000
    assert 5_000 <= n_params(build_model("digits_cnn_s", num_classes=10)) <= 15_000


def check_features(model: ZooModel, x: torch.Tensor, num_classes: int) -> Features:
    """The contract of base.py, checked on one eval-mode forward pass."""
    model.eval()
    with torch.no_grad():
        logits, feats = model(x)
    assert isinstance(model.classifier, nn.Linear)
    assert logits.shape == (x.shape[0], num_classes)
    assert isinstance(feats, Features) and feats.pooled is not None
    assert feats.pooled.shape == (x.shape[0], model.classifier.in_features)
    # pooled is exactly what the classifier reads
    torch.testing.assert_close(model.classifier(feats.pooled), logits)
    assert len(feats.preact) == len(feats.stages) >= 3
    for s, p in zip(feats.stages, feats.preact):
        assert s.dim() == 4 and s.shape == p.shape and s.shape[0] == x.shape[0]
    return feats


@pytest.mark.parametrize("name", CIFAR_KEYS)
def test_cifar_forward_exposes_features(name: str) -> None:
    torch.manual_seed(0)
    feats = check_features(build_model(name, 100), torch.randn(2, 3, 32, 32), 100)
    assert [(s.shape[1], s.shape[2]) for s in feats.stages] == CIFAR_STAGES[name]


@pytest.mark.parametrize("name", ["resnet20", "vgg8", "ShuffleV1", "ResNet18"])
def test_stage_outputs_follow_their_preact_through_relu(name: str) -> None:
    """Families whose stages end in a ReLU: stages == relu(preact) (the stem included)."""
    torch.manual_seed(0)
    model = build_model(name).eval()
    with torch.no_grad():
        _, feats = model(torch.randn(2, 3, 32, 32))
    assert len(feats.stages) == len(feats.preact) >= 3  # an empty zip would pass the loop below vacuously
    for s, p in zip(feats.stages, feats.preact):
        torch.testing.assert_close(s, p.relu())
        assert (p < 0).any()  # pre-activations do go negative, so relu is not the identity here


@pytest.mark.parametrize("name", TINY_KEYS)
def test_tiny_forward_exposes_features(name: str) -> None:
    check_features(build_model(name, num_classes=10), torch.randn(2, 1, 8, 8), 10)


@pytest.mark.parametrize("name", IMAGENET_KEYS)
def test_imagenet_wrapper_matches_torchvision(name: str) -> None:
    """Same keys as torchvision (its weight files load strictly) and the same logits."""
    torch.manual_seed(0)
    model = build_model(name, num_classes=10).eval()
    reference = getattr(tvm, name.removeprefix("imagenet_"))(weights=None, num_classes=10).eval()
    reference.load_state_dict(model.state_dict(), strict=True)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(model(x)[0], reference(x))
    check_features(model, x, 10)


def test_build_is_deterministic_under_a_seed() -> None:
    torch.manual_seed(3)
    a = build_model("resnet8")
    torch.manual_seed(3)
    b = build_model("resnet8")
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb) and len(sa) > 0  # zip below would silently stop at the shorter one
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k
    # and the seed is what makes them equal: another seed gives other conv weights
    torch.manual_seed(4)
    c = build_model("resnet8")
    assert not torch.equal(sa["conv1.weight"], c.state_dict()["conv1.weight"])


def test_unknown_model_name_lists_known_names() -> None:
    with pytest.raises(RLKDError, match=r"unknown model 'resnet57'.*resnet56") as err:
        build_model("resnet57")
    assert "\n" not in str(err.value) and "wrn_40_2" in str(err.value)


# ---- checkpoints -------------------------------------------------------------------------------------------

def _source() -> ZooModel:
    torch.manual_seed(1)
    model = build_model("resnet8", num_classes=10)
    with torch.no_grad():  # non-trivial BN statistics, so a forgotten buffer would show in the logits
        for name, buf in model.named_buffers():
            if "running_mean" in name:
                buf.normal_()
    return model.eval()


@pytest.mark.parametrize("wrap", ["plain", "model", "state_dict", "net", "module_prefix", "model_module_prefix"])
def test_checkpoint_variants_round_trip(tmp_path, wrap: str) -> None:
    src = _source()
    sd = src.state_dict()
    prefixed = {f"module.{k}": v for k, v in sd.items()}
    obj = {
        "plain": sd,
        "model": {"model": sd, "epoch": 240, "best_acc": torch.tensor(72.3)},  # RepDistiller/mdistiller save
        "state_dict": {"state_dict": sd},
        "net": {"net": sd, "acc": 70.0},
        "module_prefix": prefixed,  # DataParallel
        "model_module_prefix": {"model": prefixed},
    }[wrap]
    path = tmp_path / "teacher.pth"
    torch.save(obj, path)
    teacher = load_teacher("resnet8", str(path), num_classes=10)
    assert not teacher.training and not any(p.requires_grad for p in teacher.parameters())
    for k, v in src.state_dict().items():
        assert torch.equal(teacher.state_dict()[k], v), k
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(teacher(x)[0], src(x)[0])


def test_missing_checkpoint_names_path_and_config_key(tmp_path) -> None:
    path = tmp_path / "nope.pt"
    with pytest.raises(RLKDError, match="model.teacher_checkpoint") as err:
        load_teacher("resnet56", str(path))
    assert str(path) in str(err.value)


def test_wrong_architecture_is_one_line_naming_keys_and_the_right_arch(tmp_path) -> None:
    path = tmp_path / "resnet8.pt"
    torch.save({"model": _source().state_dict()}, path)
    with pytest.raises(RLKDError) as err:
        load_teacher("resnet20", str(path), num_classes=10)
    msg = str(err.value)
    assert "\n" not in msg
    # resnet20 has 3 blocks per stage, resnet8 one: 6 more blocks x 12 tensors (2 convs + 2 BNs of 5) = 72
    assert "'resnet20'" in msg and "72 missing keys (layer1.1.conv1.weight" in msg  # the first missing key is quoted
    assert "0 unexpected keys (none)" in msg  # every resnet8 key exists in resnet20
    assert "model.teacher=resnet8" in msg  # the architecture the file does fit
    # The counts in the message are the real key differences of the two state dicts...
    own, file = build_model("resnet20", num_classes=10).state_dict(), _source().state_dict()
    missing = [k for k in own if k not in file]
    assert len(missing) == 72 and missing[0] == "layer1.1.conv1.weight" and [k for k in file if k not in own] == []
    # ...and torch's non-strict load agrees, except that BatchNorm fills in a missing num_batches_tracked itself
    # (12 of the 72: one per BN, 2 BNs per block).
    result = build_model("resnet20", num_classes=10).load_state_dict(file, strict=False)
    assert result.unexpected_keys == []
    assert result.missing_keys == [k for k in missing if not k.endswith("num_batches_tracked")]
    assert len(result.missing_keys) == 60


def test_wrong_architecture_with_unexpected_keys(tmp_path) -> None:
    path = tmp_path / "resnet8x4.pt"
    torch.save(build_model("resnet8x4").state_dict(), path)
    with pytest.raises(RLKDError, match=r"0 missing keys \(none\), 6 unexpected keys \(layer1\.0\.downsample") as err:
        load_teacher("resnet8", str(path))
    assert "model.teacher=resnet8x4" in str(err.value)


def test_class_count_mismatch_names_the_shapes(tmp_path) -> None:
    path = tmp_path / "r8_10.pt"
    torch.save(_source().state_dict(), path)
    with pytest.raises(RLKDError, match=r"fc\.weight: \[10, 64\] in the file vs \[100, 64\]"):
        load_teacher("resnet8", str(path), num_classes=100)


def test_file_without_a_state_dict_is_rejected(tmp_path) -> None:
    path = tmp_path / "meta.pt"
    torch.save({"epoch": 3, "lr": 0.1}, path)
    with pytest.raises(RLKDError, match="holds no state dict.*epoch"):
        load_teacher("resnet8", str(path))


def test_corrupt_file_is_rejected_without_unpickling_code(tmp_path) -> None:
    path = tmp_path / "junk.pt"
    path.write_bytes(b"not a torch file")
    with pytest.raises(RLKDError, match="weights-only torch file") as err:
        load_teacher("resnet8", str(path))
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("name, channels, size", [(k, 1, 8) for k in CIFAR_KEYS] + [(k, 1, 64) for k in IMAGENET_KEYS]
                         + [(k, 3, 8) for k in TINY_KEYS])
def test_every_model_takes_the_datas_channels(name: str, channels: int, size: int) -> None:
    """in_channels replaces the input's own convolution (a later one would leave the input layer at 3 channels
    and the forward would fail), so the CIFAR zoo runs on the 1-channel 8×8 digits of the quickstart."""
    from rlkd.models.stem import stem_name

    torch.manual_seed(0)
    plain = build_model(name, num_classes=10)
    model = build_model(name, num_classes=10, in_channels=channels)
    stem = model.get_submodule(stem_name(model))
    assert stem.in_channels == channels and stem.out_channels == plain.get_submodule(stem_name(plain)).out_channels
    assert n_params(model) - n_params(plain) == (
        (channels - stem_in(plain)) * stem.weight[0, 0].numel() * stem.out_channels
    )
    check_features(model, torch.randn(2, channels, size, size), 10)


def stem_in(model: nn.Module) -> int:
    from rlkd.models.stem import stem_name

    return model.get_submodule(stem_name(model)).in_channels


def test_same_channels_keep_the_model_as_built() -> None:
    torch.manual_seed(1)
    a = build_model("resnet8", num_classes=10)
    torch.manual_seed(1)
    b = build_model("resnet8", num_classes=10, in_channels=3)
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb) and len(sa) > 0
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k
