"""The seed's example 3, on a small noisy problem: watch the doctor explain the stall.

    python examples/why_not_improving.py            # runs the search into my_dir/my_project
    tunewise doctor my_dir/my_project                # explains it, without this script
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf

import tunewise as kt

rng = np.random.default_rng(0)
x_train = rng.normal(size=(400, 10)).astype("float32")
y_train = (x_train[:, 0] + 0.5 * x_train[:, 1] + rng.normal(0, 0.7, 400) > 0).astype("float32")
x_val = rng.normal(size=(60, 10)).astype("float32")  # a small, noisy validation set
y_val = (x_val[:, 0] + 0.5 * x_val[:, 1] + rng.normal(0, 0.7, 60) > 0).astype("float32")


def build_model(hp):
    model = tf.keras.Sequential([
        tf.keras.Input(shape=(10,)),
        tf.keras.layers.Dense(hp.Int("units", 32, 512, step=32), activation="relu"),
        tf.keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(
        optimizer=tf.keras.optimizers.Adam(hp.Float("learning_rate", 1e-5, 1e-1)),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    return model


tuner = kt.RandomSearch(build_model, objective="val_loss", max_trials=10,
                        directory="my_dir", project_name="my_project", seed=1)
early_stopping = tf.keras.callbacks.EarlyStopping(monitor="val_loss", patience=1)
tuner.search(x_train, y_train, epochs=10, validation_data=(x_val, y_val),
             callbacks=[early_stopping], verbose=0)
print(f"Best objective value: {tuner.results_summary(1).best_objective}")
print(tuner.diagnose())
