"""genrecast training pipeline: labelled audio → Keras model → quantized TFLite + model card.

TensorFlow is imported lazily by the modules that need it, never at package import.
"""
