"""Feature frameworks (PKT, SP, VID, CRD, SRRL, RKD): per-instance terms whose batch mean equals an
independently written scalar implementation of the published loss; aux modules trained; CRD's memory bank.
"""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from rlkd.errors import RLKDError
from rlkd.losses import build_loss
from rlkd.losses.base import LossContext
from rlkd.losses.crd import contrast_scores
from rlkd.models.base import Features, ZooModel

B, CLASSES, NUM_DATA = 8, 5, 40
FEATURE_LOSSES = ["pkt", "sp", "vid", "crd", "srrl", "rkd"]
SMALL = {"crd": {"nce_k": 64, "feat_dim": 16}}  # CRD with a small bank: the test stays fast


class TinyNet(ZooModel):
    """Stem + 2 stages (conv-BN-ReLU each) on [3, 8, 8] inputs; ``strides`` set each stage's downsampling."""

    def __init__(self, widths: tuple[int, int, int], strides: tuple[int, int]) -> None:
        super().__init__()
        cins = (3, widths[0], widths[1])
        self.convs = nn.ModuleList(
            nn.Conv2d(cin, cout, 3, stride=s, padding=1, bias=False)
            for cin, cout, s in zip(cins, widths, (1, *strides))
        )
        self.bns = nn.ModuleList(nn.BatchNorm2d(c) for c in widths)
        self.classifier = nn.Linear(widths[2], CLASSES)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, Features]:
        feats = Features()
        for conv, bn in zip(self.convs, self.bns):
            pre = bn(conv(x))
            x = F.relu(pre)
            feats.preact.append(pre)
            feats.stages.append(x)
        feats.pooled = x.mean((2, 3))
        return self.classifier(feats.pooled), feats


@pytest.fixture(scope="module")
def setup() -> dict:
    torch.manual_seed(0)
    student = TinyNet((4, 6, 8), (1, 2))  # stages at 8x8, 8x8, 4x4
    teacher = TinyNet((6, 10, 12), (2, 1)).eval().requires_grad_(False)  # 8x8, 4x4, 4x4: VID pools student stage 1
    x = torch.randn(B, 3, 8, 8)
    return {"student": student, "teacher": teacher, "x": x, "target": torch.randint(0, CLASSES, (B,)),
            "index": torch.randperm(NUM_DATA)[:B], "context": LossContext(student, teacher, x[:2], NUM_DATA)}


def make(name: str, setup: dict, **params: object) -> nn.Module:
    torch.manual_seed(1)
    return build_loss(name, setup["context"], **{**SMALL.get(name, {}), **params})


def run(loss: nn.Module, setup: dict, temps: torch.Tensor, terms: bool = False) -> torch.Tensor | dict:
    zs, fs = setup["student"](setup["x"])
    with torch.no_grad():
        zt, ft = setup["teacher"](setup["x"])
    fn = loss.terms if terms else loss
    return fn(zs, zt, setup["target"], temps, student_feats=fs, teacher_feats=ft, index=setup["index"])


# ---------------------------------------------------------------- scalar references, written from the papers
def ref_pkt(fs: torch.Tensor, ft: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    def cond(f: torch.Tensor) -> torch.Tensor:
        f = f / (torch.sqrt((f**2).sum(1, keepdim=True)) + eps)
        sim = (f @ f.T + 1) / 2
        return sim / sim.sum(1, keepdim=True)

    q_s, q_t = cond(fs), cond(ft)
    return torch.mean(q_t * torch.log((q_t + eps) / (q_s + eps)))


def ref_sp(fs: torch.Tensor, ft: torch.Tensor) -> torch.Tensor:
    g_s, g_t = fs.view(B, -1) @ fs.view(B, -1).T, ft.view(B, -1) @ ft.view(B, -1).T
    g_s = g_s / g_s.norm(dim=1, keepdim=True)
    g_t = g_t / g_t.norm(dim=1, keepdim=True)
    return ((g_t - g_s) ** 2).sum() / (B * B)


def ref_rkd(fs: torch.Tensor, ft: torch.Tensor) -> torch.Tensor:
    def dist(f: torch.Tensor) -> torch.Tensor:
        d = torch.cdist(f.double(), f.double())
        return d / d[d > 0].mean()

    loss_d = F.smooth_l1_loss(dist(fs), dist(ft))
    loss_a = 0.0
    for i in range(B):  # angle at vertex i between j and k, one triple at a time
        for j in range(B):
            for k in range(B):
                cos = []
                for f in (fs.double(), ft.double()):
                    u, v = f[j] - f[i], f[k] - f[i]
                    cos.append(0.0 if j == i or k == i else torch.dot(u, v) / (u.norm() * v.norm()))
                loss_a += F.smooth_l1_loss(torch.as_tensor(cos[0]), torch.as_tensor(cos[1]))
    return 25 * loss_d + 50 * loss_a / B**3


def ref_vid(loss: nn.Module, s_maps: list, t_maps: list) -> torch.Tensor:
    total = 0.0
    for stage, s, t in zip(loss.stages, s_maps, t_maps):
        if s.shape[2] > t.shape[2]:
            s = F.adaptive_avg_pool2d(s, t.shape[2:])
        var = (torch.log(1 + torch.exp(stage.log_scale)) + 1e-5).view(1, -1, 1, 1)
        total = total + torch.mean(0.5 * ((stage.regressor(s) - t) ** 2 / var + torch.log(var)))
    return total


def ref_srrl(loss: nn.Module, teacher: TinyNet, fs: torch.Tensor, ft: torch.Tensor, zt: torch.Tensor) -> torch.Tensor:
    trans = loss.connector(fs)
    return F.mse_loss(trans, ft) + F.mse_loss(teacher.classifier(trans), zt)


def ref_crd(loss: nn.Module, fs: torch.Tensor, ft: torch.Tensor, idx: torch.Tensor, mem_s: torch.Tensor,
            mem_t: torch.Tensor) -> torch.Tensor:
    """RepDistiller's ContrastMemory + ContrastLoss (both sides), Z from this batch, positives in column 0."""
    v_s, v_t = F.normalize(loss.embed_s.linear(fs), dim=1), F.normalize(loss.embed_t.linear(ft), dim=1)
    out_s = torch.exp(torch.bmm(mem_t[idx.view(-1)].view(B, -1, v_s.shape[1]), v_s.view(B, -1, 1)) / 0.07).squeeze(2)
    out_t = torch.exp(torch.bmm(mem_s[idx.view(-1)].view(B, -1, v_t.shape[1]), v_t.view(B, -1, 1)) / 0.07).squeeze(2)
    out_s, out_t = out_s / (out_s.mean().item() * NUM_DATA), out_t / (out_t.mean().item() * NUM_DATA)

    def nce(x: torch.Tensor) -> torch.Tensor:
        m, pn = x.shape[1] - 1, 1 / NUM_DATA
        log_d1 = torch.log(x[:, 0] / (x[:, 0] + m * pn + 1e-7))
        log_d0 = torch.log(torch.full_like(x[:, 1:], m * pn) / (x[:, 1:] + m * pn + 1e-7))
        return -(log_d1.sum() + log_d0.sum()) / B

    return nce(out_s) + nce(out_t)


# --------------------------------------------------------------------------------------------------- tests
@pytest.mark.parametrize("name", FEATURE_LOSSES)
def test_mean_of_per_instance_term_equals_published_scalar_loss(name: str, setup: dict) -> None:
    loss = make(name, setup)
    temps = torch.full((B,), 4.0)
    mem = (loss.memory_s.clone(), loss.memory_t.clone()) if name == "crd" else None
    terms = run(loss, setup, temps, terms=True)
    assert set(terms) == {"kd", name} and all(v.shape == (B,) for v in terms.values())
    zs, fs = setup["student"](setup["x"])
    zt, ft = setup["teacher"](setup["x"])
    kd = F.kl_div(F.log_softmax(zs / 4, 1), F.softmax(zt / 4, 1), reduction="batchmean") * 16
    assert terms["kd"].mean().item() == pytest.approx(0.9 * kd.item(), rel=1e-5)
    if name == "pkt":
        expected = ref_pkt(fs.pooled, ft.pooled)
    elif name == "sp":
        expected = ref_sp(fs.stages[-1], ft.stages[-1])
    elif name == "rkd":
        expected = ref_rkd(fs.pooled, ft.pooled)
    elif name == "vid":
        expected = ref_vid(loss, fs.stages[1:], ft.stages[1:])
    elif name == "srrl":
        expected = ref_srrl(loss, setup["teacher"], fs.pooled, ft.pooled, zt)
    else:
        loss.draws = 0  # the same negatives as the loss drew
        expected = ref_crd(loss, fs.pooled, ft.pooled, loss.sample_contrast(setup["index"]), *mem)
    expected = float(torch.as_tensor(expected).detach())
    assert expected > 0 and terms[name].mean().item() / loss.beta == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize("name", FEATURE_LOSSES)
def test_perturbing_one_temperature_changes_only_its_loss(name: str, setup: dict) -> None:
    loss = make(name, setup)
    if name == "crd":
        loss.eval()  # no bank update between the calls; the negatives are re-drawn identically below
    temps = torch.linspace(1.0, 8.0, B)
    before = run(loss, setup, temps)
    for j in (0, B - 1):
        changed = temps.clone()
        changed[j] = 2.5 + j
        if name == "crd":
            loss.draws = 0
        diff = (run(loss, setup, changed) - before).abs()
        assert diff[j] > 1e-7 and torch.all(diff[torch.arange(B) != j] == 0), name


@pytest.mark.parametrize("name", ["vid", "crd", "srrl"])
def test_auxiliary_modules_get_gradients_and_train(name: str, setup: dict) -> None:
    loss = make(name, setup)
    params = dict(loss.named_parameters())
    assert params, name
    before = {k: p.detach().clone() for k, p in params.items()}
    run(loss, setup, torch.full((B,), 4.0)).mean().backward()
    for key, p in params.items():
        assert p.grad is not None and p.grad.abs().sum() > 0, f"{name}.{key} has no gradient"
    torch.optim.SGD(loss.parameters(), lr=0.1).step()
    for key, p in params.items():
        assert not torch.equal(p.detach(), before[key]), f"{name}.{key} did not change"
    assert all(p.grad is None for p in setup["teacher"].parameters())  # SRRL's teacher head is not trained


def test_probe_restores_modes_and_leaves_batchnorm_alone(setup: dict) -> None:
    student = setup["student"]
    student.train()
    stats = student.bns[0].running_mean.clone()
    make("vid", setup)
    assert student.training and not setup["teacher"].training
    assert torch.equal(student.bns[0].running_mean, stats)


def test_crd_memory_rows_of_the_batch_change_in_training_only(setup: dict) -> None:
    loss = make("crd", setup)
    batch = torch.zeros(NUM_DATA, dtype=torch.bool)
    batch[setup["index"]] = True
    for memory_name in ("memory_s", "memory_t"):
        loss.eval()
        old = getattr(loss, memory_name).clone()
        run(loss, setup, torch.full((B,), 4.0))
        assert torch.equal(getattr(loss, memory_name), old)  # eval: no update
        loss.train()
        run(loss, setup, torch.full((B,), 4.0))
        new = getattr(loss, memory_name)
        assert torch.all((new[batch] - old[batch]).abs().sum(1) > 0)
        assert torch.equal(new[~batch], old[~batch])
    _, fs = setup["student"](setup["x"])
    v_s = F.normalize(loss.embed_s.linear(fs.pooled), dim=1)
    old_rows = loss.memory_s[setup["index"]].clone()
    run(loss, setup, torch.full((B,), 4.0))  # M[y] ← normalise(0.5·M[y] + 0.5·v)
    expected = F.normalize(0.5 * old_rows + 0.5 * v_s.detach(), dim=1)
    assert torch.allclose(loss.memory_s[setup["index"]], expected, atol=1e-6)


def test_crd_negatives_are_seeded_and_resume_from_the_state_dict(setup: dict) -> None:
    a, b = make("crd", setup, seed=3), make("crd", setup, seed=3)
    index = setup["index"]
    first = a.sample_contrast(index)
    assert first.shape == (B, 65) and torch.equal(first[:, 0], index)  # the positive, then 64 negatives
    assert torch.equal(first, b.sample_contrast(index))  # same seed, same draw
    assert not torch.equal(a.sample_contrast(index)[:, 1:], first[:, 1:])  # the next draw differs
    c = make("crd", setup, seed=3)
    c.load_state_dict(a.state_dict())  # the draw count travels with the checkpoint
    assert torch.equal(c.sample_contrast(index), a.sample_contrast(index))
    other_seed = make("crd", setup, seed=4).sample_contrast(index)
    assert not torch.equal(other_seed, make("crd", setup, seed=3).sample_contrast(index))


def test_crd_score_paths_agree() -> None:
    g = torch.Generator().manual_seed(0)
    anchor, idx = torch.randn(4, 8, generator=g), torch.randint(0, 30, (4, 6), generator=g)
    small, large = torch.randn(20, 8, generator=g), torch.randn(30, 8, generator=g)  # 20 ≤ 24 entries: matmul path
    for memory in (small, large):
        idx_m = idx % memory.shape[0]
        expected = torch.stack([memory[idx_m[i]] @ anchor[i] for i in range(4)])
        assert torch.allclose(contrast_scores(anchor, memory, idx_m), expected, atol=1e-5)


@pytest.mark.parametrize("name", FEATURE_LOSSES)
def test_missing_features_fail_with_one_line(name: str, setup: dict) -> None:
    loss = make(name, setup)
    zs, zt = torch.randn(B, CLASSES), torch.randn(B, CLASSES)
    with pytest.raises(RLKDError, match=f"loss '{name}' needs model features: use a zoo model from rlkd.models"):
        loss.terms(zs, zt, setup["target"], torch.full((B,), 4.0), index=setup["index"])
    with pytest.raises(RLKDError, match="Features.pooled|Features.stages"):
        loss.terms(zs, zt, setup["target"], torch.full((B,), 4.0), student_feats=Features(), teacher_feats=Features(),
                   index=setup["index"])


@pytest.mark.parametrize("name", ["vid", "crd", "srrl"])
def test_missing_context_or_model_features_fail(name: str, setup: dict) -> None:
    with pytest.raises(RLKDError, match=f"loss '{name}' needs a LossContext"):
        build_loss(name)
    plain = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, CLASSES))
    context = LossContext(plain, setup["teacher"], setup["x"][:2], NUM_DATA)
    with pytest.raises(RLKDError, match="needs model features .*use a zoo model from rlkd.models"):
        build_loss(name, context)


def test_crd_needs_the_dataset_index(setup: dict) -> None:
    loss = make("crd", setup)
    zs, fs = setup["student"](setup["x"])
    zt, ft = setup["teacher"](setup["x"])
    with pytest.raises(RLKDError, match="needs the dataset index"):
        loss.terms(zs, zt, setup["target"], torch.full((B,), 4.0), student_feats=fs, teacher_feats=ft)
    with pytest.raises(RLKDError, match="out of range"):
        loss.terms(zs, zt, setup["target"], torch.full((B,), 4.0), student_feats=fs, teacher_feats=ft,
                   index=setup["index"] + NUM_DATA)


def test_vid_initial_variance_and_pairing(setup: dict) -> None:
    loss = make("vid", setup)
    assert len(loss.stages) == 2  # the two stages after the stem
    assert torch.allclose(loss.stages[0].variance(), torch.full((10,), 5.0))
    assert math.isclose(loss.beta, 1.0) and build_loss("rkd").distance_weight == 25.0
