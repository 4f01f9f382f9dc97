"""Keras Tuner's ``keras_tuner.config``: ``DEBUG`` (Keras Tuner prints more when True;
tunewise's own output is set by ``verbose`` and the ``tunewise`` logger)."""

DEBUG = False

__all__ = ["DEBUG"]
