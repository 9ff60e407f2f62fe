import numpy as np
import pytest
from helpers_exact import random_rbm

from rbmlib import RBM, TrainConfig, TrainingDiverged, fit, log_likelihood, log_partition, recipe
from rbmlib.evaluate import log_likelihood_gradient
from rbmlib.train import Recipe


def _binary_data(n=2000, nv=16, seed=0):
    """Two noisy prototype patterns: easy to learn, exact likelihood available."""
    rng = np.random.default_rng(seed)
    protos = np.array([[1] * (nv // 2) + [0] * (nv // 2), [0] * (nv // 2) + [1] * (nv // 2)], float)
    x = protos[rng.integers(0, 2, n)]
    flip = rng.random(x.shape) < 0.05
    return np.where(flip, 1 - x, x).astype(np.float32)


def _params(rbm):
    return [rbm.W.copy(), rbm.a.copy(), rbm.b.copy()]


@pytest.mark.parametrize("method, n_chains", [("cd", None), ("pcd", None), ("pcd", 10000)])
def test_expected_update_is_the_exact_gradient(method, n_chains):
    """One full-batch step of CD-k/PCD-k with large k moves W, a, b along the exact gradient."""
    rbm = random_rbm(6, 4, scale=0.5, seed=1)
    rbm = rbm.astype(np.float32)
    rng = np.random.default_rng(2)
    v = (rng.random((40000, 6)) < np.linspace(0.2, 0.8, 6)).astype(np.float32)
    grad = log_likelihood_gradient(rbm, v)
    before = _params(rbm)
    lr = 1e-3
    fit(
        rbm,
        v,
        epochs=1,
        lr=lr,
        batch_size=len(v),
        method=method,
        k=30,
        n_chains=n_chains,
        rng=3,
        progress=False,
        monitor_size=10,
    )
    for name, old in zip("Wab", before, strict=True):
        step = (getattr(rbm, name) - old) / lr
        np.testing.assert_allclose(step, grad[name], atol=0.02, err_msg=name)


def test_centered_update_is_the_reparametrised_gradient():
    rbm = random_rbm(6, 4, scale=0.5, seed=1).astype(np.float32)
    rng = np.random.default_rng(2)
    v = (rng.random((40000, 6)) < np.linspace(0.2, 0.8, 6)).astype(np.float32)
    g = log_likelihood_gradient(rbm, v)
    mu, lam = v.mean(axis=0), np.full(4, 0.5)
    dW = g["W"] - np.outer(mu, g["b"]) - np.outer(g["a"], lam)
    expect = {"W": dW, "a": g["a"] - dW @ lam, "b": g["b"] - mu @ dW}
    before = _params(rbm)
    fit(rbm, v, epochs=1, lr=1e-3, batch_size=len(v), k=30, rng=3, centering=True, progress=False, monitor_size=10)
    for name, old in zip("Wab", before, strict=True):
        np.testing.assert_allclose((getattr(rbm, name) - old) / 1e-3, expect[name], atol=0.02, err_msg=name)


@pytest.fixture(scope="module")
def teacher_data():
    """3000 exact samples of a random 12x3 teacher RBM, and the teacher's log-likelihood on them."""
    from rbmlib.evaluate import exact_log_probs

    teacher = random_rbm(12, 3, scale=1.0, seed=5)
    states, log_p = exact_log_probs(teacher)
    rng = np.random.default_rng(0)
    data = states[rng.choice(len(states), size=3000, p=np.exp(log_p))].astype(np.float32)
    return data, log_likelihood(teacher, data, log_partition(teacher))


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(method="cd", lr=0.1),
        dict(method="pcd", k=2, lr=0.05),
        dict(
            method="pcd",
            centering=True,
            momentum=0.5,
            weight_decay=1e-4,
            lr_schedule="linear",
            init_visible_bias=True,
            lr=0.05,
        ),
    ],
)
@pytest.mark.parametrize("seed", [0, 1])
def test_training_approaches_the_teacher_likelihood(teacher_data, kwargs, seed):
    data, teacher_ll = teacher_data
    rbm = RBM(12, 3, rng=0)
    before = log_likelihood(rbm, data, log_partition(rbm))
    fit(rbm, data, epochs=20, batch_size=20, rng=seed, progress=False, **kwargs)
    after = log_likelihood(rbm, data, log_partition(rbm))
    # uniform: 12 log(1/2) = -8.32; teacher: about -6.37
    assert before < teacher_ll - 1.5 and after > teacher_ll - 0.1, (before, after, teacher_ll)


@pytest.mark.parametrize("kwargs", [dict(method="cd", k=2), dict(method="pcd", centering=True, momentum=0.9)])
def test_same_seed_bit_identical(kwargs):
    data = _binary_data(300)
    runs = []
    for _ in range(2):
        rbm = RBM(16, 5, rng=7)
        fit(rbm, data, epochs=3, batch_size=16, rng=11, progress=False, **kwargs)
        runs.append(_params(rbm))
    for x, y in zip(*runs, strict=True):
        assert np.array_equal(x, y)
    other = RBM(16, 5, rng=7)
    fit(other, data, epochs=3, batch_size=16, rng=12, progress=False, **kwargs)
    assert not np.array_equal(other.W, runs[0][0])


def test_history_rows():
    data = _binary_data(500)
    hist = fit(
        RBM(16, 3, rng=0),
        data,
        epochs=2,
        batch_size=10,
        rng=0,
        progress=False,
        held_out=_binary_data(200, seed=9),
        callback=lambda rbm, row: {"extra": row["epoch"] * 2},
    )
    assert [r["epoch"] for r in hist] == [1, 2]
    for r in hist:
        assert r["seconds"] > 0 and r["recon_error"] >= 0 and r["extra"] == 2 * r["epoch"]
        assert r["fe_gap"] == pytest.approx(r["fe_held_out"] - r["fe_train"])


def test_uint8_images_are_binarised_with_their_intensity():
    """A constant grey image of intensity 51 (p = 0.2) trains the visible biases towards logit(0.2)."""
    images = np.full((4000, 9), 51, np.uint8)
    rbm = RBM(9, 1, rng=0)
    fit(rbm, images, epochs=10, lr=0.05, batch_size=50, rng=0, progress=False)
    p = 1 / (1 + np.exp(-rbm.a))
    assert np.all(np.abs(p - 0.2) < 0.05), p


def test_init_visible_bias_uses_marginals():
    data = _binary_data(1000)
    rbm = RBM(16, 2, rng=0)
    fit(rbm, data, epochs=1, lr=1e-6, batch_size=10, init_visible_bias=True, rng=0, progress=False)
    p = data.mean(axis=0)
    np.testing.assert_allclose(rbm.a, np.log(p / (1 - p)), atol=1e-3)


def test_resume_matches_an_uninterrupted_run(tmp_path):
    data = _binary_data(400)
    kw = dict(batch_size=16, rng=5, progress=False, method="pcd", centering=True, momentum=0.5)
    straight = RBM(16, 4, rng=1)
    fit(straight, data, epochs=4, **kw)
    ck = tmp_path / "ck.npz"
    part = RBM(16, 4, rng=1)
    fit(part, data, epochs=2, checkpoint=ck, **kw)
    resumed = RBM(16, 4, rng=1)
    hist = fit(resumed, data, epochs=4, checkpoint=ck, resume=True, **kw)
    assert [r["epoch"] for r in hist] == [1, 2, 3, 4]
    for x, y in zip(_params(straight), _params(resumed), strict=True):
        assert np.array_equal(x, y)
    assert RBM.load(ck).metadata["history"][-1]["epoch"] == 4


def test_resume_refuses_a_different_configuration(tmp_path):
    data = _binary_data(200)
    ck = tmp_path / "ck.npz"
    fit(RBM(16, 4, rng=1), data, epochs=1, batch_size=16, checkpoint=ck, progress=False)
    with pytest.raises(ValueError, match="different configuration.*batch_size"):
        fit(RBM(16, 4, rng=1), data, epochs=2, batch_size=8, checkpoint=ck, resume=True, progress=False)
    with pytest.raises(ValueError, match="resume=True needs a checkpoint"):
        fit(RBM(16, 4), data, epochs=1, resume=True, progress=False)


def test_ctrl_c_keeps_the_last_completed_epoch(tmp_path):
    data = _binary_data(400)
    one = RBM(16, 4, rng=1)
    fit(one, data, epochs=1, batch_size=16, rng=5, progress=False)
    ck = tmp_path / "ck.npz"

    def interrupt(rbm, row):
        if row["epoch"] == 2:
            raise KeyboardInterrupt

    rbm = RBM(16, 4, rng=1)
    with pytest.raises(KeyboardInterrupt):
        fit(rbm, data, epochs=3, batch_size=16, rng=5, progress=False, checkpoint=ck, callback=interrupt)
    for x, y in zip(_params(one), _params(rbm), strict=True):
        assert np.array_equal(x, y)
    assert len(rbm.metadata["history"]) == 1 and rbm.metadata["interrupted"]
    saved = RBM.load(ck)
    assert np.array_equal(saved.W, one.W) and len(saved.metadata["history"]) == 1


def test_divergence_is_a_clear_error():
    data = _binary_data(200)
    rbm = RBM(16, 4, rng=0)
    with pytest.raises(TrainingDiverged, match="NaN or infinite"):
        fit(rbm, data, epochs=2, lr=1e38, batch_size=10, rng=0, progress=False)
    assert np.all(np.isfinite(rbm.W))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(method="sgd"), "method must be one of 'cd', 'pcd'"),
        (dict(epochs=0), "epochs must be a positive integer"),
        (dict(k=0), "k must be a positive integer"),
        (dict(lr=-1.0), "lr must be a finite number"),
        (dict(lr=float("nan")), "lr must be a finite number"),
        (dict(momentum=1.0), "momentum must be < 1"),
        (dict(batch_size=10**6), "batch_size .* is larger than"),
        (dict(lr_schedule="weekly"), "lr_schedule"),
        (dict(n_chains=100), "n_chains is for method='pcd'"),
        (dict(method="pcd", n_chains=0), "n_chains must be a positive integer"),
    ],
)
def test_bad_arguments(kwargs, message):
    args = dict(epochs=1, progress=False)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        fit(RBM(16, 2), _binary_data(100), **args)


@pytest.mark.parametrize(
    "images, message",
    [
        (np.zeros((10, 15), np.float32), r"shape \(N, 16\)"),
        (np.full((10, 16), np.nan), "NaN"),
        (np.full((10, 16), 2.0), r"\[0, 1\]"),
        (np.zeros((10, 15), np.uint8), r"shape \(N, 16\)"),
    ],
)
def test_bad_images(images, message):
    with pytest.raises(ValueError, match=message):
        fit(RBM(16, 2), images, epochs=1, progress=False, batch_size=2)


def test_recipes():
    r = recipe("assignment")
    assert r.n_hidden == 10 and r.config == TrainConfig(epochs=10, lr=0.1, batch_size=64, method="cd", k=1)
    assert r.config == TrainConfig(epochs=10)  # the defaults are the assignment's
    best = recipe("best").config
    assert (best.method, best.n_chains, best.centering, best.lr) == ("pcd", 256, True, 0.02)
    with pytest.raises(ValueError, match="unknown recipe"):
        recipe("nope")


def test_fit_takes_a_recipe_or_a_config_and_settings():
    """fit(rbm, x, recipe) trains with the recipe's settings; keyword settings replace a config's fields."""
    data = _binary_data(200)
    small = Recipe(3, TrainConfig(epochs=2, batch_size=10, method="pcd", n_chains=20))
    a = small.model(16, rng=1)
    hist = fit(a, data, small, rng=2, progress=False)
    b = RBM(16, 3, rng=1)
    fit(b, data, epochs=2, batch_size=10, method="pcd", n_chains=20, rng=2, progress=False)
    assert len(hist) == 2 and np.array_equal(a.W, b.W)
    assert a.metadata["history"] is hist and a.metadata["config"]["n_chains"] == 20
    c = RBM(16, 3, rng=1)
    fit(c, data, small.config, epochs=1, rng=2, progress=False)
    assert len(c.metadata["history"]) == 1
    with pytest.raises(ValueError, match="recipe is for 3 hidden units"):
        fit(RBM(16, 4), data, small, progress=False)
    with pytest.raises(TypeError, match="unknown settings n_hidden"):
        fit(RBM(16, 3), data, n_hidden=3, progress=False)


def test_train_config_validates_once_and_names_its_resume_fields():
    assert TrainConfig.resume_fields() == ("batch_size", "method", "k", "n_chains", "momentum", "centering")
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        TrainConfig(batch_size=0)
    with pytest.raises(ValueError, match="lr_schedule"):
        TrainConfig().replace(lr_schedule="weekly")
    assert TrainConfig(method="pcd").to_dict()["n_chains"] == 64  # PCD's default: one chain per batch row
