"""The model: its card, the probe that checks a .tflite in a child process, the classifier and
its worker thread."""
