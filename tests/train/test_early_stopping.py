"""EarlyStopping keeps the weights of the epoch with the lowest validation loss and stops after
``patience`` epochs without an improvement of at least 1e-4."""

from __future__ import annotations

from genrecast.train.fit import EarlyStopping


class _Model:
    def __init__(self) -> None:
        self.weights = 0

    def get_weights(self) -> int:
        return self.weights

    def set_weights(self, weights: int) -> None:
        self.weights = weights


def test_best_epoch_is_kept_and_patience_counts_epochs_without_improvement() -> None:
    model = _Model()
    stopping = EarlyStopping(model, patience=2)
    stops = []
    for epoch, loss in enumerate([1.0, 0.8, 0.79995, 0.9], start=1):
        model.weights = epoch
        stops.append(stopping.stop_after(epoch, loss))
    assert stops == [False, False, False, True]  # 0.79995 is no improvement (under 1e-4)
    stopping.restore()
    assert (stopping.best_epoch, model.weights) == (2, 2)


def test_without_validation_the_last_epoch_is_kept() -> None:
    model = _Model()
    stopping = EarlyStopping(model, patience=1)
    for epoch in (1, 2, 3):
        model.weights = epoch
        stopping.keep(epoch)
    model.weights = 99
    stopping.restore()
    assert (stopping.best_epoch, model.weights) == (3, 3)
