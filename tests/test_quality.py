"""Tests for rbmlib.metrics.quality on synthetic cases with known answers."""

import numpy as np
import pytest

from rbmlib.metrics.quality import (
    adversarial_accuracy,
    class_histogram,
    mnist_class_frequencies,
    nearest_distances,
    sample_report,
    tv_distance,
)


# ----------------------------------------------------------------------------- histograms / TV
def test_class_histogram_labels_and_probs():
    h = class_histogram(np.array([0, 1, 1, 3]), n_classes=4)
    np.testing.assert_allclose(h, [0.25, 0.5, 0.0, 0.25])
    probs = np.array([[0.7, 0.3], [0.4, 0.6], [0.9, 0.1]])
    np.testing.assert_allclose(class_histogram(probs, n_classes=2), [2 / 3, 1 / 3])
    np.testing.assert_allclose(class_histogram(probs, n_classes=2, soft=True), [2 / 3, 1 / 3])
    np.testing.assert_allclose(class_histogram(np.array([[0.6, 0.4]] * 2), 2, soft=True), [0.6, 0.4])


@pytest.mark.parametrize(
    "bad, exc",
    [
        (np.array([0, 10]), ValueError),
        (np.array([-1, 2]), ValueError),
        (np.array([0.5, 1.0]), TypeError),
        (np.zeros((3, 9)), ValueError),
        (np.full((2, 10), 0.5), ValueError),
        (np.array([]), ValueError),
    ],
)
def test_class_histogram_rejects(bad, exc):
    with pytest.raises(exc):
        class_histogram(bad)


def test_tv_basic_properties():
    p = np.array([0.2, 0.3, 0.5])
    assert tv_distance(p, p) == 0
    assert tv_distance([1, 0, 0], [0, 0.5, 0.5]) == pytest.approx(1.0)
    q = np.array([0.5, 0.3, 0.2])
    assert tv_distance(p, q) == pytest.approx(0.3)
    assert tv_distance(p, q) == tv_distance(q, p)


def test_tv_of_a_true_sample_is_sampling_noise(rng):
    q = np.array([0.1, 0.12, 0.09, 0.11, 0.08, 0.1, 0.1, 0.1, 0.1, 0.1])
    n = 1000
    expected = np.sum(np.sqrt(q * (1 - q) / (2 * np.pi * n)))  # E|p_hat - q| summed, / 2
    tvs = [tv_distance(class_histogram(rng.choice(10, size=n, p=q)), q) for _ in range(200)]
    assert np.mean(tvs) == pytest.approx(expected, rel=0.15)
    assert max(tvs) < 3 * expected


@pytest.mark.parametrize(
    "p, q, match",
    [
        ([0.5, 0.6], [0.5, 0.5], "sum to 1"),
        ([1.5, -0.5], [0.5, 0.5], "non-negative"),
        ([0.5, 0.5], [1.0, 0.0, 0.0], "same length"),
        ([[0.5, 0.5]], [0.5, 0.5], "1-D"),
        ([np.nan, 1.0], [0.5, 0.5], "finite"),
    ],
)
def test_tv_validates(p, q, match):
    with pytest.raises(ValueError, match=match):
        tv_distance(p, q)


def test_mnist_class_frequencies():
    f = mnist_class_frequencies(np.array([0, 0, 9, 5], dtype=np.uint8))
    assert f.shape == (10,) and f.sum() == pytest.approx(1.0)
    assert f[0] == 0.5 and f[9] == 0.25 and f[5] == 0.25
    with pytest.raises(ValueError):
        mnist_class_frequencies(np.array([[1, 2]]))


# ----------------------------------------------------------------------------- nearest neighbours
def _brute(a, b, exclude_self=False, sq=False):
    d = ((a[:, None, :].astype(np.float64) - b[None, :, :]) ** 2).sum(-1)
    if exclude_self:
        np.fill_diagonal(d, np.inf)
    return d if sq else np.sqrt(d)


@pytest.mark.parametrize("batch", [1, 3, 1024])
def test_nearest_distances_euclidean_vs_brute_force(rng, batch):
    a = rng.random((37, 20)).astype(np.float32)
    b = rng.random((61, 20)).astype(np.float32)
    d, idx = nearest_distances(a, b, batch=batch, return_index=True)
    full = _brute(a, b)
    np.testing.assert_allclose(d, full.min(1), rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(idx, full.argmin(1))
    d3, i3 = nearest_distances(a, b, k=3, batch=batch, return_index=True)
    np.testing.assert_allclose(d3, np.sort(full, axis=1)[:, :3], rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(i3, np.argsort(full, axis=1)[:, :3])


@pytest.mark.parametrize("batch", [2, 1024])
def test_nearest_distances_exclude_self_and_hamming(rng, batch):
    a = (rng.random((50, 64)) < 0.3).astype(np.float32)
    d = nearest_distances(a, a, exclude_self=True, batch=batch)  # binary: Hamming by default
    np.testing.assert_array_equal(d, _brute(a, a, exclude_self=True, sq=True).min(1))
    assert np.all(nearest_distances(a, a, batch=batch) == 0)
    de = nearest_distances(a, a, exclude_self=True, metric="euclidean", batch=batch)
    np.testing.assert_allclose(de, np.sqrt(d), rtol=1e-6)
    d2 = nearest_distances(a, a, k=2, exclude_self=True, batch=batch)
    np.testing.assert_array_equal(d2, np.sort(_brute(a, a, True, sq=True), axis=1)[:, :2])


def test_nearest_distances_uint8_is_scaled(rng):
    a = rng.integers(0, 256, size=(10, 30), dtype=np.uint8)
    b = rng.integers(0, 256, size=(12, 30), dtype=np.uint8)
    np.testing.assert_allclose(nearest_distances(a, b), _brute(a / 255.0, b / 255.0).min(1), rtol=1e-4, atol=1e-4)


def test_nearest_distances_validates(rng):
    a = rng.random((5, 4))
    with pytest.raises(ValueError, match="columns"):
        nearest_distances(a, rng.random((5, 3)))
    with pytest.raises(ValueError, match="same set"):
        nearest_distances(a, rng.random((6, 4)), exclude_self=True)
    with pytest.raises(ValueError, match="binary"):
        nearest_distances(a, a, metric="hamming")
    with pytest.raises(ValueError, match="metric"):
        nearest_distances(a, a, metric="cosine")
    with pytest.raises(ValueError, match="k must"):
        nearest_distances(a, a, k=6)
    with pytest.raises(ValueError, match="NaN"):
        nearest_distances(np.full((2, 4), np.nan), a)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        nearest_distances(a + 1, a)


# ----------------------------------------------------------------------------- AA_TS
def test_adversarial_accuracy_same_distribution_is_one_half(rng):
    real = rng.random((500, 8))
    fake = rng.random((500, 8))
    aa, aa_real, aa_fake = adversarial_accuracy(fake, real, return_parts=True)
    assert aa == pytest.approx(0.5, abs=0.05)
    assert aa_real == pytest.approx(0.5, abs=0.08) and aa_fake == pytest.approx(0.5, abs=0.08)


def test_adversarial_accuracy_copies_and_far_samples(rng):
    real = 0.5 * rng.random((300, 8))
    assert adversarial_accuracy(real.copy(), real) == 0.0
    assert adversarial_accuracy(real + 1e-4 * rng.random(real.shape), real) < 0.02
    assert adversarial_accuracy(0.9 + 0.1 * rng.random((300, 8)), real) == 1.0
    binary = (rng.random((200, 50)) < 0.5).astype(np.float32)
    assert adversarial_accuracy(binary, binary) == 0.0  # Hamming path


def test_adversarial_accuracy_validates(rng):
    with pytest.raises(ValueError, match="same number of rows"):
        adversarial_accuracy(rng.random((10, 3)), rng.random((11, 3)))
    with pytest.raises(ValueError, match="at least 2"):
        adversarial_accuracy(rng.random((1, 3)), rng.random((1, 3)))


# ----------------------------------------------------------------------------- sample_report
REPORT_KEYS = {
    "histogram",
    "target_frequencies",
    "tv_distance",
    "reference_tv_distance",
    "mean_confidence",
    "reference_confidence",
    "confidence_gap",
    "nn_distance_median",
    "reference_nn_distance_median",
    "nn_distance_ratio",
    "copy_threshold",
    "copy_fraction",
    "copy_expected",
    "aats",
    "aats_real",
    "aats_samples",
    "aats_test",
    "aats_reference",
    "privacy_loss",
    "n_aats",
    "n_samples",
    "space",
    "aats_metric",
    "reference_accuracy",
}


class _FakeClassifier:
    """Labels an image by which of 10 prototype images it is closest to (confidence from distance)."""

    def __init__(self, protos):
        self.protos = protos.astype(np.float32)

    def predict_proba(self, images):
        x = np.asarray(images, dtype=np.float32)
        if x.max() > 1:
            x = x / 255.0
        d = ((x[:, None, :] - self.protos[None]) ** 2).sum(-1)
        logits = -d / 20.0
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def toy_digits():
    """Ten blurry prototypes on 784 pixels; 'digits' are prototypes with random local deformation."""
    rng = np.random.default_rng(7)
    protos = np.clip(rng.random((10, 784)) * 1.4 - 0.7, 0, 1)

    def draw(n, rng):
        y = rng.integers(0, 10, size=n)
        x = np.clip(protos[y] + 0.25 * rng.standard_normal((n, 784)), 0, 1)
        return np.rint(x * 255).astype(np.uint8), y

    train, y_train = draw(3000, rng)
    test, y_test = draw(1500, rng)
    return _FakeClassifier(protos), train, y_train, test, y_test, draw


def test_sample_report_new_samples_copies_and_noise(toy_digits):
    clf, train, y_train, test, y_test, draw = toy_digits
    rng = np.random.default_rng(3)
    kw = dict(
        classifier=clf, train_images=train, test_images=test, train_labels=y_train, test_labels=y_test, n_aats=300
    )
    fresh = (rng.random((400, 784)) < draw(400, rng)[0] / 255.0).astype(np.float32)
    r = sample_report(fresh, rng=0, **kw)
    for key in (
        "tv_distance",
        "reference_tv_distance",
        "mean_confidence",
        "reference_confidence",
        "confidence_gap",
        "nn_distance_median",
        "reference_nn_distance_median",
        "copy_fraction",
        "copy_expected",
        "aats",
        "aats_test",
        "aats_reference",
        "privacy_loss",
        "reference_accuracy",
        "aats_real",
        "aats_samples",
    ):
        assert isinstance(r[key], float), key
    assert set(r) == REPORT_KEYS  # what the book's notebooks and the benchmarks read
    assert r["space"] == "binary" and r["aats_metric"] == "hamming"
    assert r["histogram"].shape == (10,) and r["n_samples"] == 400
    assert r["tv_distance"] < 0.15
    assert abs(r["confidence_gap"]) < 0.05
    assert r["copy_fraction"] < 0.05
    assert r["aats"] == pytest.approx(0.5, abs=0.1)
    assert r["nn_distance_ratio"] == pytest.approx(1.0, abs=0.1)

    # binarized copies of training digits are flagged
    copies = (rng.random((400, 784)) < train[:400] / 255.0).astype(np.float32)
    rc = sample_report(copies, rng=0, **kw)
    assert rc["copy_fraction"] > 0.5
    assert rc["nn_distance_median"] < r["nn_distance_median"]

    # gray exact copies: distance 0, every sample a copy
    rg = sample_report(train[:400], rng=0, **kw)
    assert rg["space"] == "gray" and rg["copy_fraction"] == 1.0
    assert rg["nn_distance_median"] < 0.1

    # mode collapse: one class only -> TV = 1 - q_0 ~ 0.9
    one_class = fresh[clf.predict_proba(fresh).argmax(axis=1) == 0]
    r1 = sample_report(one_class, rng=0, **kw)
    assert r1["tv_distance"] == pytest.approx(1 - r1["target_frequencies"][0])

    # noise is far from every training digit
    noise = (rng.random((400, 784)) < 0.5).astype(np.float32)
    rn = sample_report(noise, rng=0, **kw)
    assert rn["nn_distance_ratio"] > 1.2 and rn["copy_fraction"] == 0


def test_sample_report_is_reproducible_and_validates(toy_digits):
    clf, train, y_train, test, y_test, draw = toy_digits
    x = draw(50, np.random.default_rng(0))[0]
    kw = dict(classifier=clf, train_images=train, test_images=test)
    a = sample_report(x, rng=5, **kw)
    b = sample_report(x, rng=np.random.default_rng(5), **kw)
    assert a["aats"] == b["aats"] and a["copy_fraction"] == b["copy_fraction"]
    np.testing.assert_array_equal(a["target_frequencies"], b["target_frequencies"])
    with pytest.raises(TypeError, match="rng"):
        sample_report(x, rng=0.5, **kw)
    with pytest.raises(TypeError, match="classifier"):
        sample_report(x, classifier=None, train_images=train, test_images=test)
    with pytest.raises(ValueError, match="784"):
        sample_report(x[:, :100], **kw)
    with pytest.raises(ValueError, match="copy_quantile"):
        sample_report(x, copy_quantile=0.9, **kw)
    with pytest.raises(ValueError, match="at least 2"):
        sample_report(x[:1], **kw)


def test_tv_noise_floor_matches_the_multinomial_expectation():
    from rbmlib.metrics.quality import tv_noise_floor

    q = np.full(10, 0.1)
    floor = tv_noise_floor(q, 1000, rng=0)
    # E|p_hat - q| per class ~ sqrt(2 q (1-q) / (pi n)); TV = half the sum over 10 classes
    assert floor.mean() == pytest.approx(0.5 * 10 * np.sqrt(2 * 0.09 / (np.pi * 1000)), rel=0.05)
    assert tv_noise_floor(q, 100, rng=0).mean() > 2.5 * floor.mean()
    with pytest.raises(ValueError, match="n must be"):
        tv_noise_floor(q, 0)


def test_within_class_spread_tells_prototypes_from_varied_samples():
    from rbmlib.metrics.quality import within_class_spread

    rng = np.random.default_rng(3)
    protos = (rng.random((3, 64)) < 0.3).astype(np.float32)
    labels = np.repeat(np.arange(3), 100)
    varied = np.where(rng.random((300, 64)) < 0.15, 1 - protos[labels], protos[labels])  # 15 % of pixels flipped
    copies = np.where(rng.random((300, 64)) < 0.01, 1 - protos[labels], protos[labels])  # near-copies of 3 images
    real = np.where(rng.random((300, 64)) < 0.15, 1 - protos[labels], protos[labels])
    like = within_class_spread(varied, labels, real, labels, n_classes=3, rng=0)
    same = within_class_spread(copies, labels, real, labels, n_classes=3, rng=0)
    assert [r["class"] for r in like] == [0, 1, 2] and all(r["n"] == 100 for r in like)
    assert all(0.8 < r["ratio"] < 1.25 for r in like) and all(r["ratio"] < 0.5 for r in same)
