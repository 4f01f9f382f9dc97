"""Keras Tuner's pre-made applications (tunewise.applications): each builds a real Keras
model of the expected shape, registers Keras Tuner's hyperparameters (names, values,
defaults), checks its arguments, and runs inside a tunewise search."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import tunewise as kt
from tunewise.applications import (
    HyperEfficientNet,
    HyperImageAugment,
    HyperResNet,
    HyperXception,
    augment,
)
from tunewise.space import hyperparameter_to_config
from tunewise.trial import TrialState


def space_of(hp):
    """{name: (class name, config without name/conditions)} of a container's space."""
    out = {}
    for definition in hp.space:
        config = hyperparameter_to_config(definition)
        body = {k: v for k, v in config["config"].items() if k not in ("name", "conditions")}
        out[config["config"]["name"]] = (config["class_name"], body)
    return out


def pinned(**values):
    hp = kt.HyperParameters()
    for name, value in values.items():
        hp.values[name] = value
    return hp


# ---------------------------------------------------------------------------------- ResNet
@pytest.mark.parametrize("version", ["v1", "v2", "next"])
def test_resnet_builds_a_compiled_classifier_of_each_version(version):
    hp = pinned(version=version)
    model = HyperResNet(input_shape=(32, 32, 3), classes=3).build(hp)
    assert model.name == "ResNet" and model.output_shape == (None, 3)
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)
    assert model.loss == "categorical_crossentropy"
    out = model.predict(np.ones((2, 32, 32, 3), "float32"), verbose=0)
    assert out.shape == (2, 3) and np.allclose(out.sum(axis=1), 1.0, atol=1e-5)
    # ResNet-50 depth by default: 3 + 4 + 6 + 3 blocks in the four stacks
    blocks = {layer.name.split("_")[0] + "_" + layer.name.split("_")[1]
              for layer in model.layers if "_block" in layer.name}
    assert len(blocks) == 16
    if version == "next":  # ResNeXt: 32-group 3x3 convolutions
        assert model.get_layer("conv2_block1_2_conv").groups == 32
    if version == "v2":  # pre-activation: the stem has no batch norm, the top has one
        names = {layer.name for layer in model.layers}
        assert "conv1_bn" not in names and "post_bn" in names


def test_resnet_registers_keras_tuners_hyperparameters():
    hp = kt.HyperParameters()
    HyperResNet(input_shape=(32, 32, 3), classes=3).build(hp)
    choice = "Choice"
    assert space_of(hp) == {
        "version": (choice, {"values": ["v1", "v2", "next"], "ordered": False, "default": "v2"}),
        "conv3_depth": (choice, {"values": [4, 8], "ordered": True, "default": 4}),
        "conv4_depth": (choice, {"values": [6, 23, 36], "ordered": True, "default": 6}),
        "pooling": (choice, {"values": ["avg", "max"], "ordered": False, "default": "avg"}),
        "optimizer": (choice, {"values": ["adam", "rmsprop", "sgd"], "ordered": False,
                               "default": "adam"}),
        "learning_rate": (choice, {"values": [0.1, 0.01, 0.001], "ordered": True,
                                   "default": 0.01}),
    }
    assert hp.values == {"version": "v2", "conv3_depth": 4, "conv4_depth": 6,
                         "pooling": "avg", "optimizer": "adam", "learning_rate": 0.01}


def test_resnet_without_top_ends_at_pooled_features_uncompiled():
    inputs = keras.Input(shape=(32, 32, 3))
    hp = pinned(version="v1", pooling="max", conv3_depth=8)
    model = HyperResNet(input_tensor=inputs, include_top=False).build(hp)
    assert model.inputs == [inputs]
    assert model.output_shape == (None, 2048)  # 4 x 512 bottleneck filters
    assert model.layers[-1].name == "max_pool"
    assert getattr(model, "optimizer", None) is None  # not compiled
    assert "optimizer" not in hp.values and "learning_rate" not in hp.values
    conv3_blocks = {layer.name.split("_")[1] for layer in model.layers
                    if layer.name.startswith("conv3_block")}
    assert len(conv3_blocks) == 8  # conv3_depth=8


# -------------------------------------------------------------------------------- Xception
def test_xception_defaults_and_space():
    hp = kt.HyperParameters()
    model = HyperXception(input_shape=(32, 32, 3), classes=4).build(hp)
    assert model.name == "Xception" and model.output_shape == (None, 4)
    assert hp.values == {
        "activation": "relu", "conv2d_num_filters": 64, "kernel_size": 3,
        "initial_strides": 2, "sep_num_filters": 256, "num_residual_blocks": 4,
        "pooling": "avg", "num_dense_layers": 1, "dropout_rate": 0.5,
        "dense_use_bn": True, "learning_rate": 1e-3,
    }
    space = space_of(hp)
    assert space["sep_num_filters"] == ("Int", {"min_value": 128, "max_value": 768,
                                                "step": 128, "sampling": "linear",
                                                "default": 256})
    assert space["num_residual_blocks"][1]["min_value"] == 2
    assert space["num_residual_blocks"][1]["max_value"] == 8
    assert space["dropout_rate"] == ("Float", {"min_value": 0.0, "max_value": 0.6, "step": 0.1,
                                               "sampling": "linear", "default": 0.5})
    assert space["pooling"][1]["values"] == ["avg", "flatten", "max"]
    assert space["learning_rate"][1]["values"] == [1e-3, 1e-4, 1e-5]
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3)


def test_xception_selu_flatten_trains_one_batch():
    hp = pinned(activation="selu", pooling="flatten", sep_num_filters=128,
                num_residual_blocks=2, num_dense_layers=2, conv2d_num_filters=32)
    model = HyperXception(input_shape=(16, 16, 3), classes=2).build(hp)
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers)
    assert any(isinstance(layer, keras.layers.Flatten) for layer in model.layers)
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert [d.units for d in dense] == [2, 2, 2]  # two hidden layers of `classes` units
    assert model.output_shape == (None, 2)
    loss = model.train_on_batch(np.ones((2, 16, 16, 3)), np.eye(2))
    assert np.isfinite(np.asarray(loss, dtype=float)).all()


def test_untunable_hypermodel_keeps_its_hyperparameters_out_of_the_space():
    hp = kt.HyperParameters()
    hp.Choice("pooling", ["max", "avg"])  # the caller tunes this one beforehand
    with pytest.warns(UserWarning, match="'pooling' keeps the first definition"):
        model = HyperXception(include_top=False, input_shape=(16, 16, 3),
                              tunable=False).build(hp)
    assert hp.values == {"pooling": "max"}
    assert isinstance(model.layers[-1], keras.layers.GlobalMaxPooling2D)
    assert model.output_shape == (None, 512)  # defaults: 2 x 256 separable filters


# ---------------------------------------------------------------------------- EfficientNet
def test_efficientnet_builds_random_weight_backbone_with_augmentation_first():
    aug = keras.Sequential([keras.layers.RandomFlip()], name="aug")
    hp = kt.HyperParameters()
    model = HyperEfficientNet(input_shape=(32, 32, 3), classes=4,
                              augmentation_model=aug).build(hp)
    assert model.name == "EfficientNet" and model.output_shape == (None, 4)
    assert model.layers[1].name == "aug"
    resize = model.layers[2]
    assert isinstance(resize, keras.layers.Resizing) and (resize.height, resize.width) == (224, 224)
    assert hp.values == {"version": "B0", "pooling": "avg", "top_dropout_rate": 0.2,
                         "learning_rate": 0.01}
    assert space_of(hp)["version"][1]["values"] == [f"B{i}" for i in range(8)]
    assert space_of(hp)["top_dropout_rate"][1] == {"min_value": 0.2, "max_value": 0.8,
                                                   "step": 0.2, "sampling": "linear",
                                                   "default": 0.2}
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    assert float(model.optimizer.momentum) == pytest.approx(0.1)
    out = model.predict(np.ones((2, 32, 32, 3), "float32"), verbose=0)
    assert out.shape == (2, 4) and np.allclose(out.sum(axis=1), 1.0, atol=1e-5)


def test_efficientnet_augmentation_hypermodel_joins_the_search_and_compile_is_overridable():
    class Compiled(HyperEfficientNet):
        def _compile(self, model, hp):
            model.compile(optimizer=hp.Choice("optimizer", ["adam", "sgd"]), loss="mse")

    hp = pinned(version="B1", pooling="max")
    model = Compiled(
        input_shape=(16, 16, 3), classes=2,
        augmentation_model=HyperImageAugment(input_shape=(16, 16, 3), augment_layers=0),
    ).build(hp)
    assert model.output_shape == (None, 2)
    assert {"factor_rotate", "factor_translate_x", "factor_translate_y",
            "factor_contrast", "optimizer"} <= set(hp.values)
    assert "learning_rate" not in hp.values
    assert model.get_layer("max_pool") is not None
    resize = next(layer for layer in model.layers if isinstance(layer, keras.layers.Resizing))
    assert resize.height == 240  # B1's size


# --------------------------------------------------------------------------------- Augment
def test_augment_transform_ranges_from_arguments():
    assert HyperImageAugment(input_shape=(8, 8, 3)).transforms == [
        ("rotate", (0, 0.5)), ("translate_x", (0, 0.4)),
        ("translate_y", (0, 0.4)), ("contrast", (0, 0.3)),
    ]
    hm = HyperImageAugment(input_shape=(8, 8, 3), rotate=None, translate_x=[0.1, 0.2],
                           contrast=False)
    assert hm.transforms == [("translate_x", (0.1, 0.2)), ("translate_y", (0, 0.4))]
    assert hm.model_name == "image_rand_augment"
    assert (hm.augment_layers_min, hm.augment_layers_max) == (0, 3)


def test_augment_each_transform_in_turn():
    hp = kt.HyperParameters()
    hm = HyperImageAugment(input_shape=(None, None, 3), rotate=[0.2, 0.5], augment_layers=0)
    model = hm.build(hp)
    assert model.name == "image_augment" and model.output_shape == (None, None, None, 3)
    # only the transform whose factor is not 0 by default becomes a layer
    (layer,) = model.layers[1:]
    assert isinstance(layer, keras.layers.RandomRotation) and layer.factor == pytest.approx(
        (-0.2, 0.2))
    assert space_of(hp)["factor_rotate"] == ("Float", {"min_value": 0.2, "max_value": 0.5,
                                                       "step": 0.05, "sampling": "linear",
                                                       "default": 0.2})
    assert hp.values == {"factor_rotate": 0.2, "factor_translate_x": 0.0,
                         "factor_translate_y": 0.0, "factor_contrast": 0.0}
    x = np.random.default_rng(0).random((3, 12, 12, 3)).astype("float32")
    assert np.array_equal(model.predict(x, verbose=0), x)  # inference leaves images alone


def test_rand_augment_layers_and_per_image_choice():
    hp = pinned(augment_layers=2)
    hm = HyperImageAugment(input_shape=(12, 12, 3), augment_layers=[1, 4])
    model = hm.build(hp)
    assert model.name == "image_rand_augment"
    assert [type(layer).__name__ for layer in model.layers[1:]] == ["RandAugment"] * 2
    assert space_of(hp)["augment_layers"] == ("Int", {"min_value": 1, "max_value": 4, "step": 1,
                                                      "sampling": "linear", "default": 1})
    assert space_of(hp)["factor_contrast"][1]["step"] is None
    # one of four transforms per image; only rotation is switched on, so about 1 in 4 change
    layer = augment.RandAugment(["rotate", "translate_x", "translate_y", "contrast"],
                                [0.4, 0.0, 0.0, 0.0], seed=3)
    images = np.random.default_rng(0).random((400, 12, 12, 3)).astype("float32")
    out = np.asarray(layer(images, training=True))
    changed = np.abs(out - images).reshape(400, -1).max(axis=1) > 1e-4
    assert 0.15 < changed.mean() < 0.35
    assert np.array_equal(np.asarray(layer(images, training=False)), images)
    clone = augment.RandAugment.from_config(layer.get_config())
    assert clone.transforms == layer.transforms and clone.factors == [0.4, 0.0, 0.0, 0.0]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"contrast": [0.1, 0.2, 0.3]}, "must not exceed 2"),
        ({"contrast": [0.5, "a"]}, "must be int or float"),
        ({"rotate": [0.6, 0.2]}, r"within \[0, 1\]"),
        ({"augment_layers": 1.5}, "must be int"),
        ({"augment_layers": [3, 1]}, "low <= high"),
    ],
)
def test_augment_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        HyperImageAugment(input_shape=(8, 8, 3), **kwargs)


# ------------------------------------------------------------------------- argument checks
@pytest.mark.parametrize("cls", [HyperResNet, HyperXception, HyperEfficientNet])
def test_classifiers_need_classes_and_an_input(cls):
    with pytest.raises(ValueError, match="classes"):
        cls(input_shape=(32, 32, 3))
    with pytest.raises(ValueError, match="input_tensor"):
        cls(classes=3)
    with pytest.raises(ValueError, match=r"input_shape=\(32, 32\)"):
        cls(input_shape=(32, 32), classes=3)
    with pytest.raises(ValueError, match="classes=2.5"):
        cls(input_shape=(32, 32, 3), classes=2.5)


def test_efficientnet_rejects_a_non_model_augmentation():
    with pytest.raises(ValueError, match="augmentation_model=0"):
        HyperEfficientNet(input_shape=(32, 32, 3), classes=3, augmentation_model=0)


def test_applications_load_lazily_as_a_tunewise_attribute():
    assert kt.applications.HyperResNet is HyperResNet


# ---------------------------------------------------------------------------------- search
def test_random_search_over_hyperxception_stores_its_trials(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((8, 32, 32, 3)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, size=8)]
    small = kt.HyperParameters()  # keep the network tiny; the rest is searched
    small.Fixed("conv2d_num_filters", 32)
    small.Fixed("sep_num_filters", 128)
    small.Fixed("num_residual_blocks", 2)
    tuner = kt.RandomSearch(
        HyperXception(input_shape=(32, 32, 3), classes=3),
        objective="val_accuracy", max_trials=2, hyperparameters=small,
        directory=str(tmp_path), project_name="xception", seed=1, verbose=0,
    )
    tuner.search(x, y, epochs=1, batch_size=4, validation_data=(x, y), verbose=0)
    with warnings.catch_warnings():
        # the rebuild says the pinned definitions win over the model's (they do, as in KT)
        warnings.simplefilter("ignore", UserWarning)
        (model,) = tuner.get_best_models(1)
    trials = tuner.study.trials
    assert len(trials) == 2 and all(t.state is TrialState.COMPLETED for t in trials)
    for trial in trials:
        assert trial.values["sep_num_filters"] == 128 and trial.values["num_residual_blocks"] == 2
        assert trial.values["activation"] in ("relu", "selu")
        assert {"pooling", "num_dense_layers", "learning_rate"} <= set(trial.values)
        assert 0.0 <= trial.steps[0].metrics["val_accuracy"] <= 1.0
    best = tuner.get_best_hyperparameters(1)[0]
    assert best.get("sep_num_filters") == 128
    assert model.predict(x, verbose=0).shape == (8, 3)
